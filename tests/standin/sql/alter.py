"""ALTER TABLE / ALTER STABLE: ADD/DROP COLUMN and ADD/DROP TAG, with TDengine's checks.

A supertable's schema lives in the mnode, a normal table's in its vnode, and the two report the
same mistakes with different codes (``mndStb.c`` vs the vnode's meta code): ``_SUPER`` and
``_NORMAL`` hold them. Subtables share their supertable's column and tag lists, so they follow
it without being touched. The sqlite side only ever grows: a dropped column stays in sqlite,
named by nothing in the catalog, so WAL entries written before the change still fit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import types as T
from ..api import Session
from ..errors import (
    CANNOT_DROP_PRIMARY_KEY,
    COLUMN_ALREADY_EXIST,
    COLUMN_NOT_EXIST,
    FIELD_CONFLICT_WITH_TOPIC,
    INVALID_ALTER_TABLE,
    INVALID_COL_JSON,
    INVALID_DROP_COL,
    TAG_ALREADY_EXIST,
    TAG_NOT_EXIST,
    VND_COL_ALREADY_EXISTS,
    VND_COL_NOT_EXISTS,
    VND_COL_SUBSCRIBED,
    TDError,
)
from . import ast as A
from .catalog import Table, column_from
from .compile import column_names

if TYPE_CHECKING:
    from .engine import Engine


@dataclass(frozen=True)
class _Codes:
    """How one layer words a column that exists, is missing, or is read by a topic."""

    exists: tuple[int, str]
    missing: tuple[int, str]
    used_by_topic: tuple[int, str]


_SUPER = _Codes((COLUMN_ALREADY_EXIST, "Column already exists"), (COLUMN_NOT_EXIST, "Column does not exist"),
                (FIELD_CONFLICT_WITH_TOPIC, "Field used by topic"))
_NORMAL = _Codes((VND_COL_ALREADY_EXISTS, "Table column already exists"),
                 (VND_COL_NOT_EXISTS, "Table column not exists"),
                 (VND_COL_SUBSCRIBED, "Table column is subscribed"))


def alter_table(engine: Engine, session: Session, stmt: A.AlterTable) -> None:
    if stmt.stable:
        table = engine.super_table(session, stmt.target)
    else:
        table = engine.catalog.table(stmt.target.db or session.db, stmt.target.name)
    # A subtable's schema is its supertable's (only SET TAG alters a subtable); a normal table has no tags.
    if table.kind == "child" or (stmt.tag and table.kind == "normal"):
        raise TDError(INVALID_ALTER_TABLE, "Invalid alter table statement")
    codes = _SUPER if table.kind == "super" else _NORMAL
    if stmt.action == "add":
        assert stmt.column is not None
        _add(engine, table, stmt.column, stmt.tag, codes)
    else:
        _drop(engine, table, stmt.name, stmt.tag, codes)
    engine.topic_rows.forget_store(table.store)


def _add(engine: Engine, table: Table, definition: A.ColumnDef, tag: bool, codes: _Codes) -> None:
    if any(c.name == definition.name for c in table.columns):
        raise TDError(*codes.exists)
    if any(c.name == definition.name for c in table.tags):
        raise TDError(TAG_ALREADY_EXIST, "Tag already exists")
    if not tag and definition.type is T.JSON:
        raise TDError(INVALID_COL_JSON, "Only tag can be json type")
    # A sqlite name never used before ("a"/"h" + a counter; created columns are c0, c1, ...):
    # a column dropped and added again must not see the old one's values.
    sql_name = engine.catalog.new_store_name("h" if tag else "a")
    column = column_from(definition, sql_name)
    engine.store.add_column(table, column, tag)
    (table.tags if tag else table.columns).append(column)


def _drop(engine: Engine, table: Table, name: str, tag: bool, codes: _Codes) -> None:
    group = table.tags if tag else table.columns
    column = next((c for c in group if c.name == name), None)
    if column is None:
        raise TDError(TAG_NOT_EXIST, "Tag does not exist") if tag else TDError(*codes.missing)
    if tag and len(group) == 1:
        raise TDError(INVALID_ALTER_TABLE, "The only tag cannot be dropped")
    if not tag and column is table.ts:
        raise TDError(CANNOT_DROP_PRIMARY_KEY, "Primary timestamp column cannot be dropped")
    if not tag and table.kind == "super" and len(group) == 2:
        raise TDError(INVALID_DROP_COL, "No columns can be dropped")
    if any(name in column_names(topic.query) for topic in engine.tmq.topics_reading(table)):
        raise TDError(*codes.used_by_topic)
    group.remove(column)
