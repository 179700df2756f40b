"""The trades data model, in TDengine and in Perspective.

Why a supertable with one subtable per ticker, in a microsecond database: in TDengine the
first TIMESTAMP column is each table's primary key, and a row written with a timestamp that
already exists *replaces* the old row without an error. The original demo stamped a whole batch
with one ``datetime.now()`` in a millisecond database, so most of every batch silently vanished. Here
the producer gives every row its own strictly increasing microsecond timestamp (see
``dataset.MonotonicClock``), so no two rows share a key in any subtable, at up to a million rows
per second per producer. One subtable per ticker is TDengine's recommended layout (one table per
data source) and keeps per-ticker queries cheap; ``ticker`` is the tag.
"""

from __future__ import annotations

from tdpersp.core import dataset
from tdpersp.core.tdsql import quote

PRECISION = "us"

# The original demo's columns, in order. `timestamp` and `date` are keywords, hence always backticked.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("timestamp", "TIMESTAMP"),
    ("client", "NCHAR(10)"),
    ("open", "FLOAT"),
    ("high", "FLOAT"),
    ("low", "FLOAT"),
    ("close", "FLOAT"),
    ("volume", "INT UNSIGNED"),
    ("date", "TIMESTAMP"),
)
TAGS: tuple[tuple[str, str], ...] = (("ticker", "NCHAR(10)"),)

def create_database_sql(database: str, replica: int | None = None) -> str:
    """The database every dataset's producer creates (one that exists keeps its precision and
    replicas); no REPLICA leaves TDengine's default (1)."""
    sql = f"CREATE DATABASE IF NOT EXISTS {quote(database)} PRECISION '{PRECISION}'"
    return sql if replica is None else f"{sql} REPLICA {replica}"


def create_stable_sql(database: str, table: str) -> str:
    return dataset.create_stable_sql(database, table, COLUMNS, TAGS)


def insert_sql(database: str, table: str) -> str:
    """The prepared INSERT: subtable name and tag bound per ticker, created on first use."""
    return dataset.insert_sql(database, table, COLUMNS, TAGS)


def subtable_name(table: str, ticker: str) -> str:
    """`stocks_values` + `AAPL.N` -> `stocks_values_aapl_n` (a plain identifier)."""
    cleaned = "".join(c if c.isalnum() else "_" for c in ticker.lower())
    return f"{table}_{cleaned}"
