"""The whole demo, as a user runs it: stand-in TDengine, producer.py, perspective_server.py, a client.

Both programs run as subprocesses configured by environment variables, and the Perspective table
is read through the server's websocket, as the browser reads it. What these tests cannot prove:
that real TDengine behaves like the stand-in (see tests/standin/README.md for known differences).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.perspective_client import remote_client
from tests.processes import Program, free_port, server_config, taos_env, wait_for_server, wait_for_table

TABLE = "stock_values"


@dataclass
class Run:
    produced: int = 0
    producing_seconds: float = 0.0
    delivered: int = 0
    first_row_latency: float = 0.0
    latencies: list[float] = field(default_factory=list)
    perspective_rows: list[dict[str, Any]] = field(default_factory=list)
    logs: str = ""  # both programs' output, for failure messages


def key(ts_ms: int, ticker: str, client: str, volume: int, open_: float) -> tuple:
    """What identifies a row on both sides; the price is rounded because Perspective's JSON output
    may differ from the float TDengine returns in the last digit."""
    return (ts_ms, ticker, client, volume, round(open_, 3))


def tdengine_newest(td_conn: Any, database: str, limit: int) -> list[tuple]:
    """The newest `limit` rows as keys, read straight from TDengine."""
    rows = td_conn.query(
        f"SELECT CAST(`timestamp` AS BIGINT), ticker, client, volume, `open` FROM {database}.stocks_values "
        f"ORDER BY `timestamp` DESC LIMIT {limit}")
    return [key(ts // 1000, ticker, client, volume, open_) for ts, ticker, client, volume, open_ in rows]


async def watch_table(port: int, producer: Program, expected: int, timeout: float) -> Run:
    """Follow the newest row while the producer runs; then wait until the server delivered all."""
    run = Run()
    wait_for_table(port)
    async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
        table = await client.open_table(TABLE)
        newest = await table.view(sort=[["timestamp", "desc"]], columns=["timestamp"])
        deadline = time.monotonic() + timeout
        last_seen = None
        while time.monotonic() < deadline:
            top = await newest.to_columns(start_row=0, end_row=1)
            if top["timestamp"] and top["timestamp"][0] != last_seen:
                latency = time.time() - top["timestamp"][0] / 1000
                if last_seen is None:
                    run.first_row_latency = latency
                run.latencies.append(latency)
                last_seen = top["timestamp"][0]
            if producer.proc.poll() is not None and server_config(port)["feed"]["delivered"] >= expected:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.6)  # two more refresh periods: anything extra would show up now
        run.delivered = server_config(port)["feed"]["delivered"]
        everything = await table.view()
        run.perspective_rows = await everything.to_json()
        await everything.delete()
        await newest.delete()
    return run


def run_demo(standin: Any, database: str, *, rate: int, count: int, limit: int) -> Run:
    port = free_port()
    env = taos_env(standin.host, standin.port, database=database)
    server_env = env | {"PERSPECTIVE_PORT": str(port), "PERSPECTIVE_TABLE_LIMIT": str(limit)}
    with Program("perspective_server.py", server_env) as server:
        wait_for_server(port)
        server.wait_for("waiting for table")
        with Program("producer.py", env | {"PRODUCER_RATE": str(rate), "PRODUCER_COUNT": str(count)}) as prod:
            run = asyncio.run(watch_table(port, prod, count, timeout=60 + count / rate))
            assert prod.wait() == 0, prod.output
            done = prod.wait_for(r"done: (\d+) rows written in ([\d.]+) s")
            run.produced, run.producing_seconds = int(done.group(1)), float(done.group(2))
        assert server.stop() == 0, server.output
    run.logs = f"--- producer.py\n{prod.output}\n--- perspective_server.py\n{server.output}"
    return run


def check_exact_newest_rows(run: Run, standin: Any, database: str, limit: int) -> None:
    import taosws

    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    expected = tdengine_newest(conn, database, limit)
    got = [key(row["timestamp"], row["ticker"], row["client"], row["volume"], row["open"])
           for row in run.perspective_rows]
    duplicates = sum(n - 1 for n in Counter(got).values() if n > 1)
    assert duplicates == 0, f"{duplicates} duplicated rows in the Perspective table"
    missing, unexpected = set(expected) - set(got), set(got) - set(expected)
    assert not missing and not unexpected, (
        f"missing {len(missing)} (newest {max(missing, default=None)}), unexpected {len(unexpected)} "
        f"(oldest {min(unexpected, default=None)}); TDengine's newest {limit} span "
        f"{min(expected, default=None)} .. {max(expected, default=None)}")


def report(name: str, run: Run) -> None:
    ordered = sorted(run.latencies)
    p95 = ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan")
    print(f"\n{name}: produced {run.produced} in {run.producing_seconds} s, delivered {run.delivered}, "
          f"in Perspective {len(run.perspective_rows)}, first row after {run.first_row_latency:.3f} s, "
          f"newest-row latency p50 {ordered[len(ordered) // 2]:.3f} s p95 {p95:.3f} s")


def test_default_rate_delivers_each_row_once_and_quickly(standin, db_name) -> None:
    """Guards the original demo's defects: rows repeated by overlapping windows, rows lost to shared
    timestamps, and slow delivery. At the default rate (1,000 rows/s) for 4 s into the default
    1,000-row table: every produced row reaches the server exactly once, the table holds exactly
    TDengine's newest 1,000 rows, and the first row shows within a second of being stamped."""
    run = run_demo(standin, db_name, rate=1000, count=4000, limit=1000)
    report("default rate", run)
    assert run.produced == 4000
    assert run.delivered == run.produced, run.logs
    check_exact_newest_rows(run, standin, db_name, 1000)
    assert run.first_row_latency < 1.0


