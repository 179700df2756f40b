"""Running perspective_server.py with PERSPECTIVE_SOURCE=subscribe and checking its table exactly.

Rows are compared as multisets of (timestamp in ms, ticker, client, volume, open): the Perspective
table holds milliseconds, so rows of one millisecond are told apart by their other values, and
comparing counts per key (not sets) makes a doubled row show even if two keys collide.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import taosws

from tests.perspective_client import remote_client
from tests.processes import Program, server_config, taos_env, wait_for_server

TABLE = "stock_values"
Key = tuple[int, str, str, int, float]


def key(ts_ms: int, ticker: str, client: str, volume: int, open_: float) -> Key:
    return (int(ts_ms), ticker, client, int(volume), round(float(open_), 3))


def server(standin: Any, database: str, port: int, limit: int, **extra: Any) -> Program:
    env = taos_env(standin.host, standin.port, database=database, PERSPECTIVE_PORT=port,
                   PERSPECTIVE_TABLE_LIMIT=limit, PERSPECTIVE_SOURCE="subscribe", **extra)
    program = Program("perspective_server.py", env)
    wait_for_server(port)
    return program


def producer(standin: Any, database: str, **settings: Any) -> Program:
    return Program("producer.py", taos_env(standin.host, standin.port, database=database, **settings))


def connect(standin: Any) -> Any:
    return taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")


def tdengine_keys(standin: Any, database: str, newest: int | None = None) -> Counter[Key]:
    """TDengine's rows (all, or the newest `newest` by timestamp) as keys."""
    limit = f" ORDER BY `timestamp` DESC LIMIT {newest}" if newest else ""
    columns = "CAST(`timestamp` AS BIGINT), ticker, client, volume, `open`"
    conn = connect(standin)  # held while iterating: the result is fetched through it
    rows = list(conn.query(f"SELECT {columns} FROM {database}.stocks_values{limit}"))
    conn.close()
    return Counter(key(ts // 1000, *rest) for ts, *rest in rows)


def table_keys(port: int) -> Counter[Key]:
    """The server's Perspective table, read by a remote client over the websocket."""
    async def read() -> list[dict[str, Any]]:
        async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
            view = await (await client.open_table(TABLE)).view()
            rows = await view.to_columns()
            await view.delete()
            return rows
    cols = asyncio.run(read())
    return Counter(key(*values) for values in zip(cols["timestamp"], cols["ticker"], cols["client"],
                                                   cols["volume"], cols["open"], strict=True))


def wait_until_delivered(port: int, total: int, timeout: float = 60.0) -> int:
    """Wait until the server delivered `total` rows (or the timeout); then a little longer, so that
    anything extra (a duplicate) would show too. Returns the delivered count."""
    deadline = time.monotonic() + timeout
    while server_config(port)["feed"]["delivered"] < total and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    return server_config(port)["feed"]["delivered"]


def difference(got: Counter[Key], expected: Counter[Key]) -> str:
    """'' when equal; else how many are missing and doubled, for the assertion message."""
    missing, extra = expected - got, got - expected
    if not missing and not extra:
        return ""
    return (f"missing {sum(missing.values())} (e.g. {sorted(missing)[:3]}), "
            f"extra/doubled {sum(extra.values())} (e.g. {sorted(extra)[:3]}); "
            f"table {sum(got.values())} rows, TDengine {sum(expected.values())}")


def write_rows(standin: Any, database: str, ticker: str, stamps: list[int]) -> None:
    """Rows of one ticker at these timestamps (µs), written by SQL as another client would: e.g.
    rows hours late, or a backfill of old data."""
    conn = connect(standin)
    subtable = f"{database}.late_{ticker.lower()}"
    for start in range(0, len(stamps), 500):
        values = " ".join(f"({ts}, 'late', 1.5, 2.5, 0.5, {i % 97 + 1}.25, {i}, {ts})"
                          for i, ts in enumerate(stamps[start:start + 500], start))
        using = f"USING {database}.stocks_values TAGS ('{ticker}')"
        conn.execute(f"INSERT INTO {subtable} {using} VALUES {values}")



def assert_every_row_once(standin: Any, database: str, port: int, srv: Program,
                          total: int | None = None) -> None:
    """Once the producer is done: every row in TDengine (``total`` of them, if given) reaches the
    server's table exactly once; then the server stops cleanly. The count of rows delivered only
    says when to start looking: after an outage it includes rows loaded again, so the table itself
    is read until it holds TDengine's rows (or 30 s pass)."""
    expected = tdengine_keys(standin, database)
    wait_until_delivered(port, sum(expected.values()))
    deadline = time.monotonic() + 30
    while (got := table_keys(port)) != expected and time.monotonic() < deadline:
        time.sleep(0.3)
    time.sleep(1.0)  # a duplicate would arrive now
    got = table_keys(port)
    assert srv.stop() == 0, srv.output
    if total is not None:
        assert sum(expected.values()) == total
    assert not difference(got, expected), difference(got, expected) + "\n" + srv.output
