"""TDengine SQL semantics of the stand-in, driven only through the real taosws client.

Every test also runs against a real TDengine when TDENGINE_TEST_URL is set, so the expectations
are TDengine's behaviour, computed independently of the stand-in. Connections pin
``timezone="UTC"`` (or another zone where the zone is the point) so nothing depends on the
machine's timezone; timestamps come back from the cursor as aware datetimes and are compared
as instants.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
import taosws

T0 = 1_700_000_000_000  # 2023-11-14 22:13:20 UTC, in ms


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@pytest.fixture
def conn(open_db):
    """A UTC connection to a fresh millisecond database named in the DSN."""
    return open_db(timezone="UTC")


def fetch(conn, sql: str) -> list[tuple]:
    cursor = conn.cursor()
    cursor.execute(sql)
    return cursor.fetchall()


def describe(conn, sql: str) -> list[tuple]:
    """(name, type code, bytes) of each result column."""
    cursor = conn.cursor()
    cursor.execute(sql)
    return [tuple(d[:3]) for d in cursor.description]


def td_error(call, *args) -> tuple[int, str, Exception]:
    """Run a failing call; returns (code, server message, exception)."""
    with pytest.raises(taosws.Error) as info:
        call(*args)
    text = info.value.args[0]
    match = re.match(r"\[0x([0-9A-Fa-f]{4})\] Internal error: `(.*)`$", text, re.S)
    assert match, text
    return int(match[1], 16), match[2], info.value


# ---------------------------------------------------------------- primary key / overwrite


def test_insert_overwrites_row_with_same_timestamp(conn):
    """Writing an existing timestamp replaces that row (TDengine's primary-key rule)."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT, s VARCHAR(8))")
    conn.execute(f"INSERT INTO t VALUES ({T0}, 1, 'old') ({T0 + 1}, 2, 'keep')")
    conn.execute(f"INSERT INTO t VALUES ({T0}, 10, 'new')")
    assert fetch(conn, "SELECT ts, v, s FROM t") == [(at(T0), 10, "new"), (at(T0 + 1), 2, "keep")]


def test_duplicate_timestamps_in_one_insert_last_wins(conn):
    """Several rows with one timestamp in one INSERT collapse to the last of them."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    conn.execute(f"INSERT INTO t VALUES ({T0}, 1) ({T0}, 2) ({T0 + 5}, 3) ({T0}, 4)")
    assert fetch(conn, "SELECT ts, v FROM t") == [(at(T0), 4), (at(T0 + 5), 3)]


def test_now_is_one_instant_per_statement(conn):
    """Every NOW in one INSERT is the same instant, so the rows overwrite each other."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    conn.execute("INSERT INTO t VALUES (NOW, 1) (NOW, 2) (NOW(), 3)")
    assert [r[1] for r in fetch(conn, "SELECT ts, v FROM t")] == [3]


def test_null_primary_timestamp_is_rejected(conn):
    """A NULL primary timestamp in VALUES is refused and writes nothing."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    code, message, _ = td_error(conn.execute, "INSERT INTO t VALUES (NULL, 1)")
    assert code == 0x0216 and "Primary timestamp column should not be null" in message
    assert fetch(conn, "SELECT COUNT(*) FROM t") == [(0,)]


def test_column_list_leaves_missing_columns_null(conn):
    """INSERT with a column list stores NULL in the columns it does not name."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, a INT, b VARCHAR(4), c DOUBLE)")
    conn.execute(f"INSERT INTO t (ts, c) VALUES ({T0}, 1.5)")
    assert fetch(conn, "SELECT * FROM t") == [(at(T0), None, None, 1.5)]


# ---------------------------------------------------------------- timestamps


