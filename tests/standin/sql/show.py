"""SHOW DATABASES / TABLES / STABLES / CREATE TABLE and DESCRIBE result sets.

Column sets follow TDengine 3.3 where it was cheap (DESCRIBE has the 3.3 compression columns,
see ``source/libs/command/src/command.c``); SHOW DATABASES returns a subset of TDengine's many
columns (see README).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import types as T
from ..api import Field, ResultSet
from .catalog import SYSTEM_DATABASES, Catalog, Column, Table


def _field(name: str, td_type: T.TDType, length: int | None = None) -> Field:
    length = td_type.size if length is None else length
    return Field(name, td_type.code, length, T.internal_width(td_type, length))


_DB_FIELDS = [
    _field("name", T.VARCHAR, 64), _field("create_time", T.TIMESTAMP), _field("vgroups", T.SMALLINT),
    _field("ntables", T.BIGINT), _field("replica", T.TINYINT), _field("strict", T.VARCHAR, 4),
    _field("duration", T.VARCHAR, 10), _field("keep", T.VARCHAR, 32), _field("buffer", T.INT),
    _field("pagesize", T.INT), _field("pages", T.INT), _field("minrows", T.INT), _field("maxrows", T.INT),
    _field("comp", T.TINYINT), _field("precision", T.VARCHAR, 2), _field("status", T.VARCHAR, 10),
]
_DESCRIBE_FIELDS = [
    _field("field", T.VARCHAR, 64), _field("type", T.VARCHAR, 20), _field("length", T.INT),
    _field("note", T.VARCHAR, 16), _field("encode", T.VARCHAR, 12), _field("compress", T.VARCHAR, 12),
    _field("level", T.VARCHAR, 12),
]
_DEFAULT_ENCODE = {T.TIMESTAMP.code: "delta-i", T.BOOL.code: "bit-packing", T.FLOAT.code: "delta-d",
                   T.DOUBLE.code: "delta-d"}


def show_databases(catalog: Catalog) -> ResultSet:
    rows: list[tuple[Any, ...]] = [(name,) + (None,) * (len(_DB_FIELDS) - 2) + ("ready",)
                                   for name in SYSTEM_DATABASES]
    for db in catalog.databases.values():
        ntables = sum(1 for t in db.tables.values() if t.kind != "super")
        rows.append((db.name, db.created, 2, ntables, 1, "off", "10d", "3650d,3650d,3650d", 256, 4, 256,
                     100, 4096, 2, db.precision, "ready"))
    return ResultSet(list(_DB_FIELDS), rows)


def show_tables(catalog: Catalog, db: str | None, stables: bool) -> ResultSet:
    database = catalog.database(db)
    wanted = ("super",) if stables else ("normal", "child")
    names = sorted(t.name for t in database.tables.values() if t.kind in wanted)
    field = _field("stable_name" if stables else "table_name", T.VARCHAR, 192)
    return ResultSet([field], [(n,) for n in names])


def _describe_type(column: Column) -> str:
    """DESCRIBE's type: the bare name (``INT UNSIGNED``, ``VARCHAR``), ``DECIMAL(p, s)`` for a
    decimal (command.c's setDescResultIntoDataBlock prints "%s(%hhu, %hhu)")."""
    if column.type in T.DECIMAL_TYPES:
        return f"DECIMAL({column.precision}, {column.scale})"
    return column.type.name


def _describe_row(column: Column, tag: bool) -> tuple[Any, ...]:
    if tag:
        encode = compress = level = "disabled"
    else:
        compress, level = "lz4", "medium"
        plain = column.type.variable or column.type in T.DECIMAL_TYPES
        encode = "disabled" if plain else _DEFAULT_ENCODE.get(column.type.code, "simple8b")
    return (column.name, _describe_type(column), column.length, "TAG" if tag else "", encode, compress, level)


def describe(table: Table) -> ResultSet:
    rows = [_describe_row(c, False) for c in table.columns]
    rows += [_describe_row(c, True) for c in table.tags]
    return ResultSet(list(_DESCRIBE_FIELDS), rows)


def _type_text(column: Column) -> str:
    if column.type in (T.VARCHAR, T.NCHAR, T.VARBINARY, T.GEOMETRY):
        return f"{column.type.name}({column.length})"
    return _describe_type(column)


def _defs(columns: list[Column]) -> str:
    return ", ".join(f"`{c.name}` {_type_text(c)}" for c in columns)


def show_create_table(table: Table, tag_values: tuple[Any, ...] | None) -> ResultSet:
    if table.kind == "super":
        text = f"CREATE STABLE `{table.name}` ({_defs(table.columns)}) TAGS ({_defs(table.tags)})"
    elif table.kind == "child" and table.stable is not None:
        names = ", ".join(f"`{c.name}`" for c in table.tags)
        values = ", ".join("NULL" if v is None else repr(v) for v in (tag_values or ()))
        text = f"CREATE TABLE `{table.name}` USING `{table.stable.name}` ({names}) TAGS ({values})"
    else:
        text = f"CREATE TABLE `{table.name}` ({_defs(table.columns)})"
    fields = [_field("Table", T.VARCHAR, 192), _field("Create Table", T.VARCHAR, max(len(text), 1))]
    return ResultSet(fields, [(table.name, text)])


_TOPIC_FIELDS = [
    _field("topic_name", T.VARCHAR, 192), _field("db_name", T.VARCHAR, 64),
    _field("create_time", T.TIMESTAMP), _field("sql", T.VARCHAR, 1024), _field("type", T.VARCHAR, 64),
]


def show_topics(topics: Iterable[Any]) -> ResultSet:
    """SHOW TOPICS: a subset of TDengine's columns (query topics only, so type is COLUMN)."""
    rows = [(t.name, t.db, t.created, t.sql, "COLUMN") for t in topics]
    return ResultSet(list(_TOPIC_FIELDS), rows, "ms")
