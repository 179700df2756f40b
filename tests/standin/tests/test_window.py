"""What the history handler sends, answered as TDengine answers it: INTERVAL windows with `_wstart`,
PARTITION BY tags and tbname, ORDER BY aggregates with NULLS FIRST/LAST, STDDEV, and TDengine's
errors for what it refuses. Through the real taosws client; also run against real TDengine when
TDENGINE_TEST_URL is set (the expected values are computed by hand from the rows written here).
"""

from __future__ import annotations

import pytest


@pytest.fixture
def trades(conn):
    conn.execute("CREATE STABLE st (ts TIMESTAMP, v DOUBLE, c NCHAR(8)) TAGS (tk NCHAR(8))")
    conn.execute("INSERT INTO a USING st TAGS ('A') VALUES (0, 1.0, 'x') (61000, 2.0, 'y') (62000, 4.0, 'x')")
    conn.execute("INSERT INTO b USING st TAGS ('B') VALUES (1000, 3.0, 'x') (-1000, NULL, 'y')")
    return conn


def rows(conn, sql: str) -> list[tuple]:
    return list(conn.query(sql))


def test_interval_windows_start_at_unix_zero_in_time_order(trades) -> None:
    """Windows are aligned to 1970-01-01 UTC (also before it), only windows with rows, ascending."""
    got = rows(trades, "SELECT CAST(_wstart AS BIGINT), CAST(_wend AS BIGINT), COUNT(*), SUM(v) "
                       "FROM st INTERVAL(1m)")
    assert got == [(-60000, 0, 1, None), (0, 60000, 2, 4.0), (60000, 120000, 2, 6.0)]


def test_interval_with_offset(trades) -> None:
    """INTERVAL(1m, 30s): windows start at 30 s past each minute."""
    got = rows(trades, "SELECT CAST(_wstart AS BIGINT), COUNT(*) FROM st INTERVAL(1m, 30s)")
    assert got == [(-30000, 3), (30000, 2)]


def test_partition_by_tag_and_interval(trades) -> None:
    """PARTITION BY a tag: windows per partition, in time order within each."""
    got = rows(trades, "SELECT tk, CAST(_wstart AS BIGINT), COUNT(*), FIRST(v), LAST(v) FROM st "
                       "PARTITION BY tk INTERVAL(1m)")
    assert sorted(got) == [("A", 0, 1, 1.0, 1.0), ("A", 60000, 2, 2.0, 4.0), ("B", -60000, 1, None, None),
                           ("B", 0, 1, 3.0, 3.0)]


def test_partition_by_tbname_aggregates(trades) -> None:
    got = rows(trades, "SELECT tbname, COUNT(*), STDDEV(v) FROM st PARTITION BY tbname")
    by_table = {name: (count, dev) for name, count, dev in got}
    assert by_table["a"][0] == 3 and by_table["a"][1] == pytest.approx(1.247219128924647)
    assert by_table["b"] == (2, 0.0)


def test_order_by_aggregate_with_nulls_placement(trades) -> None:
    """ORDER BY an aggregate expression, DESC NULLS FIRST, then LIMIT/OFFSET."""
    got = rows(trades, "SELECT c, tk, SUM(v) FROM st GROUP BY c, tk "
                       "ORDER BY SUM(v) DESC NULLS FIRST, c LIMIT 3 OFFSET 0")
    assert got == [("y", "B", None), ("x", "A", 5.0), ("x", "B", 3.0)]
    got = rows(trades, "SELECT c, tk, SUM(v) AS s FROM st GROUP BY c, tk "
                       "ORDER BY s ASC NULLS LAST LIMIT 2 OFFSET 2")
    assert got == [("x", "A", 5.0), ("y", "B", None)]


@pytest.mark.parametrize(("sql", "code"), [
    ("SELECT _wstart, COUNT(*) FROM st", "0x2658"),
    ("SELECT COUNT(*) FROM st PARTITION BY tk INTERVAL(1m) GROUP BY c", "0x2624"),
    ("SELECT c, COUNT(*) FROM st GROUP BY tk", "0x260A"),
])
def test_what_tdengine_refuses(trades, sql: str, code: str) -> None:
    with pytest.raises(Exception, match=code):
        rows(trades, sql)
