"""The stand-in's SQL engine: TDengine 3.x statements over an in-memory sqlite store.

This facade implements :class:`tests.standin.api.EngineAPI`; the parser, compiler and store
do the work. It runs on one thread (the server's IOLoop), so nothing here locks.
"""

from __future__ import annotations

import sqlite3
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .. import types as T
from ..api import Affected, Prepared, Result, ResultSet, Session
from ..errors import (
    AUTH_FAILURE,
    DUPLICATED_COLUMN,
    ILLEGAL_COLUMN_COUNT,
    INVALID_COL_JSON,
    INVALID_FIRST_COLUMN,
    INVALID_TAG_NAME,
    STB_ALREADY_EXIST,
    STB_NOT_EXIST,
    TABLE_ALREADY_EXIST,
    TAGS_NOT_MATCHED,
    TDError,
    db_not_exist,
    insert_value_error,
    invalid_column,
    stmt_error,
    table_not_exist,
)
from . import ast as A
from . import show
from .alter import alter_table
from .catalog import Catalog, Column, Database, Table, column_from
from .compile import VERSION, SelectCompiler, convert_row
from .parser import parse
from .store import Store
from .timeparse import now_ticks
from .topic_rows import TopicRows
from .topics import INVALID_TOPIC_QUERY, PAR_INVALID_TOPIC_QUERY, TOPIC_MUST_BE_DELETED, Subscriptions
from .values import LiteralContext


