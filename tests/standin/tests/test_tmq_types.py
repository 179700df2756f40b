"""Every column type through a topic, decoded by the real ``taosws.Consumer`` (raw data, §11).

The consumer's rows are compared with what a SELECT of the same columns returns over the same
client: both paths decode raw blocks, but a topic's come wrapped in TDengine's poll-response
encoding (offsets, per-block schema, table name), which is what these tests guard. Each case also
runs against real TDengine when TDENGINE_TEST_URL is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import TDTarget
from tests.standin.tests.test_tmq import consumer, drop_topic, read

COLUMNS = ("ts TIMESTAMP, b BOOL, i8 TINYINT, i16 SMALLINT, i32 INT, i64 BIGINT, u8 TINYINT UNSIGNED, "
           "u16 SMALLINT UNSIGNED, u32 INT UNSIGNED, u64 BIGINT UNSIGNED, f FLOAT, d DOUBLE, "
           "vc VARCHAR(12), nc NCHAR(6), vb VARBINARY(8)")
SELECTED = "ts, b, i8, i16, i32, i64, u8, u16, u32, u64, f, d, vc, nc, vb, tbname, tk"
ROWS = [
    # extremes of each type, multi-byte text (NCHAR travels as UTF-32)
    "(1000, true, -128, -32768, -2147483648, -9223372036854775807, 254, 65534, 4294967294, "
    "18446744073709551614, 1.5, -2.25, 'plain', '价格€é', 'raw')",
    # every column but the timestamp NULL: the null bitmaps and -1 offsets
    "(2000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    # empty strings are values, not NULLs
    "(3000, false, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '')",
]


UNITS = {"ms": timedelta(milliseconds=1), "us": timedelta(microseconds=1)}


def epoch_units(when: datetime | int, precision: str) -> int:
    """The consumer's timestamp as an integer in the database's precision, as CAST(ts AS BIGINT)
    gives it (SELECT returns timestamps as strings; the consumer as datetimes, or as integers in
    ns databases, which datetime cannot hold)."""
    if isinstance(when, int):
        return when
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // UNITS[precision]


@pytest.fixture(params=["ms", "us", "ns"])
def typed(request: pytest.FixtureRequest, td: TDTarget, db_name: str) -> Iterator[tuple[Any, str, str, str]]:
    """Supertable ``st`` of every type in a database of the given precision, rows in two child
    tables, a topic over it; yields (connection, topic, database)."""
    conn = td.connect()
    conn.execute(f"CREATE DATABASE {db_name} PRECISION '{request.param}'")
    conn.execute(f"CREATE STABLE {db_name}.st ({COLUMNS}) TAGS (tk NCHAR(8))")
    for table, tag in (("a", "甲"), ("b", "B")):
        conn.execute(f"INSERT INTO {db_name}.{table} USING {db_name}.st TAGS ('{tag}') "
                     f"VALUES {' '.join(ROWS)}")
    topic = f"ty_{db_name}"
    conn.execute(f"CREATE TOPIC {topic} AS SELECT {SELECTED} FROM {db_name}.st")
    yield conn, topic, db_name, request.param
    drop_topic(conn, topic)
    conn.close()


def test_every_type_reads_as_select_returns_it(td: TDTarget, typed: tuple[Any, str, str, str]) -> None:
    """Guards the raw data of a poll for every column type, NULLs, empty strings, extremes,
    non-ASCII NCHAR, tags and ``tbname``, in ms, µs and ns databases: the consumer's rows are the
    SELECT's rows. It cannot catch an error both paths share (the block encoder is the same)."""
    conn, topic, db, precision = typed
    expected = sorted(conn.query(f"SELECT CAST(ts AS BIGINT), {SELECTED[4:]} FROM {db}.st"), key=repr)
    assert len(expected) == 2 * len(ROWS)
    with consumer(td, topic, "g_types") as c:
        got = sorted(((epoch_units(row[0], precision), *row[1:]) for row in read(c, len(expected))), key=repr)
    assert got == expected
    assert sorted(row[0] for row in got if row[-2] == "a") == [1000, 2000, 3000]
