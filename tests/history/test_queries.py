"""How many queries the history sends: what a page load costs TDengine.

Guards the table-size cache (the viewer asks for the size ~25 times per page load; each was a
COUNT(*) over every row) and the single scan of a group-by whose parents fold from its leaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.history.support import fresh_database, open_history


@pytest.fixture
def counted(shared_standin: Any) -> Iterator[tuple[Any, list[str]]]:
    """A small table opened through the history virtual server, and the SQL the handler sends."""
    with fresh_database(shared_standin, "queries") as (database, connection):
        query = connection.query
        query(f"CREATE STABLE {database}.st (ts TIMESTAMP, v DOUBLE) TAGS (k VARCHAR(4))")
        query(f"INSERT INTO {database}.a USING {database}.st TAGS ('a') VALUES (1, 1.0) (2, 2.0)")
        query(f"INSERT INTO {database}.b USING {database}.st TAGS ('b') VALUES (3, 3.0)")
        sent: list[str] = []

        def counting(sql: str) -> list[tuple]:
            sent.append(sql)
            return query(sql)

        connection.query = counting  # type: ignore[method-assign]
        _, table = open_history(connection, "st", database, "st")
        yield table, sent


def test_table_size_is_counted_once_per_view_made(counted: tuple[Any, list[str]]) -> None:
    """Repeated size requests reuse one COUNT(*) until the next view is made."""
    table, sent = counted
    for _ in range(5):
        assert table.size() == 3
    assert sum(sql.startswith("SELECT COUNT(*) FROM") and "WHERE" not in sql for sql in sent) == 1
    table.view(group_by=["k"], columns=["v"])
    assert table.size() == 3
    assert sum(sql.startswith("SELECT COUNT(*) FROM") and "WHERE" not in sql for sql in sent) == 2


def test_two_level_group_by_is_one_scan(counted: tuple[Any, list[str]]) -> None:
    """Sum and avg fold: total, per-tag and per-subtable rows all come from one query."""
    table, sent = counted
    before = len(sent)
    view = table.view(group_by=["k", "tbname"], columns=["v"], aggregates={"v": "avg"},
                      sort=[["v", "desc"]])
    assert view.to_columns()["v"] == [2.0, 3.0, 3.0, 1.5, 1.5]
    grouped = [sql for sql in sent[before:] if "PARTITION BY" in sql or "GROUP BY" in sql]
    assert len(grouped) == 1, grouped
