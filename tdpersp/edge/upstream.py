"""The connection to the hub: its /config.json over HTTP, its tables over its websocket.

perspective-python ships server handlers only, so the client's transport is Tornado's websocket
client: binary frames in to `perspective.AsyncClient.handle_response`, its requests back out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

import perspective
import tornado.httpclient
import tornado.websocket

from tdpersp.core import protowire

# A replica's first answer is the whole hub table as Arrow (the rollups of a day may be many MB).
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
CONNECT_TIMEOUT = 5.0
VIEW_TO_ARROW = 16  # the call's field number in perspective.proto, in requests and answers alike


@dataclass(frozen=True)
class HubAddress:
    """ws(s)://host:port/websocket[?token=...]: where the hub's live websocket is."""

    websocket: str

    @property
    def config(self) -> str:
        """The hub's /config.json, with the same token."""
        parts = urllib.parse.urlsplit(self.websocket)
        scheme = "https" if parts.scheme == "wss" else "http"
        return urllib.parse.urlunsplit((scheme, parts.netloc, "/config.json", parts.query, ""))

    def __str__(self) -> str:  # for logs: never the token
        parts = urllib.parse.urlsplit(self.websocket)
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def parse(text: str) -> HubAddress | None:
    """PERSPECTIVE_UPSTREAM: empty (read TDengine), or the hub's websocket URL."""
    if not text:
        return None
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(f"{text!r} is not a websocket URL such as ws://hub:8080/websocket")
    if parts.path in ("", "/"):
        parts = parts._replace(path="/websocket")
    return HubAddress(urllib.parse.urlunsplit(parts))


async def hub_config(hub: HubAddress) -> dict[str, Any]:
    """The hub's /config.json: its live table, columns, rollups and feed state."""
    reply = await tornado.httpclient.AsyncHTTPClient().fetch(
        hub.config, request_timeout=CONNECT_TIMEOUT, connect_timeout=CONNECT_TIMEOUT)
    return json.loads(reply.body)


class HubConnection:
    """One websocket to the hub and the Perspective client over it; `closed` resolves when it ends.

    It also says where each answer fell in the order the hub sent them (`received`, and
    `snapshot_at` for the latest `to_arrow`): a copy needs that to tell the updates its snapshot
    holds from those it does not (`tdpersp/edge/copy.py`)."""

    def __init__(self, conn: tornado.websocket.WebSocketClientConnection) -> None:
        self._conn = conn
        self.client = perspective.AsyncClient(self._send)
        self.received = 0  # messages handed to the client so far; callbacks run inside the handing
        self.snapshot_at = -1  # `received` when the latest to_arrow answer was handed over
        self._snapshots: set[int] = set()  # msg_ids of to_arrow requests not yet answered
        self.copying = asyncio.Lock()  # held while a copy takes its snapshot
        self.closed: asyncio.Task[None] = asyncio.create_task(self._pump())

    @classmethod
    async def open(cls, hub: HubAddress) -> HubConnection:
        request = tornado.httpclient.HTTPRequest(hub.websocket, connect_timeout=CONNECT_TIMEOUT)
        conn = await tornado.websocket.websocket_connect(request, max_message_size=MAX_MESSAGE_BYTES)
        return cls(conn)

    async def _send(self, message: bytes) -> None:
        msg_id, _, kind, _ = protowire.parse_message(message)
        if kind == VIEW_TO_ARROW:
            self._snapshots.add(msg_id)
        with contextlib.suppress(tornado.websocket.WebSocketClosedError):  # `closed` tells
            await self._conn.write_message(message, binary=True)

    async def _pump(self) -> None:
        while (message := await self._conn.read_message()) is not None:
            self.received += 1
            msg_id = protowire.parse_message(message)[0]
            if msg_id in self._snapshots:
                self._snapshots.discard(msg_id)
                self.snapshot_at = self.received
            await self.client.handle_response(message)

    @property
    def close_reason(self) -> str:
        code, reason = self._conn.close_code, self._conn.close_reason
        return f"closed ({code} {reason})" if code else "connection lost"

    def close(self) -> None:
        self.closed.cancel()
        self._conn.close()
