"""NULLs through the history virtual server: where sorts put them, which group they form, what
aggregates make of them, and the null filters, all as Perspective's own engine does.

Guards the NULL placement measured on Perspective: largest in flat sorts, smallest in sorts of
groups by an aggregate, last among group keys; NULLs kept by `!=` and `not in` (dropped by the
other comparisons); and COUNT counting rows (Perspective's count).
Left out on purpose, as known differences (README, "All of history"): `first/last by index`
(TDengine's FIRST/LAST skip NULLs, Perspective's keep them) and `high/low` of a group whose
values are all NULL (Perspective gives 0, TDengine NULL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.history.support import assert_same_view, fresh_database, open_history, reference_like

ROWS = [  # ts, s, x (DOUBLE), n (INT), b (BOOL)
    (1000, "b", 2.5, 3, True), (2000, None, 1.5, None, False), (3000, "a", None, 7, None),
    (4000, "b", None, 1, True), (5000, None, 4.0, 2, None), (6000, "c", 0.5, None, False),
    (7000, "a", 3.0, 5, True),
]
CONFIGS = [
    {"columns": ["s", "x", "n"], "sort": [["x", "asc"]]},
    {"columns": ["s", "x", "n"], "sort": [["x", "desc"]]},
    {"columns": ["s", "x", "n"], "sort": [["s", "asc"]]},
    {"columns": ["s", "x", "n"], "sort": [["s", "desc"], ["n", "asc"]]},
    {"columns": ["s", "x"], "filter": [["x", "is null", None]]},
    {"columns": ["s", "x"], "filter": [["s", "is not null", None]]},
    {"group_by": ["s"], "columns": ["x", "n"]},
    {"group_by": ["s"], "columns": ["x", "n"], "aggregates": {"x": "avg", "n": "count"}},
    {"group_by": ["s"], "columns": ["x"], "aggregates": {"x": "high"}, "sort": [["x", "desc"]]},
    {"group_by": ["s"], "columns": ["x", "n"], "aggregates": {"x": "sum"}, "sort": [["x", "asc"]]},
    {"group_by": ["s"], "columns": ["n"], "sort": [["n", "asc"]]},
    {"group_by": ["n"], "columns": ["x"], "sort": [["x", "desc"]]},
    {"group_by": ["x"], "columns": ["n", "s"]},
    {"columns": ["s", "b"], "filter": [["b", "==", True]]},
    {"columns": ["s", "b"], "filter": [["b", "!=", True]]},
    {"columns": ["s", "b"], "filter": [["b", "is null", None]]},
    {"columns": ["s", "x", "n"], "filter": [["x", "!=", 1.5], ["s", "not in", ["a"]], ["n", "<", 3]]},
    {"columns": ["x", "b"], "sort": [["b", "desc"]]},
    {"group_by": ["b"], "columns": ["x", "b"], "aggregates": {"b": "count"}},
]


@pytest.fixture(scope="module")
def clients(td_module: Any) -> Iterator[tuple[Any, Any]]:
    with fresh_database(td_module, "nulls") as (database, connection):
        query = connection.query
        query(f"CREATE TABLE {database}.t (ts TIMESTAMP, s VARCHAR(4), x DOUBLE, n INT, b BOOL)")
        values = " ".join(f"({', '.join(sql_value(v) for v in row)})" for row in ROWS)
        query(f"INSERT INTO {database}.t VALUES {values}")
        _, history = open_history(connection, "nulls", database, "t")
        yield history, reference_like(history, [dict(zip(("ts", "s", "x", "n", "b"), row)) for row in ROWS])


def sql_value(value: Any) -> str:
    if value is None:
        return "NULL"
    return str(value).lower() if isinstance(value, bool) else repr(value)


@pytest.mark.parametrize("config", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_nulls_as_perspective(clients: tuple[Any, Any], config: dict[str, Any]) -> None:
    """Same rows in the same order as Perspective's engine, NULLs included."""
    assert_same_view(*clients, config, None)
