"""Row storage in one in-memory sqlite database.

All writes go through :meth:`Store.write` (one ``executemany`` per table per batch) so a later
TMQ implementation can observe every written row, in order, by adding a listener.
``INSERT OR REPLACE`` keyed on the timestamp keeps the *last* of duplicate timestamps, which is
TDengine's overwrite rule; a column list that leaves columns out becomes an UPSERT so the
omitted columns keep their old values (TDengine's NONE, as opposed to an explicit NULL).
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from .. import types as T
from .catalog import Column, Table

Listener = Callable[[Table, list[Column], Sequence[tuple[Any, ...]]], None]
Convert = Callable[[list[tuple[Any, ...]]], list[tuple[Any, ...]]]  # applied to each chunk of rows

_AFFINITY = {T.FLOAT.code: "REAL", T.DOUBLE.code: "REAL", T.VARCHAR.code: "TEXT", T.NCHAR.code: "TEXT",
             T.JSON.code: "TEXT", T.VARBINARY.code: "BLOB", T.GEOMETRY.code: "BLOB", T.BLOB.code: "BLOB",
             T.DECIMAL.code: "TEXT", T.DECIMAL64.code: "TEXT"}  # DECIMAL as its text (see values.py)


def affinity(column: Column) -> str:
    return _AFFINITY.get(column.type.code, "INTEGER")


class _Aggregate:
    """FIRST/LAST: the value at the smallest/largest timestamp, NULL values ignored."""

    later: bool = False

    def __init__(self) -> None:
        self.ts: int | None = None
        self.value: Any = None

    def step(self, ts: int, value: Any) -> None:
        if value is None or ts is None:
            return
        if self.ts is None or (ts >= self.ts if self.later else ts < self.ts):
            self.ts, self.value = ts, value

    def finalize(self) -> Any:
        return self.value


class _Last(_Aggregate):
    later = True


class _DecimalSum:
    """SUM of a DECIMAL column, exact: its values are stored as text (sqlite's SUM would add floats)."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: str | None) -> None:
        if value is not None:
            self.total = Decimal(value) + (self.total or 0)

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


class _StdDev:
    """STDDEV: population standard deviation (Welford's update keeps it accurate); NULLs ignored."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def step(self, value: Any) -> None:
        if value is None:
            return
        self.n += 1
        delta = value - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (value - self.mean)

    def finalize(self) -> float | None:
        return (self.m2 / self.n) ** 0.5 if self.n else None


class Store:
    def __init__(self) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA case_sensitive_like = ON")
        self.conn.execute("PRAGMA journal_mode = OFF")  # TDengine's LIKE is case-sensitive
        self.conn.create_aggregate("td_first", 2, _Aggregate)
        self.conn.create_aggregate("td_last", 2, _Last)
        self.conn.create_aggregate("td_stddev", 1, _StdDev)
        self.conn.create_aggregate("td_decimal_sum", 1, _DecimalSum)
        self.listeners: list[Listener] = []
        self._open_streams: weakref.WeakSet[SqliteRows] = weakref.WeakSet()

    # ------------------------------------------------------------ DDL

    def create(self, table: Table) -> None:
        """Create the sqlite tables behind a normal table or a supertable."""
        self._settle_streams()
        cols = [f"{c.sql} {affinity(c)}" for c in table.columns[1:]]
        if table.kind == "normal":
            defs = [f"{table.ts.sql} INTEGER PRIMARY KEY", *cols]
            self.conn.execute(f'CREATE TABLE "{table.store}" ({", ".join(defs)})')
            return
        defs = ["_tid INTEGER NOT NULL", f"{table.ts.sql} INTEGER NOT NULL", *cols,
                f"PRIMARY KEY (_tid, {table.ts.sql})"]
        self.conn.execute(f'CREATE TABLE "{table.store}" ({", ".join(defs)}) WITHOUT ROWID')
        # For ORDER BY the timestamp across subtables (see compile._ordered_by_time).
        self.conn.execute(f'CREATE INDEX "{table.store}_ts" ON "{table.store}" ({table.ts.sql})')
        tags = [f"{c.sql} {affinity(c)}" for c in table.tags]
        self.conn.execute(
            f'CREATE TABLE "{table.tag_store}" (_tid INTEGER PRIMARY KEY, _tbname TEXT, {", ".join(tags)})')

    def add_child(self, child: Table, tag_values: Sequence[Any]) -> None:
        self._settle_streams()
        tags = child.tags
        names = ", ".join(c.sql for c in tags)
        marks = ", ".join("?" for _ in tags)
        self.conn.execute(f'INSERT INTO "{child.tag_store}" (_tid, _tbname, {names}) VALUES (?, ?, {marks})',
                          (child.tid, child.name, *tag_values))

    def add_column(self, table: Table, column: Column, tag: bool) -> None:
        """A new column (or tag) of a normal/super table: sqlite gives existing rows NULL, as
        TDengine reads them. Dropped columns stay in sqlite unnamed by the catalog (README)."""
        self._settle_streams()
        target = table.tag_store if tag else table.store
        self.conn.execute(f'ALTER TABLE "{target}" ADD COLUMN {column.sql} {affinity(column)}')

    def drop(self, table: Table) -> None:
        self._settle_streams()
        if table.kind == "child":
            self.conn.execute(f'DELETE FROM "{table.store}" WHERE _tid = ?', (table.tid,))
            self.conn.execute(f'DELETE FROM "{table.tag_store}" WHERE _tid = ?', (table.tid,))
            return
        self.conn.execute(f'DROP TABLE IF EXISTS "{table.store}"')
        if table.tag_store:
            self.conn.execute(f'DROP TABLE IF EXISTS "{table.tag_store}"')

    # ------------------------------------------------------------ DML

    def write(self, table: Table, columns: list[Column], rows: Sequence[tuple[Any, ...]]) -> int:
        """Write ``rows`` (values in ``columns`` order, first column the timestamp) to ``table``."""
        if not rows:
            return 0
        self._settle_streams()
        with self.conn:  # one transaction per batch: far faster than one per row in autocommit
            self.conn.execute("BEGIN")
            self.conn.executemany(self._insert_sql(table, columns), rows)
        for listener in self.listeners:
            listener(table, columns, rows)
        return len(rows)

    def _insert_sql(self, table: Table, columns: list[Column]) -> str:
        names = [c.sql for c in columns]
        marks = ["?"] * len(columns)
        key = [table.ts.sql]
        if table.kind == "child":
            names.insert(0, "_tid")
            marks.insert(0, str(int(table.tid or 0)))
            key.insert(0, "_tid")
        target = f'"{table.store}" ({", ".join(names)}) VALUES ({", ".join(marks)})'
        if len(columns) == len(table.columns):
            return f"INSERT OR REPLACE INTO {target}"
        updates = ", ".join(f"{c.sql} = excluded.{c.sql}" for c in columns[1:])
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        return f"INSERT INTO {target} ON CONFLICT ({', '.join(key)}) {action}"

    def query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return self.conn.execute(sql, params).fetchall()

    def stream(self, sql: str, params: Sequence[Any], convert: Convert | None) -> SqliteRows:
        """Rows read from sqlite chunk by chunk, as the client fetches them."""
        rows = SqliteRows(self.conn.execute(sql, params), convert)
        self._open_streams.add(rows)
        return rows

    def _settle_streams(self) -> None:
        """Read open streams to the end before a change: sqlite must not alter (or drop) a table
        under an unfinished SELECT, and a result shows the data as it was when queried."""
        for rows in list(self._open_streams):
            rows.settle()
        self._open_streams.clear()


class SqliteRows:
    """A sqlite cursor as a RowStream (see tests.standin.api)."""

    def __init__(self, cursor: sqlite3.Cursor, convert: Convert | None) -> None:
        self._cursor: sqlite3.Cursor | None = cursor
        self._convert = convert
        self._rest: list[tuple[Any, ...]] = []  # rows read ahead by settle()
        self._rest_pos = 0

    def take(self, n: int) -> list[tuple[Any, ...]]:
        if self._rest_pos < len(self._rest):
            chunk = self._rest[self._rest_pos:self._rest_pos + n]
            self._rest_pos += len(chunk)
            return chunk
        if self._cursor is None:
            return []
        chunk = self._cursor.fetchmany(n)
        if not chunk:
            self._cursor = None
        return self._convert(chunk) if self._convert and chunk else chunk

    def settle(self) -> None:
        if self._cursor is not None:
            rest = self._cursor.fetchall()
            self._rest += self._convert(rest) if self._convert and rest else rest
            self._cursor = None