def test_now_arithmetic_with_durations(conn):
    """NOW +/- 1a/1s/1m/1h/1d/1w are exact offsets from the server's clock."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    before = datetime.now(UTC)
    conn.execute("INSERT INTO t VALUES (NOW - 1w, 1) (NOW - 1d, 2) (NOW - 1h, 3) (NOW - 1m, 4) "
                 "(NOW - 1s, 5) (NOW + 1a, 6)")
    after = datetime.now(UTC)
    rows = fetch(conn, "SELECT ts, v FROM t")
    offsets = [timedelta(weeks=-1), timedelta(days=-1), timedelta(hours=-1), timedelta(minutes=-1),
               timedelta(seconds=-1), timedelta(milliseconds=1)]
    slack = timedelta(seconds=2)  # the stand-in's/server's clock vs this process's clock
    assert [r[1] for r in rows] == [1, 2, 3, 4, 5, 6]
    for (ts, _), offset in zip(rows, offsets):
        assert before + offset - slack <= ts <= after + offset + slack
    assert fetch(conn, "SELECT COUNT(*) FROM t WHERE ts > NOW - 90m") == [(4,)]


def test_string_timestamps_use_connection_timezone(td, db_name):
    """'YYYY-MM-DD HH:MM:SS' is read in the connection's timezone; ISO strings with a zone keep theirs."""
    admin = td.connect()
    admin.execute(f"CREATE DATABASE {db_name}")
    admin.close()
    conn = td.connect(database=db_name, timezone="Asia/Shanghai")
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    conn.execute("INSERT INTO t VALUES ('2024-01-01 08:00:00', 1) ('2024-01-01T01:00:00Z', 2) "
                 "('2024-01-01 10:00:00.250', 3)")
    rows = fetch(conn, "SELECT ts, v FROM t")
    expected = [datetime(2024, 1, 1, 0, 0, tzinfo=UTC), datetime(2024, 1, 1, 1, 0, tzinfo=UTC),
                datetime(2024, 1, 1, 2, 0, 0, 250_000, tzinfo=UTC)]
    assert [r[0] for r in rows] == expected and [r[1] for r in rows] == [1, 2, 3]
    conn.close()


def test_string_timestamps_in_where(conn):
    """WHERE compares TIMESTAMP columns with date-time strings as instants."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    conn.execute("INSERT INTO t VALUES ('2024-03-01 00:00:00', 1) ('2024-03-02 00:00:00', 2) "
                 "('2024-03-03 00:00:00', 3)")
    assert fetch(conn, "SELECT v FROM t WHERE ts > '2024-03-01 12:00:00'") == [(2,), (3,)]
    between = "SELECT v FROM t WHERE ts BETWEEN '2024-03-01' AND '2024-03-02 00:00:00'"
    assert fetch(conn, between) == [(1,), (2,)]
    assert fetch(conn, "SELECT v FROM t WHERE ts = '2024-03-03 00:00:00.000'") == [(3,)]


@pytest.mark.parametrize("precision", ["us", "ns"])
def test_integer_timestamps_are_in_database_precision(td, db_name, precision):
    """Integer literals are ticks of the database precision, and durations scale with it."""
    admin = td.connect()
    admin.execute(f"CREATE DATABASE {db_name} PRECISION '{precision}'")
    admin.close()
    conn = td.connect(database=db_name, timezone="UTC")
    scale = 1_000 if precision == "us" else 1_000_000
    base = T0 * scale + 7
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    conn.execute(f"INSERT INTO t VALUES ({base}, 1) ({base} + 1s, 2)")
    rows = [r[0] for r in fetch(conn, "SELECT ts FROM t")]
    if precision == "us":
        assert rows == [at(T0) + timedelta(microseconds=7), at(T0 + 1000) + timedelta(microseconds=7)]
    else:
        assert rows == [base, base + 1_000_000_000]
    conn.close()


# ---------------------------------------------------------------- values and types


def test_varchar_counts_bytes_and_nchar_characters(conn):
    """VARCHAR(n) holds n bytes, NCHAR(n) n characters; longer values fail with 0x2653."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, b VARCHAR(4), n NCHAR(3))")
    conn.execute(f"INSERT INTO t VALUES ({T0}, 'éé', '日本語')")
    code, message, _ = td_error(conn.execute, f"INSERT INTO t VALUES ({T0 + 1}, 'ééé', 'a')")
    assert (code, message) == (0x2653, "Value too long for column/tag: b")
    code, message, _ = td_error(conn.execute, f"INSERT INTO t VALUES ({T0 + 1}, 'a', 'abcd')")
    assert (code, message) == (0x2653, "Value too long for column/tag: n")
    assert fetch(conn, "SELECT b, n FROM t") == [("éé", "日本語")]