class Engine:
    version = VERSION

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = dict(users) if users is not None else {"root": "taosdata"}
        self.catalog = Catalog()
        self.store = Store()
        self.topic_rows = TopicRows(self.catalog, self.store)
        self.tmq = Subscriptions(self.catalog, self.topic_rows)
        self.store.listeners.append(self.tmq.record)

    # ------------------------------------------------------------ API

    def open_session(self, user: str, password: str, db: str | None, tz: str | None) -> Session:
        if self.users.get(user) != password:
            raise TDError(AUTH_FAILURE, "Authentication failure")
        if db:
            self.catalog.database(db)
        return Session(user, db or None, _zone(tz))

    def execute(self, session: Session, sql: str) -> Result:
        stmt, _ = parse(sql)
        return self.run(session, stmt, sql)

    def prepare(self, session: Session, sql: str) -> Prepared:
        from .prepared import prepare

        return prepare(self, session, sql)

    # ------------------------------------------------------------ dispatch

    def run(self, session: Session, stmt: A.Statement, sql: str) -> Result:
        if isinstance(stmt, A.Select):
            return self.select(session, stmt)
        if isinstance(stmt, A.Insert):
            return Affected(self.insert(session, stmt, sql))
        if isinstance(stmt, A.Show):
            return self.show(session, stmt)
        if isinstance(stmt, A.Describe):
            return show.describe(self.catalog.table(stmt.target.db or session.db, stmt.target.name))
        self.ddl(session, stmt, sql)
        return Affected(0)

    def ddl(self, session: Session, stmt: A.Statement, sql: str) -> None:
        if isinstance(stmt, A.CreateDatabase):
            self.catalog.add_database(stmt.name, stmt.precision, stmt.if_not_exists)
        elif isinstance(stmt, A.DropDatabase):
            self.drop_database(stmt)
        elif isinstance(stmt, A.UseDatabase):
            self.catalog.database(stmt.name)
            session.db = stmt.name
        elif isinstance(stmt, A.CreateTable):
            self.create_table(session, stmt)
        elif isinstance(stmt, A.CreateSubTable):
            self.create_sub_table(session, stmt, sql)
        elif isinstance(stmt, A.DropTable):
            self.drop_table(session, stmt)
        elif isinstance(stmt, A.AlterTable):
            alter_table(self, session, stmt)
        elif isinstance(stmt, A.CreateTopic):
            self.create_topic(session, stmt)
        elif isinstance(stmt, A.DropTopic):
            self.tmq.drop_topic(stmt)
            self.topic_rows.forget(stmt.name)

    def create_topic(self, session: Session, stmt: A.CreateTopic) -> None:
        """Checked as TDengine checks it: the source table and every column must exist. ``*`` is
        expanded now: TDengine keeps the translated query, so a topic's columns are those of
        its creation (an added column does not join it, a selected one cannot be dropped)."""
        source = stmt.query.source
        if not isinstance(source, A.Name):
            raise TDError(INVALID_TOPIC_QUERY, "Topic with invalid query")
        if stmt.query.distinct:  # the parser's checkCreateTopic
            raise TDError(PAR_INVALID_TOPIC_QUERY, "Invalid topic query")
        db = source.db or session.db
        compiler = SelectCompiler(self.catalog, db, session.tz)
        compiler.compile(stmt.query)
        assert db is not None  # compile() raised DB_NOT_SPECIFIED otherwise
        star = [A.SelectItem(A.Col(name), None, name) for name, _ in compiler.scope_for(stmt.query).star]
        items: list[A.SelectItem] = []
        for item in stmt.query.items:
            items.extend(star if item.expr is None else [item])
        stmt.query.items = items
        self.tmq.create_topic(stmt, db)

    # ------------------------------------------------------------ queries

    def select(self, session: Session, stmt: A.Select) -> ResultSet:
        compiled = SelectCompiler(self.catalog, session.db, session.tz).compile(stmt)
        converters = [(i, c) for i, c in enumerate(compiled.converters) if c is not None]

        def convert(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            return [convert_row(row, converters) for row in rows]

        try:
            rows = self.store.stream(compiled.sql, compiled.params, convert if converters else None)
        except sqlite3.Error as exc:
            raise TDError(0x2661, f"Invalid SELECTed expression: {exc}") from None
        return ResultSet(compiled.fields, rows, compiled.precision)

    def show(self, session: Session, stmt: A.Show) -> ResultSet:
        if stmt.what == "databases":
            return show.show_databases(self.catalog)
        if stmt.what == "topics":
            return show.show_topics(self.tmq.topics.values())
        if stmt.what == "create_table" and stmt.target is not None:
            table = self.catalog.table(stmt.target.db or session.db, stmt.target.name)
            return show.show_create_table(table, self.tag_values(table))
        return show.show_tables(self.catalog, stmt.db or session.db, stmt.what == "stables")

    def tag_values(self, table: Table) -> tuple[Any, ...] | None:
        if table.kind != "child":
            return None
        names = ", ".join(c.sql for c in table.tags)
        rows = self.store.query(f'SELECT {names} FROM "{table.tag_store}" WHERE _tid = ?', (table.tid,))
        return rows[0] if rows else None

    # ------------------------------------------------------------ DDL

    def drop_database(self, stmt: A.DropDatabase) -> None:
        database = self.catalog.databases.get(stmt.name)
        if database is None:
            if stmt.if_exists:
                return
            raise db_not_exist()
        if any(t.db == stmt.name for t in self.tmq.topics.values()):
            raise TDError(TOPIC_MUST_BE_DELETED, "Topic must be dropped first")
        self.tmq.forget_database(stmt.name)
        for table in database.tables.values():
            if table.kind != "child":
                self.store.drop(table)
        del self.catalog.databases[stmt.name]

    def create_table(self, session: Session, stmt: A.CreateTable) -> None:
        database = self.catalog.database(stmt.target.db or session.db)
        if stmt.target.name in database.tables:
            if stmt.if_not_exists:
                return
            if stmt.tags is not None:
                raise TDError(STB_ALREADY_EXIST, "STable already exists")
            raise TDError(TABLE_ALREADY_EXIST, "Table already exists")
        _check_definitions(stmt.columns, stmt.tags or [])
        columns = [column_from(c, f"c{i}") for i, c in enumerate(stmt.columns)]
        tags = [column_from(c, f"g{i}") for i, c in enumerate(stmt.tags or [])]
        kind = "normal" if stmt.tags is None else "super"
        table = Table(database.name, stmt.target.name, kind, columns, tags, self.catalog.new_store_name("t"))
        if kind == "super":
            table.tag_store = self.catalog.new_store_name("g")
        self.store.create(table)
        database.tables[table.name] = table

    def create_sub_table(self, session: Session, stmt: A.CreateSubTable, sql: str) -> None:
        database = self.catalog.database(stmt.target.db or session.db)
        stable = self.super_table(session, stmt.stable)
        if stmt.target.name in database.tables:
            if stmt.if_not_exists:
                return
            raise TDError(TABLE_ALREADY_EXIST, "Table already exists")
        ctx = self.literal_context(sql, database, session)
        values = self.tag_row(stable, stmt.tag_names, stmt.tag_values, ctx)
        self.add_child(database, stmt.target.name, stable, values)

    def super_table(self, session: Session, name: A.Name) -> Table:
        table = self.catalog.table(name.db or session.db, name.name)
        if table.kind != "super":
            raise TDError(0x022F, "Table is not a super table")
        return table

    def add_child(self, database: Database, name: str, stable: Table, tag_values: list[Any]) -> Table:
        child = Table(database.name, name, "child", stable.columns, stable.tags, stable.store,
                      stable.tag_store, stable, int(self.catalog.new_store_name("")))
        self.store.add_child(child, tag_values)
        database.tables[name] = child
        return child

    def tag_row(self, stable: Table, names: list[str] | None, nodes: list[A.Expr],
                ctx: LiteralContext) -> list[Any]:
        """Tag values in the supertable's tag order (unnamed tags NULL)."""
        tags = stable.tags if names is None else [_tag(stable, n) for n in names]
        if len(tags) != len(nodes):
            raise TDError(TAGS_NOT_MATCHED, "Tags number not matched")
        given = {tag.name: ctx.value(tag, node) for tag, node in zip(tags, nodes)}
        return [given.get(tag.name) for tag in stable.tags]

    def drop_table(self, session: Session, stmt: A.DropTable) -> None:
        database = self.catalog.database(stmt.target.db or session.db)
        table = database.tables.get(stmt.target.name)
        if table is None or (stmt.stable and table.kind != "super"):
            if stmt.if_exists:
                return
            if stmt.stable:
                raise TDError(STB_NOT_EXIST, "STable not exist")
            raise table_not_exist()
        self.store.drop(table)
        del database.tables[table.name]
        if table.kind == "super":
            for name in [n for n, t in database.tables.items() if t.stable is table]:
                del database.tables[name]

    # ------------------------------------------------------------ INSERT

    def literal_context(self, sql: str, database: Database, session: Session,
                        now: dict[str, int] | None = None) -> LiteralContext:
        """NOW is evaluated once per statement (so several NOW rows collide, as in TDengine)."""
        cache = now if now is not None else {}
        precision = database.precision
        if precision not in cache:
            cache[precision] = now_ticks(precision)
        return LiteralContext(sql, precision, session.tz, cache[precision])

    def insert(self, session: Session, stmt: A.Insert, sql: str) -> int:
        now: dict[str, int] = {}
        total = 0
        for target in stmt.targets:
            if not isinstance(target.table, A.Name):
                raise stmt_error("Stmt table name not set")
            database = self.catalog.database(target.table.db or session.db)
            ctx = self.literal_context(sql, database, session, now)
            table = self.insert_table(session, database, target, ctx)
            columns = bound_columns(table, target.columns)
            ts_index = columns.index(table.ts)
            rows = [self.insert_row(columns, ts_index, row, ctx) for row in target.rows]
            total += self.store.write(table, columns, rows)
        return total

    def insert_table(self, session: Session, database: Database, target: A.InsertTarget,
                     ctx: LiteralContext) -> Table:
        assert isinstance(target.table, A.Name)
        table = database.tables.get(target.table.name)
        if target.using is not None:
            stable = self.super_table(session, target.using)
            if table is None:
                values = self.tag_row(stable, target.tag_names, target.tag_values, ctx)
                table = self.add_child(database, target.table.name, stable, values)
        if table is None:
            raise table_not_exist()
        if table.kind == "super":
            raise TDError(0x2664, "Insert into super table requires tbname")
        return table

    @staticmethod
    def insert_row(columns: list[Column], ts_index: int, row: list[A.Expr],
                   ctx: LiteralContext) -> tuple[Any, ...]:
        if len(row) != len(columns):
            raise TDError(ILLEGAL_COLUMN_COUNT, "Illegal number of columns")
        values = tuple(ctx.value(col, node) for col, node in zip(columns, row))
        if values[ts_index] is None:
            raise insert_value_error(ctx.near(row[ts_index]), "Primary timestamp column should not be null")
        return values


def bound_columns(table: Table, names: list[str] | None) -> list[Column]:
    """The columns an INSERT names (all when None); the primary timestamp must be among them."""
    if names is None:
        return list(table.columns)
    by_name = {c.name: c for c in table.columns}
    columns: list[Column] = []
    for name in names:
        column = by_name.get(name)
        if column is None:
            raise invalid_column(name)
        if column in columns:
            raise TDError(DUPLICATED_COLUMN, "Duplicated column names")
        columns.append(column)
    if table.ts not in columns:
        raise stmt_error("Primary timestamp column should not be null")
    return columns


def _tag(stable: Table, name: str) -> Column:
    for tag in stable.tags:
        if tag.name == name:
            return tag
    raise TDError(INVALID_TAG_NAME, f"Invalid tag name: {name}")


def _check_definitions(columns: list[A.ColumnDef], tags: list[A.ColumnDef]) -> None:
    if not columns or columns[0].type is not T.TIMESTAMP:
        raise TDError(INVALID_FIRST_COLUMN, "First column must be timestamp")
    names = [c.name for c in columns + tags]
    if len(set(names)) != len(names):
        raise TDError(DUPLICATED_COLUMN, "Duplicated column names")
    if any(c.type is T.JSON for c in columns):
        raise TDError(INVALID_COL_JSON, "Only tag can be json type")


def _zone(tz: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(tz) if tz else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
