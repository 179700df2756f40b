"""An edge's copy of the hub's tables, kept by Perspective's replication and made anew with each
connection to the hub.

Each table the hub hosts (its /config.json names the live table and the rollups that are ready)
is copied (`copy`): the hub's view is loaded once, then its updates and removes follow, under the
hub's `limit` and `index`. A connection to the hub gets a new Perspective server
of its own: a replica cannot follow a second connection, and deleting one whose connection is gone
waits for it forever (the page does the same with its engines). While the hub is gone the last
copies stay on show; once it is back, viewers are closed with 1012 (as the hub does when its table
changes), and reconnect to the new copies, which hold what the hub holds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import perspective
import tornado.httpclient
import tornado.websocket

from tdpersp.edge.copy import TableCopy
from tdpersp.edge.upstream import HubAddress, HubConnection, hub_config
from tdpersp.live.feed import FeedStatus
from tdpersp.live.messages import FeedState
from tdpersp.rollups.feed import RollupStatus

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0  # between attempts to reach the hub, and between reads of its /config.json
HUB_ERRORS = (OSError, tornado.httpclient.HTTPClientError, tornado.websocket.WebSocketError,
              perspective.PerspectiveError, ValueError, KeyError)


class HubNotReady(Exception):
    """The hub answers but hosts no live table yet (it waits for TDengine or for the table)."""


@dataclass
class EdgeStats:
    connects: int = 0  # connections to the hub that got as far as copies of its tables
    replicas: int = 0  # tables copied, over all connections


class EdgeRollups:
    """What /config.json, /healthz and /metrics read of the rollups, here the hub's copies."""

    def __init__(self) -> None:
        self.status = RollupStatus()
        self.hub: list[dict[str, Any]] = []  # the hub's /config.json "rollups"
        self.copied: set[str] = set()

    def describe(self) -> list[dict[str, Any]]:
        return [{**rollup, "ready": rollup["table"] in self.copied} for rollup in self.hub]


