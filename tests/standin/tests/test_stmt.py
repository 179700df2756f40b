"""Prepared statements through the real taosws client: stmt v1 (``conn.statement()``) and stmt2."""

from __future__ import annotations

import pytest
import taosws

TS0 = 1_700_000_000_000
STB_DDL = ("CREATE STABLE quotes (ts TIMESTAMP, client NCHAR(10), open FLOAT, high FLOAT, low FLOAT, "
           "close FLOAT, volume INT UNSIGNED, date TIMESTAMP) TAGS (ticker NCHAR(10))")
STB_INSERT = "INSERT INTO ? USING quotes TAGS (?) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"



def _quote_columns(ts: list[int], client: str, base: float) -> list:
    n = len(ts)
    prices = [base + i for i in range(n)]
    return [
        taosws.millis_timestamps_to_column(ts),
        taosws.nchar_to_column([client] * n),
        taosws.floats_to_column(prices),
        taosws.floats_to_column([p + 0.5 for p in prices]),
        taosws.floats_to_column([p - 0.5 for p in prices]),
        taosws.floats_to_column(prices),
        taosws.unsigned_ints_to_column([100 * (i + 1) for i in range(n)]),
        taosws.millis_timestamps_to_column(ts),
    ]


def test_stmt_v1_plain_table_with_nulls(conn):
    """stmt v1 bind_param/add_batch/execute writes every row, NULLs included, and returns the count."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, i INT, s BINARY(8), n NCHAR(4), b BOOL, d DOUBLE)")
    stmt = conn.statement()
    stmt.prepare("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)")
    stmt.bind_param([
        taosws.millis_timestamps_to_column([TS0, TS0 + 1, TS0 + 2]),
        taosws.ints_to_column([1, None, -3]),
        taosws.varchar_to_column(["a", None, "ccc"]),
        taosws.nchar_to_column(["ä", "日本", None]),
        taosws.bools_to_column([True, None, False]),
        taosws.doubles_to_column([0.5, None, -2.0]),
    ])
    stmt.add_batch()
    assert stmt.execute() == 3
    rows = [r[1:] for r in conn.query("SELECT * FROM t")]
    assert rows == [(1, "a", "ä", True, 0.5), (None, None, "日本", None, None),
                    (-3, "ccc", None, False, -2.0)]


def test_stmt_v1_supertable_with_tbname_and_tags(conn):
    """stmt v1 INSERT INTO ? USING stb TAGS(?): set_tbname/set_tags auto-create subtables with their tags."""
    conn.execute(STB_DDL)
    stmt = conn.statement()
    stmt.prepare(STB_INSERT)
    for ticker, base in (("AAPL", 10.0), ("MSFT", 20.0)):
        stmt.set_tbname(f"q_{ticker.lower()}")
        stmt.set_tags([taosws.nchar_to_tag(ticker)])
        stmt.bind_param(_quote_columns([TS0, TS0 + 1], "c1", base))
        stmt.add_batch()
    assert stmt.execute() == 4
    rows = sorted((r[-1], r[2], r[6]) for r in conn.query("SELECT * FROM quotes"))
    assert rows == [("AAPL", 10.0, 100), ("AAPL", 11.0, 200), ("MSFT", 20.0, 100), ("MSFT", 21.0, 200)]


def test_stmt_v1_several_batches_and_executes(conn):
    """Several bind_param/add_batch rounds add up; a second execute writes only the new rows."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    stmt = conn.statement()
    stmt.prepare("INSERT INTO t VALUES (?, ?)")
    for start in (0, 10):
        stmt.bind_param([taosws.millis_timestamps_to_column([TS0 + start, TS0 + start + 1]),
                         taosws.ints_to_column([start, start + 1])])
        stmt.add_batch()
    assert stmt.execute() == 4
    stmt.bind_param([taosws.millis_timestamps_to_column([TS0 + 20]), taosws.ints_to_column([20])])
    stmt.add_batch()
    assert stmt.execute() == 1
    assert [r[1] for r in conn.query("SELECT * FROM t")] == [0, 1, 10, 11, 20]