def test_out_of_range_integers_are_rejected(conn):
    """Integers outside the column type's range are refused, the unsigned maximum is accepted."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, a TINYINT, u BIGINT UNSIGNED)")
    code, message, _ = td_error(conn.execute, f"INSERT INTO t VALUES ({T0}, 128, 0)")
    assert code == 0x0216 and "overflow" in message
    td_error(conn.execute, f"INSERT INTO t VALUES ({T0}, 1, -1)")
    conn.execute(f"INSERT INTO t VALUES ({T0}, -128, 18446744073709551615)")
    assert fetch(conn, "SELECT a, u FROM t") == [(-128, 2**64 - 1)]


def test_wrong_number_of_values_is_0x263f(conn):
    """A VALUES row with too few or too many values fails with Illegal number of columns."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, a INT, b INT)")
    for values in (f"({T0}, 1)", f"({T0}, 1, 2, 3)"):
        code, message, _ = td_error(conn.execute, f"INSERT INTO t VALUES {values}")
        assert (code, message) == (0x263F, "Illegal number of columns")


# ---------------------------------------------------------------- supertables


@pytest.fixture
def quotes(conn):
    """A supertable with two subtables: s_aapl (3 rows) and s_msft (2 rows)."""
    conn.execute("CREATE STABLE q (ts TIMESTAMP, px DOUBLE, vol INT) TAGS (sym VARCHAR(8), ex INT)")
    conn.execute(f"INSERT INTO s_aapl USING q TAGS ('AAPL', 1) VALUES ({T0}, 10.0, 1) ({T0 + 1}, 11.0, 2) "
                 f"({T0 + 2}, 12.0, NULL) s_msft USING q TAGS ('MSFT', 2) VALUES ({T0}, 20.0, 5) "
                 f"({T0 + 3}, 22.0, 7)")
    return conn


def test_supertable_star_is_columns_then_tags(quotes):
    """SELECT * FROM a supertable returns its columns followed by its tags."""
    assert [d[0] for d in describe(quotes, "SELECT * FROM q")] == ["ts", "px", "vol", "sym", "ex"]
    rows = sorted(fetch(quotes, "SELECT * FROM q"), key=lambda r: (r[3], r[0]))
    assert rows[0] == (at(T0), 10.0, 1, "AAPL", 1) and rows[-1] == (at(T0 + 3), 22.0, 7, "MSFT", 2)
    assert len(rows) == 5


def test_subtable_query_returns_its_rows_and_tags(quotes):
    """A subtable query sees only that subtable's rows; its tags are selectable too."""
    assert fetch(quotes, "SELECT px, sym, ex FROM s_msft") == [(20.0, "MSFT", 2), (22.0, "MSFT", 2)]
    assert [d[0] for d in describe(quotes, "SELECT * FROM s_msft")] == ["ts", "px", "vol"]


def test_tbname_pseudo_column(quotes):
    """tbname is selectable, filterable and groupable, typed VARCHAR(192)."""
    assert describe(quotes, "SELECT tbname FROM q")[0][:2] == ("tbname", 8)
    assert fetch(quotes, "SELECT px FROM q WHERE tbname = 's_msft'") == [(20.0,), (22.0,)]
    counts = fetch(quotes, "SELECT tbname, COUNT(*) FROM q GROUP BY tbname")
    assert sorted(counts) == [("s_aapl", 3), ("s_msft", 2)]


def test_auto_create_keeps_existing_subtable_tags(quotes):
    """INSERT ... USING ... TAGS on an existing subtable writes rows but leaves its tags alone."""
    quotes.execute(f"INSERT INTO s_aapl USING q TAGS ('XXX', 9) VALUES ({T0 + 10}, 13.0, 3)")
    assert set(fetch(quotes, "SELECT sym, ex FROM s_aapl")) == {("AAPL", 1)}
    assert fetch(quotes, "SELECT COUNT(*) FROM s_aapl") == [(4,)]


def test_create_subtable_with_named_tags(conn):
    """CREATE TABLE sub USING st (tag) TAGS (...) sets the named tags; the others are NULL."""
    conn.execute("CREATE STABLE st (ts TIMESTAMP, v INT) TAGS (a INT, b NCHAR(4))")
    conn.execute("CREATE TABLE sub USING st (b) TAGS ('x')")
    conn.execute("CREATE TABLE IF NOT EXISTS sub USING st TAGS (1, 'y')")
    conn.execute(f"INSERT INTO sub VALUES ({T0}, 5)")
    assert fetch(conn, "SELECT v, a, b FROM st") == [(5, None, "x")]


