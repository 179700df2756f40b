"""A Python Perspective client over a real websocket, as a browser would connect.

perspective-python ships server handlers only, so the transport is built here: binary frames
from Tornado's websocket client into `perspective.AsyncClient`, and its requests back out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import perspective
import tornado.httpclient
import tornado.websocket


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
