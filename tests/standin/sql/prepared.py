"""Prepared statements: INSERT with ``?`` placeholders (stmt v1 / stmt2) and parameterised SELECT.

Inserts are resolved once at prepare time (target, tag and column placeholders); each batch is
then converted column-wise and written with one ``executemany`` per table, with no per-row SQL
parsing. Type handling differs by mode:

* ``v2`` (stmt2): TDengine's bind path rejects a bound type that differs from the declared one
  with ``column type mis-match with buffer type`` (0x0200) - strict equality, so TIMESTAMP bound
  as BIGINT (or the reverse) is rejected too; only a single-row NULL column skips the check.
* ``v1`` (stmt v1): taosAdapter re-reads the bound bytes as the declared type, so values of the
  same width are reinterpreted (-1 bound to INT UNSIGNED becomes 4294967295). A width mismatch
  makes the real adapter read wrong bytes; the stand-in raises 0x0200 instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import types as T
from ..api import BoundColumn, BoundTable, ResultSet, Session, StmtField
from ..errors import (
    ADAPTER_ERROR,
    ILLEGAL_COLUMN_COUNT,
    INVALID_SCHEMA_VER,
    TDError,
    stmt_error,
    table_not_exist,
)
from . import ast as A
from .catalog import Column, Table
from .parser import parse
from .values import bound_values

if TYPE_CHECKING:
    from .engine import Engine

TBNAME_WIDTH = 193  # TSDB_TABLE_NAME_LEN


def prepare(engine: Engine, session: Session, sql: str) -> PreparedInsert | PreparedQuery:
    stmt, count = parse(sql)
    if isinstance(stmt, A.Select):
        return PreparedQuery(engine, session, sql, count)
    if isinstance(stmt, A.Insert) and len(stmt.targets) == 1:
        return PreparedInsert(engine, session, stmt.targets[0], count)
    raise stmt_error("not supported stmt clause")


class PreparedQuery:
    is_insert = False

    def __init__(self, engine: Engine, session: Session, sql: str, count: int) -> None:
        self.engine, self.session, self.sql = engine, session, sql
        self.fields: list[StmtField] = []
        self.param_count = count

    def query(self, params: list[BoundColumn]) -> ResultSet:
        """Substitute the bound values as literals and run the query."""
        values = [p.values[0] if p.values else None for p in params]
        if len(values) != self.param_count:
            raise stmt_error("params number not match")
        stmt, _ = parse(self.sql, values)
        assert isinstance(stmt, A.Select)
        return self.engine.select(self.session, stmt)


class PreparedInsert:
    is_insert = True

    def __init__(self, engine: Engine, session: Session, target: A.InsertTarget, count: int) -> None:
        self.engine, self.session, self.target = engine, session, target
        self.param_count = count
        name = target.table if isinstance(target.table, A.Name) else None
        db_name = (name.db if name else None) or (target.using.db if target.using else None) or session.db
        self.database = engine.catalog.database(db_name)
        self.stable = engine.super_table(session, target.using) if target.using else None
        schema = self.stable or (engine.catalog.table(self.database.name, name.name) if name else None)
        if len(target.rows) != 1 or not all(isinstance(v, A.Param) for v in target.rows[0]):
            raise stmt_error("stmt values must all be placeholders")
        self.columns = _columns(schema, target.columns, len(target.rows[0]))
        self.tags = self._tag_columns()
        self.fields = self._fields(name is None)

    def _tag_columns(self) -> list[Column]:
        if self.stable is None:
            return []
        names = self.target.tag_names
        tags = self.stable.tags if names is None else [_find(self.stable.tags, n) for n in names]
        if len(tags) != len(self.target.tag_values):
            raise TDError(0x260D, "Tags number not matched")
        return tags

    def _fields(self, table_param: bool) -> list[StmtField]:
        precision = self.database.precision
        fields = []
        if table_param:
            fields.append(StmtField("tbname", T.VARCHAR.code, precision, 0, TBNAME_WIDTH, 4))
        for tag, node in zip(self.tags, self.target.tag_values):
            if isinstance(node, A.Param):
                fields.append(StmtField(tag.name, tag.type.code, precision, 0, tag.width, 2))
        for column in self.columns or []:
            fields.append(StmtField(column.name, column.type.code, precision, 0, column.width, 1))
        return fields

    # ------------------------------------------------------------ execution

    def insert(self, tables: list[BoundTable], mode: str) -> int:
        return sum(self._insert_one(bound, mode) for bound in tables)

    def _insert_one(self, bound: BoundTable, mode: str) -> int:
        table = self._table(bound, mode)
        self._check_schema(table)
        columns = self.columns if self.columns is not None else table.columns
        if len(bound.columns) != len(columns):
            if mode == "v1":
                raise TDError(ADAPTER_ERROR, "stmt column count not match")
            raise TDError(ILLEGAL_COLUMN_COUNT, "Illegal number of columns")
        converted = [bound_values(c, b.type, b.values, mode) for c, b in zip(columns, bound.columns)]
        if len({len(v) for v in converted}) > 1:
            raise stmt_error("row number in each bind param should be the same")
        if None in converted[columns.index(table.ts)]:
            raise stmt_error("primary timestamp should not be NULL")
        return self.engine.store.write(table, columns, list(zip(*converted)))

    def _check_schema(self, table: Table) -> None:
        """A statement prepared before an ALTER TABLE keeps working while its columns and tags
        exist (an added one is left NULL); once one was dropped its binds no longer fit."""
        tags = (self.stable or table).tags
        if any(c not in table.columns for c in self.columns or []) or any(t not in tags for t in self.tags):
            raise TDError(INVALID_SCHEMA_VER, "Invalid table schema version")

    def _table(self, bound: BoundTable, mode: str) -> Table:
        name = _table_name(bound.tbname) if bound.tbname else self.target.table
        if not isinstance(name, A.Name):
            raise TDError(0x022B, "Stmt table name not set")
        database = self.engine.catalog.database(name.db or self.database.name)
        table = database.tables.get(name.name)
        if table is None and self.stable is not None:
            values = self._tag_values(bound, mode)
            table = self.engine.add_child(database, name.name, self.stable, values)
        if table is None:
            raise table_not_exist()
        if self.stable is None and self.columns is None and table.kind == "super":
            raise TDError(0x2664, "Insert into super table requires tbname")
        return table

    def _tag_values(self, bound: BoundTable, mode: str) -> list[Any]:
        assert self.stable is not None
        bound_tags = list(bound.tags or [])
        ctx = self.engine.literal_context("", self.database, self.session)
        given: dict[str, Any] = {}
        for tag, node in zip(self.tags, self.target.tag_values):
            if not isinstance(node, A.Param):
                given[tag.name] = ctx.value(tag, node)
                continue
            if not bound_tags:
                raise stmt_error("Tags number not matched")
            value = bound_tags.pop(0)
            given[tag.name] = bound_values(tag, value.type, value.values[:1], mode)[0]
        return [given.get(tag.name) for tag in self.stable.tags]


def _columns(schema: Table | None, names: list[str] | None, count: int) -> list[Column] | None:
    """Bound columns; None when the target is ``?`` without USING (known only per batch)."""
    if schema is None:
        if names is not None:
            raise stmt_error("column list needs a known table")
        return None
    from .engine import bound_columns

    columns = bound_columns(schema, names)
    if len(columns) != count:
        raise TDError(ILLEGAL_COLUMN_COUNT, "Illegal number of columns")
    return columns


def _find(tags: list[Column], name: str) -> Column:
    for tag in tags:
        if tag.name == name:
            return tag
    raise TDError(0x260E, f"Invalid tag name: {name}")


def _table_name(text: str) -> A.Name:
    """A bound table name is an identifier: folded to lower case unless backticked."""
    parts = [p.strip() for p in text.split(".", 1)] if "`" not in text else [text.strip()]
    names = [p[1:-1] if p.startswith("`") and p.endswith("`") else p.lower() for p in parts]
    return A.Name(names[0], names[1]) if len(names) == 2 else A.Name(None, names[0])