def test_20000_rows_per_second_lose_nothing(standin, db_name) -> None:
    """Guards the original demo's LIMIT 1000 per poll, which lost rows above ~4,000 rows/s. At 20,000
    rows/s for 3 s into a table large enough to keep all of them: the table holds every produced row,
    once."""
    run = run_demo(standin, db_name, rate=20_000, count=60_000, limit=100_000)
    report("20,000 rows/s", run)
    assert run.produced == 60_000
    assert run.delivered == run.produced, run.logs
    check_exact_newest_rows(run, standin, db_name, 100_000)


@pytest.mark.parametrize("operation", ["update", "clear", "replace", "remove", "delete", "new table"])
def test_websocket_clients_cannot_change_anything(standin, db_name, operation) -> None:
    """Guards the hardening: the stock Perspective handler lets any websocket client write. A remote client
    trying each writing call gets an error, and the table (content and list of tables) stays as it was."""
    port = free_port()
    env = taos_env(standin.host, standin.port, database=db_name) | {"PERSPECTIVE_PORT": str(port)}
    with Program("producer.py", env | {"PRODUCER_COUNT": "500"}) as prod:
        assert prod.wait() == 0, prod.output
    with Program("perspective_server.py", env) as server:
        wait_for_server(port)
        server.wait_for("reading rows")
        asyncio.run(_attempt_write(port, operation))
        assert server.stop() == 0


async def _attempt_write(port: int, operation: str) -> None:
    async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
        table = await client.open_table(TABLE)
        for _ in range(100):  # the first poll loads the 500 rows
            if await table.size() == 500:
                break
            await asyncio.sleep(0.05)
        view = await table.view()
        before = await view.to_json()
        attempts = {
            "update": lambda: table.update([{"ticker": "EVIL", "volume": 1}]),
            "clear": table.clear,
            "replace": lambda: table.replace([{"ticker": "EVIL"}]),
            "remove": lambda: table.remove([0]),
            "delete": table.delete,
            "new table": lambda: client.table({"x": "integer"}, name="intruder"),
        }
        with pytest.raises(Exception, match="read-only server"):
            await attempts[operation]()
        assert await view.to_json() == before
        assert await client.get_hosted_table_names() == [TABLE]
        await view.delete()
