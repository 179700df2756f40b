"""A Python Perspective client over a real websocket, as a browser would connect.

perspective-python ships server handlers only, so the transport is built here: binary frames
from Tornado's websocket client into `perspective.AsyncClient`, and its requests back out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import perspective
import tornado.httpclient
import tornado.websocket

from tdpersp.edge.replicas import copy_table, new_engine
from tdpersp.edge.upstream import HubAddress, HubConnection


@contextlib.asynccontextmanager
async def remote_client(url: str, source_ip: str | None = None) -> AsyncIterator[perspective.AsyncClient]:
    """`source_ip` (any of 127.0.0.0/8 on loopback) lets one process play clients on many machines."""
    request = tornado.httpclient.HTTPRequest(url, network_interface=source_ip)
    conn = await tornado.websocket.websocket_connect(request, max_message_size=256 * 1024 * 1024)

    async def send(message: bytes) -> None:
        await conn.write_message(message, binary=True)

    client = perspective.AsyncClient(send)

    async def pump() -> None:
        while (message := await conn.read_message()) is not None:
            await client.handle_response(message)

    reading = asyncio.create_task(pump())
    try:
        yield client
    finally:
        reading.cancel()
        conn.close()


class PageReplica:
    """What the served page keeps of a server's live table: a copy in an engine of its own, made
    anew on each connection, reconnecting when the server closes the socket or goes away
    (prsp-viewer.html's `source`). Built from the edge server's own transport and copy."""

    def __init__(self, url: str, table: str = "stock_values") -> None:
        self.hub = HubAddress(url)
        self.table = table
        self.connections = 0  # connections that got as far as a copy
        self.server: perspective.Server | None = None
        self.problems: list[str] = []  # why each connection ended or failed

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self._follow(stop)
            except (OSError, tornado.websocket.WebSocketError, perspective.PerspectiveError) as err:
                self.problems.append(str(err) or type(err).__name__)
            await asyncio.sleep(0.3)

    async def _follow(self, stop: asyncio.Event) -> None:
        connection = await HubConnection.open(self.hub)
        try:
            server, local = new_engine()
            copy = await copy_table(connection, local, self.table)
            self.server, self.connections = server, self.connections + 1
            stopping = asyncio.create_task(stop.wait())
            await asyncio.wait([connection.closed, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if connection.closed.done():
                self.problems.append(connection.close_reason)
            copy.stop()
        finally:
            connection.close()

    def rows(self) -> list[dict[str, Any]]:
        """The copy as it stands (empty before the first connection)."""
        if self.server is None:
            return []
        view = self.server.new_local_client().open_table(self.table).view()
        try:
            return view.to_json()
        finally:
            view.delete()
