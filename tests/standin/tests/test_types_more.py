"""DECIMAL, BLOB and DESCRIBE's spelling of every type, through the real taosws client (0.7.0).

The live server builds its columns from DESCRIBE (type text, length, note 'TAG'), so these guard
the text TDengine prints (``command.c``: bare type names, ``DECIMAL(p, s)``) and that the client
can decode the values: taosws 0.7.0 turns DECIMAL into ``decimal.Decimal`` (it reads the scale
from the block's column schema) and BLOB into ``bytes``. DECIMAL needs TDengine 3.3.6+, BLOB
3.3.7+: against an older real server these tests fail at CREATE. They cannot prove TDengine's
rounding or overflow rules for DECIMAL (not exercised here).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.standin.tests.test_sql import describe, fetch, td_error

T0 = 1_700_000_000_000


@pytest.fixture
def conn(open_db):
    return open_db(timezone="UTC")


def test_describe_spells_types_as_tdengine(conn):
    """DESCRIBE's type column: INT UNSIGNED, BIGINT UNSIGNED, VARCHAR (for BINARY too), NCHAR,
    TIMESTAMP ...; length n for strings (NCHAR in characters); note 'TAG' on tags only."""
    conn.execute("CREATE STABLE st (ts TIMESTAMP, a INT UNSIGNED, b BIGINT UNSIGNED, c BINARY(10), "
                 "d NCHAR(5), e TINYINT UNSIGNED, f SMALLINT UNSIGNED, g BOOL, h FLOAT, i VARBINARY(6), "
                 "j TIMESTAMP) TAGS (t1 VARCHAR(3), t2 JSON)")
    rows = [tuple(r[:4]) for r in fetch(conn, "DESCRIBE st")]
    assert rows == [
        ("ts", "TIMESTAMP", 8, ""), ("a", "INT UNSIGNED", 4, ""), ("b", "BIGINT UNSIGNED", 8, ""),
        ("c", "VARCHAR", 10, ""), ("d", "NCHAR", 5, ""), ("e", "TINYINT UNSIGNED", 1, ""),
        ("f", "SMALLINT UNSIGNED", 2, ""), ("g", "BOOL", 1, ""), ("h", "FLOAT", 4, ""),
        ("i", "VARBINARY", 6, ""), ("j", "TIMESTAMP", 8, ""), ("t1", "VARCHAR", 3, "TAG"),
        ("t2", "JSON", 4095, "TAG")]


def test_decimal_columns_describe_insert_select(conn):
    """DECIMAL(p, s): DESCRIBE shows 'DECIMAL(p, s)' with length 8 (p <= 18) or 16; SQL literals
    (string, integer, float) are stored at the column's scale and come back as Decimal."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, small DECIMAL(10, 2), big DECIMAL(30, 6))")
    rows = [tuple(r[:3]) for r in fetch(conn, "DESCRIBE t")][1:]
    assert rows == [("small", "DECIMAL(10, 2)", 8), ("big", "DECIMAL(30, 6)", 16)]
    conn.execute(f"INSERT INTO t VALUES ({T0}, '12345678.91', '-123456789012345678901234.000001') "
                 f"({T0 + 1}, 7, 0.5) ({T0 + 2}, NULL, NULL)")
    assert fetch(conn, "SELECT small, big FROM t") == [
        (Decimal("12345678.91"), Decimal("-123456789012345678901234.000001")),
        (Decimal("7.00"), Decimal("0.500000")), (None, None)]
    assert fetch(conn, f"SELECT big FROM t WHERE ts = {T0 + 1}")[0][0].as_tuple().exponent == -6


def test_sum_of_a_decimal_is_an_exact_decimal(conn):
    """SUM(DECIMAL(p, s)) is DECIMAL(38, s) in TDengine's manual, added exactly: the rollups sum
    DECIMAL columns (found when the stand-in typed it BIGINT and failed to encode 2.50)."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, d DECIMAL(10, 2))")
    conn.execute(f"INSERT INTO t VALUES ({T0}, '0.10') ({T0 + 1}, '0.20') ({T0 + 2}, NULL) ({T0 + 1000}, 7)")
    assert fetch(conn, "SELECT SUM(d) FROM t INTERVAL(1s)") == [(Decimal("0.30"),), (Decimal("7.00"),)]


def test_decimal_is_not_a_tag_type(conn):
    """TDengine 3.3.6 allows DECIMAL for columns only: as a tag it is a syntax error (0x2600)."""
    code, _, _ = td_error(conn.execute, "CREATE STABLE st (ts TIMESTAMP, v INT) TAGS (d DECIMAL(10, 2))")
    assert code == 0x2600


def test_blob_column_describe_insert_select(conn):
    """BLOB: DESCRIBE type 'BLOB'; a string literal is stored as its bytes, a '\\x..' literal as
    the bytes it spells; values come back as bytes."""
    conn.execute("CREATE TABLE t (ts TIMESTAMP, b BLOB)")
    assert [r[1] for r in fetch(conn, "DESCRIBE t")] == ["TIMESTAMP", "BLOB"]
    conn.execute(f"INSERT INTO t VALUES ({T0}, 'hello') ({T0 + 1}, '\\\\x00ff10') ({T0 + 2}, NULL)")
    assert fetch(conn, "SELECT b FROM t") == [(b"hello",), (b"\x00\xff\x10",), (None,)]
    assert describe(conn, "SELECT b FROM t")[0][:2] == ("b", 18)