def test_one_insert_writes_several_tables(conn):
    """INSERT INTO a VALUES ... b VALUES ... writes both and reports every row written."""
    conn.execute("CREATE TABLE a (ts TIMESTAMP, v INT)")
    conn.execute("CREATE TABLE b (ts TIMESTAMP, v INT)")
    assert conn.execute(f"INSERT INTO a VALUES ({T0}, 1) ({T0 + 1}, 2) b VALUES ({T0}, 3)") == 3
    assert fetch(conn, "SELECT v FROM a") == [(1,), (2,)] and fetch(conn, "SELECT v FROM b") == [(3,)]


# ---------------------------------------------------------------- SELECT


@pytest.fixture
def nums(conn):
    """t: v = 1..6 at T0..T0+5, g alternating 'a'/'b', f = v/2 as FLOAT, v NULL at T0+6."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT, g VARCHAR(2), f FLOAT)")
    rows = " ".join(f"({T0 + i}, {i + 1}, '{'ab'[i % 2]}', {(i + 1) / 2})" for i in range(6))
    conn.execute(f"INSERT INTO t VALUES {rows} ({T0 + 6}, NULL, 'a', NULL)")
    return conn


def test_aggregates_values_and_types(nums):
    """COUNT/SUM/AVG/MIN/MAX/FIRST/LAST: values and TDengine's result types."""
    sql = "SELECT count(*), count(v), sum(v), sum(f), avg(v), min(v), max(f), first(v), last(v) FROM t"
    assert fetch(nums, sql) == [(7, 6, 21, 10.5, 3.5, 1, 3.0, 1, 6)]
    types = [d[1] for d in describe(nums, sql)]
    assert types == [5, 5, 5, 7, 7, 4, 6, 4, 4]  # BIGINT x3, DOUBLE x2, INT, FLOAT, INT, INT
    names = [d[0] for d in describe(nums, sql)]
    assert names[:3] == ["count(*)", "count(v)", "sum(v)"]


def test_group_by_and_partition_by(nums):
    """GROUP BY and PARTITION BY with aggregates give one row per group; PARTITION BY alone keeps rows."""
    assert sorted(fetch(nums, "SELECT g, SUM(v) FROM t GROUP BY g")) == [("a", 9), ("b", 12)]
    assert sorted(fetch(nums, "SELECT g, COUNT(*) FROM t PARTITION BY g")) == [("a", 4), ("b", 3)]
    assert len(fetch(nums, "SELECT v FROM t PARTITION BY g")) == 7


def test_order_by_limit_offset(nums):
    """ORDER BY column/alias/position with ASC/DESC, LIMIT n OFFSET m and LIMIT m, n."""
    assert fetch(nums, "SELECT v FROM t WHERE v IS NOT NULL ORDER BY v DESC LIMIT 2") == [(6,), (5,)]
    assert fetch(nums, "SELECT v AS x FROM t WHERE v > 0 ORDER BY x DESC LIMIT 2 OFFSET 1") == [(5,), (4,)]
    assert fetch(nums, "SELECT g, v FROM t WHERE v > 0 ORDER BY 2 LIMIT 1, 2") == [("b", 2), ("a", 3)]
    assert fetch(nums, "SELECT v FROM t WHERE v > 0 ORDER BY g ASC, v DESC LIMIT 3") == [(5,), (3,), (1,)]


def test_where_operators(nums):
    """=, <>, !=, IN, NOT IN, BETWEEN, LIKE (case-sensitive, % and _), IS [NOT] NULL, AND/OR/NOT."""
    def vs(where: str) -> list:
        return [r[0] for r in fetch(nums, f"SELECT v FROM t WHERE {where}")]

    assert vs("v IN (2, 4, 9)") == [2, 4]
    assert vs("v NOT IN (1, 2, 3)") == [4, 5, 6]
    assert vs("v BETWEEN 2 AND 4") == [2, 3, 4]
    assert vs("v <> 1 AND v != 2 AND v <= 4") == [3, 4]
    assert vs("v IS NULL") == [None]
    assert vs("g LIKE 'b' OR v = 1") == [1, 2, 4, 6]
    assert vs("g LIKE 'B'") == []
    assert vs("g LIKE '_' AND NOT v >= 2") == [1]
    assert vs("g NOT LIKE 'a%' AND v < 3") == [2]


