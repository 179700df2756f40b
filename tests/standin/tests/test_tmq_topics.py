"""CREATE TOPIC refuses a query TDengine's parser refuses, with its code (through real ``taosws``).

Each case also runs against real TDengine when TDENGINE_TEST_URL is set.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import taosws

from tests.conftest import TDTarget

# (what is wrong, the topic's FROM and select list, TDengine's code)
BAD_SOURCES = [
    ("missing database", "ts FROM {db}_nope.st", "0x0388"),  # TSDB_CODE_MND_DB_NOT_EXIST
    ("missing table", "ts FROM {db}.nope", "0x2662"),  # TSDB_CODE_PAR_GET_META_ERROR: table does not exist
    ("missing column", "nope FROM {db}.st", "0x2602"),  # TSDB_CODE_PAR_INVALID_COLUMN
    ("no database named or in use", "ts FROM st", "0x2616"),  # TSDB_CODE_PAR_DB_NOT_SPECIFIED
]


@pytest.fixture
def conn(td: TDTarget, db_name: str) -> Iterator[Any]:
    """A connection without a current database, and a database holding supertable ``st``."""
    conn = td.connect()
    conn.execute(f"CREATE DATABASE {db_name}")
    conn.execute(f"CREATE STABLE {db_name}.st (ts TIMESTAMP, v INT) TAGS (tk NCHAR(8))")
    yield conn
    conn.close()


@pytest.mark.parametrize(("wrong", "query", "code"), BAD_SOURCES, ids=[case[0] for case in BAD_SOURCES])
def test_a_topic_over_something_missing_is_refused(conn: Any, db_name: str, wrong: str, query: str,
                                                   code: str) -> None:
    """Guards the check of a topic's query at creation (a topic over a missing database, table or
    column, or an unqualified table with no database in use): refused with TDengine's code, and no
    topic is left behind."""
    topic = f"tb_{db_name}"
    with pytest.raises(taosws.QueryError, match=code):
        conn.execute(f"CREATE TOPIC {topic} AS SELECT {query.format(db=db_name)}")
    assert topic not in [row[0] for row in conn.query("SHOW TOPICS")], f"{wrong}: topic created anyway"
