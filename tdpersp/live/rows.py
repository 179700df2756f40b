"""The rows the live sources read: one SELECT, the tuple it returns, and the key of a row.

The poll reader's queries and the subscription's topic both use `select_sql`, so both sources
deliver the same tuples in the same order.
"""

from __future__ import annotations

from typing import Any

from tdpersp.core.tdsql import table_ref

Row = tuple[Any, ...]  # (ts, tbname, ticker, client, open, high, low, close, volume, date)
TS, TBNAME = 0, 1
Key = tuple[str, int]  # (subtable, timestamp): unique in TDengine, so a row's identity

# Timestamps come back as integers (in the database precision) through CAST, which avoids the
# client's timezone-dependent string formatting.
_COLUMNS = ("CAST(`timestamp` AS BIGINT), tbname, ticker, client, `open`, high, low, `close`, volume, "
            "CAST(`date` AS BIGINT)")


def select_sql(database: str, table: str) -> str:
    """`SELECT <the row's columns> FROM db.table`, to which a WHERE / ORDER BY may be appended."""
    return f"SELECT {_COLUMNS} FROM {table_ref(database, table)}"


def key(row: Row) -> Key:
    return row[TBNAME], row[TS]


def keys(rows: list[Row]) -> set[Key]:
    return {key(row) for row in rows}