def test_arithmetic_is_double_and_named_after_its_text(nums):
    """Arithmetic yields DOUBLE (integer division too); unaliased columns are named by their text."""
    assert fetch(nums, "SELECT v / 2, v * 2 + 1, v - 10 AS d FROM t WHERE v = 3") == [(1.5, 7.0, -7.0)]
    cols = describe(nums, "SELECT v / 2, v * 2 + 1, v - 10 AS d FROM t WHERE v = 3")
    assert [(c[0], c[1]) for c in cols] == [("v / 2", 7), ("v * 2 + 1", 7), ("d", 7)]


def test_float_column_is_single_precision(nums):
    """FLOAT stores f32: 0.1 reads back as the float32 nearest to it."""
    nums.execute(f"INSERT INTO t VALUES ({T0 + 20}, 100, 'c', 0.1)")
    assert fetch(nums, "SELECT f FROM t WHERE v = 100") == [(0.10000000149011612,)]


def test_select_without_from(conn, db_name):
    """SELECT without FROM: constants (BIGINT), database(), server_version(), now()."""
    assert fetch(conn, "SELECT 1") == [(1,)] and describe(conn, "SELECT 1")[0][1] == 5
    assert fetch(conn, "SELECT database()") == [(db_name,)]
    assert str(fetch(conn, "SELECT server_version()")[0][0]).startswith("3.")
    now = fetch(conn, "SELECT now()")[0][0]
    assert abs((now - datetime.now(UTC)).total_seconds()) < 5


def test_select_distinct_columns(nums):
    """SELECT DISTINCT col[, col]: one row per distinct combination (NULL is a value), ordered
    here by ORDER BY; the result column keeps the column's name."""
    assert fetch(nums, "SELECT DISTINCT g FROM t ORDER BY g") == [("a",), ("b",)]
    nums.execute(f"INSERT INTO t VALUES ({T0 + 10}, 1, 'a', 9)")
    assert fetch(nums, "SELECT DISTINCT g, v FROM t WHERE v < 3 ORDER BY g, v") == [("a", 1), ("b", 2)]
    assert len(fetch(nums, "SELECT DISTINCT f FROM t")) == 8  # seven values and NULL
    assert describe(nums, "SELECT DISTINCT g FROM t")[0][0] == "g"


def test_distinct_tbname_and_tags_of_a_supertable(quotes):
    """SELECT DISTINCT tbname / tags FROM a supertable lists every subtable, also one without
    rows (TDengine answers it from the tags); a WHERE on tags filters them."""
    quotes.execute("CREATE TABLE s_none USING q TAGS ('NONE', 3)")
    assert sorted(fetch(quotes, "SELECT DISTINCT tbname FROM q")) == [("s_aapl",), ("s_msft",), ("s_none",)]
    assert fetch(quotes, "SELECT DISTINCT ex FROM q ORDER BY ex") == [(1,), (2,), (3,)]
    assert fetch(quotes, "SELECT DISTINCT sym FROM q WHERE ex > 1 ORDER BY sym") == [("MSFT",), ("NONE",)]
    assert fetch(quotes, "SELECT DISTINCT sym FROM q WHERE px > 11 ORDER BY sym") == [("AAPL",), ("MSFT",)]


def test_count_over_subquery(nums):
    """SELECT COUNT(*) FROM (subquery) counts the subquery's rows."""
    assert fetch(nums, "SELECT COUNT(*) FROM (SELECT v FROM t WHERE v > 2)") == [(4,)]


# ---------------------------------------------------------------- SHOW / DESCRIBE


def test_show_databases_includes_system_databases(conn, db_name):
    """SHOW DATABASES has a first column 'name' and lists the system databases and ours."""
    cols = describe(conn, "SHOW DATABASES")
    assert cols[0][0] == "name"
    names = [r[0] for r in fetch(conn, "SHOW DATABASES")]
    assert {"information_schema", "performance_schema", db_name} <= set(names)


