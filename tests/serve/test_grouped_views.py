"""Grouped views on the live table: the server-wide cap, and the hang it keeps away.

perspective-python (5.6.1) refreshes every view of a table on Arrow's thread pool after each
update, and a grouped view's refresh waits on more tasks in the same pool; with more grouped views
than threads, `table.update()` never returned and the server stopped answering everyone
(tdpersp/serve/readonly.py). The server caps grouped views (PERSPECTIVE_MAX_GROUPED_VIEWS, over all
connections) and gives the pool one thread more than the cap. These tests hold the default cap's
worth of grouped views, spread over several connections as several pages from disk would, while
the producer writes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

import perspective
import pytest
import tornado.httpclient

from tests.perspective_client import remote_client
from tests.processes import Program, create_trades_table, free_port, taos_env, wait_for_server
from tests.standin.fixture import StandInProcess

CAP = 32  # PERSPECTIVE_MAX_GROUPED_VIEWS's default
CONNECTIONS = 4
GROUPED = [  # what the page from disk asks for, and a split_by
    {"group_by": ["ticker"], "columns": ["close", "volume"],
     "aggregates": {"close": "last", "volume": "sum"}},
    {"group_by": ["client"], "columns": ["volume"], "aggregates": {"volume": "sum"}},
    {"split_by": ["ticker"], "columns": ["timestamp", "close"]},
]


@contextlib.contextmanager
def serving(producing: bool) -> Iterator[tuple[int, dict[str, str]]]:
    """A stand-in and perspective_server.py (its port, and the env for producer.py); with
    `producing`, the table already holds rows when this yields, else it is empty."""
    with StandInProcess() as standin, contextlib.ExitStack() as stack:
        env = taos_env(standin.host, standin.port, database="grouped")
        if producing:
            stack.enter_context(Program("producer.py", env | {"PRODUCER_RATE": "2000"}))
        else:
            create_trades_table(standin.host, standin.port, "grouped")
        port = free_port()
        server = stack.enter_context(Program("perspective_server.py", env | {"PERSPECTIVE_PORT": str(port)}))
        wait_for_server(port)
        server.wait_for("reading rows")
        yield port, env


async def open_grouped(client: perspective.AsyncClient, count: int, updates: list[int]) -> None:
    """`count` grouped views, each re-read after every update (as a grid redraws); `updates`
    gets one counter per view."""
    table = await client.open_table("stock_values")
    reads: set[asyncio.Task[Any]] = set()  # the re-reads in flight (a task needs a reference)
    for i in range(count):
        view = await table.view(**GROUPED[i % len(GROUPED)])
        index = len(updates)
        updates.append(0)

        def reread(*_: Any, view: Any = view, index: int = index) -> None:
            updates[index] += 1
            task = asyncio.get_running_loop().create_task(view.to_columns(start_row=0, end_row=20))
            reads.add(task)
            task.add_done_callback(reads.discard)
        await view.on_update(reread)


async def http_get(port: int, path: str) -> tuple[int, str]:
    reply = await tornado.httpclient.AsyncHTTPClient().fetch(
        f"http://127.0.0.1:{port}{path}", request_timeout=5, raise_error=False)
    return reply.code, reply.body.decode()


def test_the_cap_of_grouped_views_keeps_the_server_answering() -> None:
    """Guards the hang: 32 grouped views on 4 connections, opened while the table is still empty
    (a page from disk opened before the server had rows: the first rows are what hung it), then the
    producer starts. Every view must go on getting updates and /healthz must answer. It cannot
    prove the fix on a machine with more than 32 cores: there the default pool has enough threads."""

    async def scenario(port: int, env: dict[str, str]) -> tuple[list[int], list[int], int]:
        updates: list[int] = []
        async with contextlib.AsyncExitStack() as stack:
            for _ in range(CONNECTIONS):
                client = await stack.enter_async_context(remote_client(f"ws://127.0.0.1:{port}/websocket"))
                await open_grouped(client, CAP // CONNECTIONS, updates)
            with Program("producer.py", env | {"PRODUCER_RATE": "2000"}):
                await asyncio.sleep(3)
                before = list(updates)
                await asyncio.sleep(3)
                status, _ = await http_get(port, "/healthz")
            return before, list(updates), status

    with serving(producing=False) as (port, env):
        before, after, status = asyncio.run(asyncio.wait_for(scenario(port, env), 60))
    assert len(after) == CAP
    assert status == 200
    stalled = [i for i, (b, a) in enumerate(zip(before, after, strict=True)) if a <= b]
    assert not stalled, f"views {stalled} got no update in 3 s ({before} -> {after})"


def test_grouped_views_past_the_cap_are_refused_server_wide() -> None:
    """Guards the cap itself: with 32 grouped views held by other connections, a new connection's
    grouped view is refused with a message naming the setting, its flat view is not, /metrics
    counts the grouped views, and a closed connection frees its places."""
    async def scenario(port: int) -> tuple[str, int, str, bool]:
        url = f"ws://127.0.0.1:{port}/websocket"
        async with remote_client(url) as late:
            table = await late.open_table("stock_values")
            async with contextlib.AsyncExitStack() as holders:
                for _ in range(CONNECTIONS):
                    await open_grouped(await holders.enter_async_context(remote_client(url)),
                                       CAP // CONNECTIONS, [])
                with pytest.raises(perspective.PerspectiveError) as caught:
                    await table.view(group_by=["ticker"])
                flat_rows = await (await table.view(sort=[["timestamp", "desc"]])).num_rows()
                metrics = (await http_get(port, "/metrics"))[1]
            await asyncio.sleep(0.5)  # the server sees the holders' sockets close
            freed = await table.view(group_by=["ticker"])
            return str(caught.value), flat_rows, metrics, freed is not None

    with serving(producing=True) as (port, _env):
        message, flat_rows, metrics, freed = asyncio.run(asyncio.wait_for(scenario(port), 60))
    assert "PERSPECTIVE_MAX_GROUPED_VIEWS" in message
    assert flat_rows == 1000
    assert f"\ntdpersp_grouped_views {CAP:.1f}\n" in metrics
    assert freed