def test_stmt_v1_duplicate_timestamps_last_wins(conn):
    """Rows with the same timestamp in one batch collapse to one row holding the last value."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    stmt = conn.statement()
    stmt.prepare("INSERT INTO t VALUES (?, ?)")
    stmt.bind_param([taosws.millis_timestamps_to_column([TS0, TS0 + 1, TS0]),
                     taosws.ints_to_column([1, 2, 3])])
    stmt.add_batch()
    stmt.execute()
    assert [r[1] for r in conn.query("SELECT * FROM t")] == [3, 2]


def test_stmt_v1_prepare_on_missing_table_is_programming_error(conn):
    """A failing prepare raises ProgrammingError (and does not hang the client)."""
    stmt = conn.statement()
    with pytest.raises(taosws.ProgrammingError, match=r"\[0x(2662|2603)\]"):
        stmt.prepare("INSERT INTO no_such_table VALUES (?, ?)")


def test_stmt_v1_value_too_long_is_rejected(conn):
    """A bound string longer than the column raises 0x2653 and writes nothing."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, s BINARY(3))")
    stmt = conn.statement()
    stmt.prepare("INSERT INTO t VALUES (?, ?)")
    with pytest.raises(taosws.Error, match=r"\[0x2653\]"):
        stmt.bind_param([taosws.millis_timestamps_to_column([TS0]), taosws.varchar_to_column(["toolong"])])
        stmt.add_batch()
        stmt.execute()
    assert list(conn.query("SELECT * FROM t")) == []


def test_stmt2_supertable_many_tables_in_one_bind(conn):
    """stmt2 binds several subtables (name + tags + columns) in one frame; execute returns all rows."""
    conn.execute(STB_DDL)
    stmt = conn.stmt2_statement()
    stmt.prepare(STB_INSERT)
    params = [
        taosws.stmt2_bind_param_view(table_name=f"q_{t.lower()}", tags=[taosws.nchar_to_tag(t)],
                                     columns=_quote_columns([TS0, TS0 + 1, TS0 + 2], "cl", base))
        for t, base in (("AAPL", 1.0), ("ÄBC", 5.0))
    ]
    stmt.bind(params)
    assert stmt.execute() == 6
    rows = sorted((r[-1], r[1], r[2]) for r in conn.query("SELECT * FROM quotes"))
    assert rows == [("AAPL", "cl", 1.0), ("AAPL", "cl", 2.0), ("AAPL", "cl", 3.0),
                    ("ÄBC", "cl", 5.0), ("ÄBC", "cl", 6.0), ("ÄBC", "cl", 7.0)]


def test_stmt2_plain_table_with_nulls_and_duplicates(conn):
    """stmt2 into a plain table: NULLs survive and a duplicate timestamp keeps the last row."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v BIGINT, n NCHAR(5))")
    stmt = conn.stmt2_statement()
    stmt.prepare("INSERT INTO t VALUES (?, ?, ?)")
    stmt.bind([taosws.stmt2_bind_param_view(table_name=None, tags=None, columns=[
        taosws.millis_timestamps_to_column([TS0, TS0 + 1, TS0]),
        taosws.big_ints_to_column([1, None, 3]),
        taosws.nchar_to_column(["ü", "x", None]),
    ])])
    stmt.execute()
    assert [r[1:] for r in conn.query("SELECT * FROM t")] == [(3, None), (None, "x")]


def test_stmt2_prepared_query(conn):
    """A stmt2 SELECT with a ? parameter returns its rows through result_set()."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    conn.execute(f"INSERT INTO t VALUES ({TS0}, 1) ({TS0 + 1}, 2) ({TS0 + 2}, 3)")
    stmt = conn.stmt2_statement()
    stmt.prepare("SELECT * FROM t WHERE ts > ?")
    stmt.bind([taosws.stmt2_bind_param_view(table_name=None, tags=None,
                                            columns=[taosws.millis_timestamps_to_column([TS0])])])
    stmt.execute()
    assert [r[1] for r in stmt.result_set()] == [2, 3]


def test_stmt2_prepare_on_missing_table_is_programming_error(conn):
    """A failing stmt2 prepare raises ProgrammingError; the connection keeps working afterwards."""
    stmt = conn.stmt2_statement()
    with pytest.raises(taosws.ProgrammingError, match=r"\[0x(2662|2603)\]"):
        stmt.prepare("INSERT INTO no_such_table VALUES (?, ?)")
    assert conn.execute("CREATE TABLE after_error (ts TIMESTAMP, v INT)") == 0


def test_stmt2_value_too_long_is_query_error(conn):
    """A too-long NCHAR bound through stmt2 fails at execute with 0x2653 and writes nothing."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, n NCHAR(2))")
    stmt = conn.stmt2_statement()
    stmt.prepare("INSERT INTO t VALUES (?, ?)")
    with pytest.raises(taosws.Error, match=r"\[0x2653\]"):
        stmt.bind([taosws.stmt2_bind_param_view(table_name=None, tags=None, columns=[
            taosws.millis_timestamps_to_column([TS0]), taosws.nchar_to_column(["äöü"])])])
        stmt.execute()
    assert list(conn.query("SELECT * FROM t")) == []