def test_show_tables_and_stables(quotes, db_name):
    """SHOW TABLES lists normal and sub tables, SHOW STABLES supertables, also db-qualified."""
    quotes.execute("CREATE TABLE plain (ts TIMESTAMP, v INT)")
    assert sorted(r[0] for r in fetch(quotes, "SHOW TABLES")) == ["plain", "s_aapl", "s_msft"]
    assert [r[0] for r in fetch(quotes, f"SHOW {db_name}.STABLES")] == ["q"]


def test_describe_lists_columns_and_tags(quotes):
    """DESCRIBE gives field/type/length/note rows, note 'TAG' for tags."""
    cols = [c[0] for c in describe(quotes, "DESCRIBE q")]
    assert cols[:4] == ["field", "type", "length", "note"]
    rows = [tuple(r[:4]) for r in fetch(quotes, "DESCRIBE q")]
    assert rows == [("ts", "TIMESTAMP", 8, ""), ("px", "DOUBLE", 8, ""), ("vol", "INT", 4, ""),
                    ("sym", "VARCHAR", 8, "TAG"), ("ex", "INT", 4, "TAG")]


# ---------------------------------------------------------------- identifiers


def test_identifiers_fold_to_lower_case(conn):
    """Unquoted identifiers are case-insensitive: Foo/V name foo/v."""
    conn.execute("CREATE TABLE Foo (TS TIMESTAMP, V INT)")
    conn.execute(f"INSERT INTO FOO VALUES ({T0}, 1)")
    assert fetch(conn, "SELECT v FROM foo") == [(1,)]
    assert [d[0] for d in describe(conn, "SELECT * FROM fOO")] == ["ts", "v"]


def test_backticks_keep_case_and_allow_keywords(conn):
    """Backticked names keep their case and may be keywords (a column named `timestamp`)."""
    conn.execute("CREATE TABLE `Mixed` (ts TIMESTAMP, `timestamp` TIMESTAMP, `Value` INT)")
    conn.execute(f"INSERT INTO `Mixed` VALUES ({T0}, {T0 + 5}, 2)")
    assert fetch(conn, "SELECT `timestamp`, `Value` FROM `Mixed`") == [(at(T0 + 5), 2)]
    assert [d[0] for d in describe(conn, "SELECT * FROM `Mixed`")] == ["ts", "timestamp", "Value"]
    code, _, _ = td_error(conn.query, "SELECT * FROM Mixed")
    assert code == 0x2662


# ---------------------------------------------------------------- errors


def test_syntax_error_quotes_rest_of_sql(conn):
    """A syntax error is 0x2600 'syntax error near "<rest of the SQL>"', raised as QueryError."""
    code, message, exc = td_error(conn.query, "SELECT * FORM t")
    assert isinstance(exc, taosws.QueryError)
    assert (code, message) == (0x2600, 'syntax error near "FORM t"')


def test_unknown_table_database_and_no_database(td, conn):
    """Missing table 0x2662, missing database 0x0388, no database selected 0x2616."""
    code, message, _ = td_error(conn.query, "SELECT * FROM nope")
    assert (code, message) == (0x2662, "Fail to get table info, error: Table does not exist")
    assert td_error(conn.execute, "USE no_such_db_x")[0] == 0x0388
    bare = td.connect()
    try:
        assert td_error(bare.execute, "CREATE TABLE t (ts TIMESTAMP, v INT)")[0] == 0x2616
    finally:
        bare.close()


def test_invalid_column_name(conn):
    """Selecting an unknown column fails with 0x2602 'Invalid column name: <name>'."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    assert td_error(conn.query, "SELECT nope FROM t")[:2] == (0x2602, "Invalid column name: nope")


def test_already_exists_errors_and_if_not_exists(conn, db_name):
    """Existing table 0x0603, supertable 0x0360, database 0x0381; IF NOT EXISTS succeeds silently."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    conn.execute("CREATE STABLE st (ts TIMESTAMP, v INT) TAGS (a INT)")
    code, message, _ = td_error(conn.execute, "CREATE TABLE t (ts TIMESTAMP, v INT)")
    assert (code, message) == (0x0603, "Table already exists")
    code, message, _ = td_error(conn.execute, "CREATE STABLE st (ts TIMESTAMP, v INT) TAGS (a INT)")
    assert (code, message) == (0x0360, "STable already exists")
    assert td_error(conn.execute, f"CREATE DATABASE {db_name}")[:2] == (0x0381, "Database already exists")
    conn.execute("CREATE TABLE IF NOT EXISTS t (ts TIMESTAMP, v INT)")
    conn.execute(f"CREATE DATABASE IF NOT EXISTS {db_name} PRECISION 'ms' KEEP 3650 VGROUPS 2 BUFFER 64 "
                 "CACHEMODEL 'both' WAL_RETENTION_PERIOD 3600")


