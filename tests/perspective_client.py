"""A Python Perspective client over a real websocket, as a browser would connect.

perspective-python ships server handlers only, so the transport is built here: binary frames
from Tornado's websocket client into `perspective.AsyncClient`, and its requests back out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import perspective
import tornado.websocket


@contextlib.asynccontextmanager
async def remote_client(url: str) -> AsyncIterator[perspective.AsyncClient]:
    conn = await tornado.websocket.websocket_connect(url, max_message_size=256 * 1024 * 1024)

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
