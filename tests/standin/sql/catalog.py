"""Databases, tables, supertables, columns and tags: the stand-in's metadata.

Every table also records where its rows live in sqlite (``store``): a normal table has its own
sqlite table; a supertable has one data table shared by all its subtables (keyed by subtable id
``tid`` + timestamp) and one tag table (one row per subtable).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .. import types as T
from ..errors import DB_ALREADY_EXIST, TDError, db_not_exist, db_not_specified, table_not_exist
from . import ast as A

SYSTEM_DATABASES = ("information_schema", "performance_schema")


@dataclass
class Column:
    name: str
    type: T.TDType
    length: int  # n of VARCHAR(n)/NCHAR(n)/VARBINARY(n); the type size otherwise
    sql: str  # column name inside sqlite
    precision: int = 0  # DECIMAL(precision, scale); 0 for other types
    scale: int = 0

    @property
    def width(self) -> int:
        return T.internal_width(self.type, self.length, self.precision, self.scale)


def column_from(definition: A.ColumnDef, sql: str) -> Column:
    """The catalog's column for a parsed definition, stored under sqlite name ``sql``."""
    return Column(definition.name, definition.type, definition.length, sql, definition.precision,
                  definition.scale)


@dataclass
class Table:
    db: str
    name: str
    kind: str  # normal, super, child
    columns: list[Column]
    tags: list[Column]
    store: str  # sqlite data table (a child uses its supertable's)
    tag_store: str | None = None  # sqlite tag table of a supertable (and of its children)
    stable: Table | None = None  # a child's supertable
    tid: int | None = None  # a child's id inside the supertable's data table
    created: int = field(default_factory=lambda: time.time_ns() // 1_000_000)

    @property
    def ts(self) -> Column:
        return self.columns[0]


@dataclass
class Database:
    name: str
    precision: str
    tables: dict[str, Table] = field(default_factory=dict)
    created: int = field(default_factory=lambda: time.time_ns() // 1_000_000)


class Catalog:
    """Name lookups with TDengine's errors; knows nothing of sqlite beyond the names it hands out."""

    def __init__(self) -> None:
        self.databases: dict[str, Database] = {}
        self._counter = 0

    def new_store_name(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def add_database(self, name: str, precision: str, if_not_exists: bool) -> None:
        if name in self.databases or name in SYSTEM_DATABASES:
            if if_not_exists:
                return
            raise TDError(DB_ALREADY_EXIST, "Database already exists")
        self.databases[name] = Database(name, precision)

    def database(self, name: str | None) -> Database:
        if name is None:
            raise db_not_specified()
        db = self.databases.get(name)
        if db is None:
            raise db_not_exist()
        return db

    def find(self, db: str | None, name: str) -> Table | None:
        return self.database(db).tables.get(name)

    def table(self, db: str | None, name: str) -> Table:
        table = self.find(db, name)
        if table is None:
            raise table_not_exist()
        return table