def test_first_column_must_be_timestamp(conn):
    """A table whose first column is not TIMESTAMP is refused (0x2641)."""
    code, message, _ = td_error(conn.execute, "CREATE TABLE t (v INT, ts TIMESTAMP)")
    assert (code, message) == (0x2641, "First column must be timestamp")


def test_drop_table_stable_and_database(td, conn, db_name):
    """DROP TABLE/STABLE/DATABASE remove the object; IF EXISTS tolerates a missing one."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, v INT)")
    conn.execute("CREATE STABLE st (ts TIMESTAMP, v INT) TAGS (a INT)")
    conn.execute("CREATE TABLE sub USING st TAGS (1)")
    conn.execute("DROP TABLE t")
    conn.execute("DROP STABLE st")
    conn.execute("DROP TABLE IF EXISTS t")
    assert td_error(conn.query, "SELECT * FROM t")[0] == 0x2662
    assert td_error(conn.query, "SELECT * FROM sub")[0] == 0x2662
    other = td.connect()
    try:
        other.execute(f"DROP DATABASE {db_name}")
        other.execute(f"DROP DATABASE IF EXISTS {db_name}")
        assert td_error(other.execute, f"USE {db_name}")[0] == 0x0388
    finally:
        other.close()


# ---------------------------------------------------------------- prepared statements


def test_stmt2_rejects_bound_type_that_differs_from_column(conn):
    """stmt2 refuses a signed INT bound to an INT UNSIGNED column (column type mis-match, 0x0200)."""
    conn.execute("CREATE TABLE u (ts TIMESTAMP, v INT UNSIGNED)")
    stmt = conn.stmt2_statement()
    stmt.prepare("INSERT INTO u VALUES (?, ?)")
    params = taosws.stmt2_bind_param_view(table_name=None, tags=None, columns=[
        taosws.millis_timestamps_to_column([T0]), taosws.ints_to_column([-1])])
    with pytest.raises(taosws.Error) as info:
        stmt.bind([params])
        stmt.execute()
    assert "0x0200" in info.value.args[0] and "mis-match" in info.value.args[0]
    assert fetch(conn, "SELECT COUNT(*) FROM u") == [(0,)]


def test_stmt_v1_reinterprets_same_width_values(conn):
    """stmt v1 (taosAdapter) re-reads bound bytes as the declared type: INT -1 into INT UNSIGNED."""
    conn.execute("CREATE TABLE u (ts TIMESTAMP, v INT UNSIGNED)")
    stmt = conn.statement()
    stmt.prepare("INSERT INTO u VALUES (?, ?)")
    stmt.bind_param([taosws.millis_timestamps_to_column([T0]), taosws.ints_to_column([-1])])
    stmt.add_batch()
    stmt.execute()
    assert fetch(conn, "SELECT v FROM u") == [(4294967295,)]


def test_wall_clock_sanity():
    """The NOW tests above assume this process's clock moves forward (guards a frozen-clock CI)."""
    first = time.time()
    time.sleep(0.01)
    assert time.time() > first


def test_cast_timestamp_to_bigint_gives_raw_ticks(conn):
    """Guards CAST, which the demo's reader uses to get timestamps as integers in the database
    precision (independent of the client's timezone formatting)."""
    conn.execute("CREATE TABLE tc (ts TIMESTAMP, f FLOAT, n INT)")
    conn.execute(f"INSERT INTO tc VALUES ({T0 + 7}, 2.75, 41)")
    assert fetch(conn, "SELECT CAST(ts AS BIGINT), CAST(f AS INT), CAST(n AS DOUBLE) FROM tc") == [
        (T0 + 7, 2, 41.0)]
    assert [d[1] for d in describe(conn, "SELECT CAST(ts AS BIGINT), CAST(n AS DOUBLE) FROM tc")] == [5, 7]
