"""All of history served by perspective_server.py, as a browser gets it: real processes, a client
on `/websocket/history`.

Guards: the history table is hosted under its setting's name and covers every row (not the live
table's 1,000), extra tables from PERSPECTIVE_HISTORY_TABLES are served, the history websocket is
read-only, and a slow TDengine query for history never freezes the live websocket (the history
queries run in their own process because taosws holds the GIL while it waits).
"""

from __future__ import annotations

import asyncio
import time

import perspective
import pytest
import taosws

from tests.perspective_client import remote_client
from tests.processes import Program, free_port, taos_env, wait_for_server

ROWS = 3_000


def fill(standin, database: str) -> None:
    env = taos_env(standin.host, standin.port, database=database)
    with Program("producer.py", env | {"PRODUCER_RATE": "20000", "PRODUCER_COUNT": str(ROWS),
                                       "PRODUCER_SEED": "9"}) as producer:
        assert producer.wait() == 0, producer.output
    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    conn.execute(f"CREATE TABLE {database}.extra (ts TIMESTAMP, v DOUBLE)")
    conn.execute(f"INSERT INTO {database}.extra VALUES (1000, 1.5) (2000, 2.5)")
    conn.close()


async def history_checks(port: int, database: str) -> None:
    async with remote_client(f"ws://127.0.0.1:{port}/websocket/history") as client:
        assert sorted(await client.get_hosted_table_names()) == sorted(["stock_history", f"{database}.extra"])
        table = await client.open_table("stock_history")
        assert await table.size() == ROWS
        by_ticker = await table.view(group_by=["ticker"], columns=["volume"], aggregates={"volume": "count"})
        counts = await by_ticker.to_columns()
        assert counts["volume"][0] == ROWS and sum(counts["volume"][1:]) == ROWS
        extra = await client.open_table(f"{database}.extra")
        assert (await (await extra.view(columns=["v"])).to_columns())["v"] == [1.5, 2.5]
        with pytest.raises(perspective.PerspectiveError, match="read-only"):
            await table.update([{"volume": 1}])


def test_history_is_served_beside_the_live_table(standin, db_name) -> None:
    """Every row ever written, grouped by TDengine, over the server's history websocket."""
    fill(standin, db_name)
    port = free_port()
    env = taos_env(standin.host, standin.port, database=db_name) | {
        "PERSPECTIVE_PORT": str(port), "PERSPECTIVE_HISTORY_TABLES": f"{db_name}.extra"}
    with Program("perspective_server.py", env) as server:
        wait_for_server(port)
        asyncio.run(history_checks(port, db_name))
        assert server.stop() == 0, server.output


async def live_pings_while_history_waits(port: int) -> tuple[float, float]:
    """(longest live round trip, duration of the slow history query), run side by side."""
    async with remote_client(f"ws://127.0.0.1:{port}/websocket") as live, \
            remote_client(f"ws://127.0.0.1:{port}/websocket/history") as history:
        live_table = await live.open_table("stock_values")
        table = await history.open_table("stock_history")
        started = time.monotonic()
        slow = asyncio.create_task(table.view(group_by=["client"], columns=["volume"]))
        longest = 0.0
        while not slow.done():
            ping = time.monotonic()
            await live_table.size()
            longest = max(longest, time.monotonic() - ping)
            await asyncio.sleep(0.05)
        await slow
        return longest, time.monotonic() - started


def test_slow_history_query_does_not_freeze_the_live_websocket(standin, db_name) -> None:
    """With every TDengine message delayed 300 ms, a history view takes seconds; meanwhile the live
    table keeps answering in well under a second. (In one process, taosws would hold the GIL.)"""
    fill(standin, db_name)
    port = free_port()
    env = taos_env(standin.host, standin.port, database=db_name) | {"PERSPECTIVE_PORT": str(port)}
    with Program("perspective_server.py", env) as server:
        wait_for_server(port)
        server.wait_for("reading rows")  # the live table is made once the reader has described it
        standin.set_delay(300)
        try:
            longest, slow = asyncio.run(live_pings_while_history_waits(port))
        finally:
            standin.set_delay(0)
        assert slow > 1.5, f"the history query took only {slow:.2f} s: the delay did not apply"
        assert longest < 1.0, f"a live request waited {longest:.2f} s while history queried TDengine"
        assert server.stop() == 0, server.output


async def history_across_outage(port: int, standin) -> str:
    """A view while TDengine is down fails with its error; after TDengine is back, views work."""
    async with remote_client(f"ws://127.0.0.1:{port}/websocket/history") as client:
        table = await client.open_table("stock_history")
        assert await table.size() == ROWS
        standin.stop()
        try:
            with pytest.raises(perspective.PerspectiveError) as failed:
                await table.view(group_by=["ticker"], columns=["volume"])
        finally:
            standin.start()
        view = await table.view(group_by=["client"], columns=["volume"], aggregates={"volume": "count"})
        assert (await view.to_columns())["volume"][0] == ROWS
        return str(failed.value)


def test_history_recovers_when_tdengine_comes_back(standin, db_name) -> None:
    """Guards the history process's connection: an outage is reported to the viewer (not a hang),
    and the next view after TDengine returns is answered (the connection is reopened)."""
    fill(standin, db_name)
    port = free_port()
    env = taos_env(standin.host, standin.port, database=db_name) | {"PERSPECTIVE_PORT": str(port)}
    with Program("perspective_server.py", env) as server:
        wait_for_server(port)
        error = asyncio.run(history_across_outage(port, standin))
        assert "0xE0" in error or "onnect" in error, error
        assert server.stop() == 0, server.output


async def views_until_refused(port: int) -> tuple[int, str]:
    async with remote_client(f"ws://127.0.0.1:{port}/websocket/history") as client:
        table = await client.open_table("stock_history")
        opened = 0
        try:
            for _ in range(10):
                await table.view(columns=["volume"])
                opened += 1
        except perspective.PerspectiveError as err:
            return opened, str(err)
        return opened, ""


def test_view_cap_applies_to_history(standin, db_name) -> None:
    """Guards the history websocket against unbounded views, as the live one (PERSPECTIVE_MAX_VIEWS)."""
    fill(standin, db_name)
    port = free_port()
    env = taos_env(standin.host, standin.port, database=db_name) | {
        "PERSPECTIVE_PORT": str(port), "PERSPECTIVE_MAX_VIEWS": "3"}
    with Program("perspective_server.py", env) as server:
        wait_for_server(port)
        opened, error = asyncio.run(views_until_refused(port))
        assert opened == 3 and "too many views" in error, (opened, error)
        assert server.stop() == 0, server.output
