"""A topic's query applied to the rows of one WAL entry, by sqlite.

The topic's SELECT is compiled as for a normal query, then pointed at a scratch table that holds
only the entry's rows: the same SQL semantics as SELECT (projections, CAST, tags and ``tbname``
through the tag table, WHERE), with no second evaluator to keep in step with the compiler.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from ..api import ResultSet
from .catalog import Catalog, Column, Table
from .compile import Compiled, SelectCompiler, convert_row
from .store import Store
from .topics import Topic


class TopicRows:
    def __init__(self, catalog: Catalog, store: Store) -> None:
        self.catalog = catalog
        self.store = store
        self._compiled: dict[tuple[str, str], tuple[Compiled, str]] = {}

    def __call__(self, topic: Topic, table: Table, columns: Sequence[Column],
                 rows: list[tuple[Any, ...]]) -> ResultSet:
        compiled, sql = self._compile(topic, table.store)
        scratch = _scratch(table.store)
        conn = self.store.conn
        # Columns by name: an entry written before an ALTER TABLE has the columns of its time.
        names = [c.sql for c in columns]
        values = rows
        if table.kind == "child":
            names.insert(0, "_tid")
            values = [(table.tid, *row) for row in rows]
        insert = f"INSERT INTO {scratch} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        # One transaction: in autocommit mode every scratch row would be a transaction of its own
        # (the topic's read cost about 8 µs a row that way, 5 times the store's own insert).
        with conn:
            conn.execute("BEGIN")
            conn.executemany(insert, values)
            result = conn.execute(sql, compiled.params).fetchall()
            conn.execute(f"DELETE FROM {scratch}")
        converters = [(i, c) for i, c in enumerate(compiled.converters) if c is not None]
        if converters:
            result = [convert_row(row, converters) for row in result]
        return ResultSet(compiled.fields, result, compiled.precision)

    def _compile(self, topic: Topic, store: str) -> tuple[Compiled, str]:
        """Compiled once per topic and data table; the data table's name is swapped for the
        scratch table's (store names are generated, double-quoted, and appear nowhere else)."""
        key = (topic.name, store)
        if key not in self._compiled:
            compiled = SelectCompiler(self.catalog, topic.db, ZoneInfo("UTC")).compile(topic.query)
            self.store.conn.execute(
                f'CREATE TEMP TABLE IF NOT EXISTS {_scratch(store)} AS SELECT * FROM main."{store}" WHERE 0')
            self._compiled[key] = (compiled, compiled.sql.replace(f'"{store}"', _scratch(store)))
        return self._compiled[key]

    def forget(self, topic: str) -> None:
        for key in [k for k in self._compiled if k[0] == topic]:
            del self._compiled[key]

    def forget_store(self, store: str) -> None:
        """After an ALTER TABLE: compile again, over a scratch table with the new columns."""
        for key in [k for k in self._compiled if k[1] == store]:
            del self._compiled[key]
        self.store.conn.execute(f"DROP TABLE IF EXISTS {_scratch(store)}")


def _scratch(store: str) -> str:
    return f'temp."tmq_{store}"'