class EdgeFeed:
    """Stands in for the live feed (and, as `rollups`, the rollup feed) of a server that reads
    TDengine, and for the `perspective.Server` its websockets serve (`new_session`)."""

    def __init__(self, hub: HubAddress, on_new_tables: Callable[[], None]) -> None:
        self.hub = hub
        self.status = FeedStatus()
        self.stats = EdgeStats()
        self.rollups = EdgeRollups()
        self.server = perspective.Server()  # the current connection's copies
        self._config: dict[str, Any] = {"table": None, "schema": None, "tags": [], "source": None}
        self._on_new_tables = on_new_tables  # viewers hold views of the old copies: they go first
        self._task: asyncio.Task[None] | None = None
        self._connection: HubConnection | None = None
        self._watch: Any = None  # the view counting the live copy's updates
        self._copies: list[TableCopy] = []  # this connection's

    def new_session(self, send: Callable[[bytes], None]) -> Any:
        return self.server.new_session(send)

    def describe(self) -> dict[str, Any]:
        """The live table's part of /config.json: the hub's, so that pages here show the same."""
        return {key: self._config.get(key) for key in ("table", "schema", "tags", "source")}

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._connection is not None:
            self._connection.close()

    async def _run(self) -> None:
        while True:
            try:
                await self._follow()
            except HubNotReady as err:
                self._waiting(FeedState.WAITING_FOR_HUB, str(err))
            except HUB_ERRORS as err:
                self._waiting(FeedState.WAITING_FOR_HUB, f"hub {self.hub}: {describe_error(err)}")
            await asyncio.sleep(RETRY_SECONDS)

    async def _follow(self) -> None:
        """Copy the hub's tables, serve them, and follow the hub until its connection ends."""
        config = await ready_config(self.hub)
        self._connection = connection = await HubConnection.open(self.hub)
        try:
            server, local = new_engine()
            self._copies = [await copy_table(connection, local, config["table"])]
            self._adopt(server, config)
            self.stats.connects += 1
            while not connection.closed.done():
                await self._copy_new_rollups(connection, local, config)
                await asyncio.wait([connection.closed], timeout=RETRY_SECONDS)
                config = await ready_config(self.hub)
                self._hub_state(config["feed"])
            raise ConnectionError(connection.close_reason)
        finally:
            connection.close()
            self._connection = None
            for copy in self._copies:  # nothing more comes: the copies stay as they are
                copy.stop()

    def _adopt(self, server: perspective.Server, config: dict[str, Any]) -> None:
        """Serve the new copies from now on; pages on the old ones reconnect."""
        self._on_new_tables()
        self.server, self._config = server, config
        self.rollups.hub, self.rollups.copied = config.get("rollups", []), set()
        self.stats.replicas += 1
        self._watch = watch_updates(server, config["table"], self.status)
        self._hub_state(config["feed"])
        log.info("copying %s from the hub %s", config["table"], self.hub)

    async def _copy_new_rollups(self, connection: HubConnection, local: perspective.AsyncClient,
                                config: dict[str, Any]) -> None:
        """The hub makes its rollup tables a moment after its live table: copy each once it is ready."""
        self.rollups.hub = config.get("rollups", [])
        for rollup in self.rollups.hub:
            if rollup["ready"] and rollup["table"] not in self.rollups.copied:
                self._copies.append(await copy_table(connection, local, rollup["table"]))
                self.rollups.copied.add(rollup["table"])
                self.stats.replicas += 1
                log.info("copying %s from the hub", rollup["table"])

    def _hub_state(self, hub_feed: dict[str, Any]) -> None:
        """While connected, the edge is as live as its hub: the hub's state, said as the hub's."""
        state = FeedState(hub_feed["state"])
        if state != self.status.state:
            log.info("the hub %s is %s", self.hub, state)
        self.status.state = state
        self.status.detail = f"hub: {hub_feed['detail']}" if hub_feed.get("detail") else ""
        self.rollups.status.problem = ""

    def _waiting(self, state: FeedState, detail: str) -> None:
        if (state, detail) != (self.status.state, self.status.detail):
            log.warning("%s: %s; retrying, the last copies stay on show", state, detail)
        self.status.state, self.status.detail = state, detail
        self.rollups.status.problem = detail


async def ready_config(hub: HubAddress) -> dict[str, Any]:
    config = await hub_config(hub)
    if config.get("schema") is None:
        raise HubNotReady(f"the hub {hub} hosts no live table yet ({config['feed']['state']})")
    return config


def new_engine() -> tuple[perspective.Server, perspective.AsyncClient]:
    """A Perspective server for one connection's copies, and an async client of it in this process
    (replication needs an async client: a sync one would block the loop the hub's answers need)."""
    server = perspective.Server()
    pending: set[asyncio.Task[Any]] = set()  # the loop keeps weak references to tasks
    session: Any = None

    def answer(message: bytes) -> None:
        task = asyncio.get_running_loop().create_task(client.handle_response(message))
        pending.add(task)
        task.add_done_callback(pending.discard)

    async def send(message: bytes) -> None:
        session.handle_request(message)

    client = perspective.AsyncClient(send)
    session = server.new_session(answer)
    return server, client


async def copy_table(connection: HubConnection, local: perspective.AsyncClient, name: str) -> TableCopy:
    """A copy of the hub's table `name` in `local`'s server, following it (tdpersp/edge/copy.py)."""
    copy = TableCopy(connection, name)
    await copy.make(local)
    return copy


def watch_updates(server: perspective.Server, name: str, status: FeedStatus) -> Any:
    """Counts the live copy's updates, as the hub counts its own (/metrics, /config.json); the
    view returned must be kept."""
    def updated(*_: Any) -> None:
        status.updates += 1
        status.last_update = time.time()

    view = server.new_local_client().open_table(name).view(columns=[])
    view.on_update(updated)
    return view


def describe_error(err: BaseException) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__
