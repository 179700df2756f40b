"""The history virtual server gives the same answers as Perspective's own engine.

One table of trades is written to TDengine; the same rows (read back, so FLOAT values match bit for
bit) are loaded into a regular Perspective table in timestamp order. For each view config below,
both are read through Perspective Python clients and must hold the same rows in the same order,
numbers equal within float tolerance. Guards every translation in `history_sql`/`history_views`:
filters, sorts, group-by levels and their totals, rollup and flat modes, split-by, each
advertised aggregate, time buckets, viewport windows in the middle.

What it cannot prove: NULL handling (the trades have no NULLs), or real TDengine's answers unless
TDENGINE_TEST_URL is set.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import perspective
import pytest

from tdpersp.core import schema
from tdpersp.history.sql import DATETIME_AGGREGATES, NUMBER_AGGREGATES, OTHER_AGGREGATES
from tests.history.support import assert_same_view, fresh_database, open_history, read_back, reference_like

T0 = 1_767_225_600_000_000  # 2026-01-01 00:00:00 UTC, µs
ROWS = 400
TICKERS = ("AAPL.N", "AMZN.N", "QQQ.N", "TSLA.N", "MSFT.N")
CLIENTS = ("Homer", "Marge", "Bart", "Lisa", "Moe_%")  # a LIKE wildcard in a value
FLAT = {"columns": ["timestamp", "ticker", "client", "open", "close", "volume"]}
MIDDLE = (137, 161)  # a viewport window in the middle of the rows



def one_aggregate(group: str, column: str, aggregate: str) -> dict[str, Any]:
    return {"group_by": [group], "columns": [column], "aggregates": {column: aggregate}}


CONFIGS: list[tuple[str, dict[str, Any], tuple[int, int] | None]] = [
    ("flat", FLAT, None),
    ("flat, middle window", FLAT, MIDDLE),
    ("sorted", {**FLAT, "sort": [["close", "desc"]]}, MIDDLE),
    ("two sorts", {**FLAT, "sort": [["client", "asc"], ["volume", "desc"]]}, None),
    ("sorted by a hidden column", {"columns": ["ticker"], "sort": [["open", "asc"]]}, (0, 30)),
    ("filter ==", {**FLAT, "filter": [["ticker", "==", "AAPL.N"]]}, None),
    ("filter > and <=", {**FLAT, "filter": [["close", ">", 40.5], ["volume", "<=", 60000]]}, None),
    ("filter in", {**FLAT, "filter": [["client", "in", ["Homer", "Lisa"]]]}, None),
    ("filter not in", {**FLAT, "filter": [["client", "not in", ["Homer", "Lisa"]]]}, None),
    ("filter contains, any case", {**FLAT, "filter": [["ticker", "contains", "aA"]]}, None),
    ("filter contains a wildcard", {**FLAT, "filter": [["client", "contains", "_%"]]}, None),
    ("filter begins/ends with", {**FLAT, "filter": [["client", "begins with", "m"],
                                                     ["client", "ends with", "E"]]}, None),
    ("filter datetime", {**FLAT, "filter": [["timestamp", ">=", "2026-01-01T02:00:00"]]}, None),
    ("filter !=, is not null",
     {**FLAT, "filter": [["ticker", "!=", "QQQ.N"], ["close", "is not null", None]]}, MIDDLE),
    ("group by one", {"group_by": ["ticker"], "columns": ["close", "volume", "client"]}, None),
    ("group by two, sorted on an aggregate",
     {"group_by": ["ticker", "client"], "columns": ["close", "volume"], "aggregates": {"close": "avg"},
      "sort": [["volume", "desc"]]}, None),
    ("group by two, middle window",
     {"group_by": ["client", "ticker"], "columns": ["open", "volume"], "sort": [["open", "asc"]]}, (7, 19)),
    ("group by two, flat mode",
     {"group_by": ["ticker", "client"], "columns": ["volume"], "group_rollup_mode": "flat"}, None),
    ("group by two, flat mode, sorted: leaves under their parents' order",
     {"group_by": ["ticker", "client"], "columns": ["volume"], "group_rollup_mode": "flat",
      "sort": [["volume", "desc"]]}, None),
    ("total mode", {"columns": ["volume", "close"], "group_rollup_mode": "total"}, None),
    ("total mode, split by",
     {"columns": ["volume"], "split_by": ["client"], "group_rollup_mode": "total"}, None),
    ("filter not contains/begins/ends with",
     {**FLAT, "filter": [["client", "not contains", "_%"], ["ticker", "not begins with", "aa"],
                         ["client", "not ends with", "E"]]}, None),
    ("arithmetic expression, sorted",
     {"columns": ["close", "range"], "expressions": {"range": '("high" - "low") / 2 * -1'},
      "sort": [["range", "desc"]]}, MIDDLE),
    ("arithmetic expression, grouped",
     {"group_by": ["ticker"], "columns": ["gain"],
      "expressions": {"gain": '"close" - "open" + "volume" * 0'},
      "aggregates": {"gain": "avg"}, "sort": [["gain", "asc"]]}, None),
    ("group by, filtered", {"group_by": ["client"], "columns": ["volume"],
                            "filter": [["close", "<", 50.0]]}, None),
    ("group by a tag and tbname", {"group_by": ["ticker", "tbname"], "columns": ["volume"]}, None),
    ("split by, flat", {"split_by": ["client"], "columns": ["volume", "ticker"]}, MIDDLE),
    ("split by under a group by",
     {"group_by": ["ticker"], "split_by": ["client"], "columns": ["volume"]}, None),
    ("minute buckets per ticker (INTERVAL)",
     {"group_by": ["ticker", "minute"], "expressions": {"minute": "bucket(\"timestamp\", 'm')"},
      "columns": ["open", "high", "low", "close", "volume"],
      "aggregates": {"open": "first by index", "high": "high", "low": "low", "close": "last by index"}},
     (0, 40)),
    ("hour buckets, then ticker",
     {"group_by": ["hour", "ticker"], "expressions": {"hour": "bucket(\"timestamp\", 'h')"},
      "columns": ["volume"]}, None),
    *[(f"aggregate {name}", one_aggregate("ticker", "close", name), None) for name in NUMBER_AGGREGATES],
    *[(f"string aggregate {name}", one_aggregate("ticker", "client", name), None)
      for name in OTHER_AGGREGATES],
    *[(f"datetime aggregate {name}", one_aggregate("client", "timestamp", name), None)
      for name in DATETIME_AGGREGATES],
]


@pytest.fixture(scope="module")
def clients(td_module: Any) -> Iterator[tuple[Any, Any]]:
    """(virtual server table, regular table) over the same rows."""
    with fresh_database(td_module, "trades", schema.PRECISION) as (database, connection):
        query = connection.query
        query(schema.create_stable_sql(database, "trades"))
        write_trades(query, database, "trades")
        handler, history = open_history(connection, "history", database, "trades")
        yield history, reference_like(history, read_back(query, handler.table("history")))


def write_trades(query: Any, database: str, table: str) -> None:
    rng = random.Random(9)
    per_ticker: dict[str, list[str]] = {t: [] for t in TICKERS}
    for i in range(ROWS):
        ts = T0 + i * 29_000_000 + rng.randint(0, 999)  # ~29 s apart: several rows per minute, 4 hours
        prices = ", ".join(f"{rng.uniform(1, 99):.3f}" for _ in range(4))
        values = f"({ts}, '{rng.choice(CLIENTS)}', {prices}, {rng.randint(10_000, 100_000)}, {T0})"
        per_ticker[rng.choice(TICKERS)].append(values)
    for ticker, rows in per_ticker.items():
        sub = schema.subtable_name(table, ticker)
        query(f"INSERT INTO `{database}`.`{sub}` USING `{database}`.`{table}` TAGS ('{ticker}') "
              f"VALUES {' '.join(rows)}")


@pytest.mark.parametrize(("name", "config", "window"), CONFIGS, ids=[c[0] for c in CONFIGS])
def test_same_as_perspective(clients: tuple[Any, Any], name: str, config: dict[str, Any],
                             window: tuple[int, int] | None) -> None:
    """Same rows, same order, same numbers (within float tolerance) as a regular Perspective table."""
    assert_same_view(*clients, config, window)


@pytest.mark.parametrize("mode", ["rollup", "flat"])
def test_group_rows_reach_arrow_with_their_keys(clients: tuple[Any, Any], mode: str) -> None:
    """Charts read views as Arrow: the group keys must be in it, or bars lose their axis labels
    (what happened when group rows went back through `set_col`; seen in the browser)."""
    history, _ = clients
    arrow = history.view(group_by=["client"], columns=["volume"], group_rollup_mode=mode).to_arrow()
    decoded = perspective.Server().new_local_client().table(arrow).view().to_columns()
    keys = [k for k in decoded["__ROW_PATH_0__"] if k is not None]
    assert sorted(keys) == sorted(CLIENTS)
