"""SELECT syntax tree -> one sqlite query plus TDengine result metadata.

Types follow TDengine: column references keep their declared type, COUNT is BIGINT, SUM of
integers BIGINT (BIGINT UNSIGNED for unsigned), of floats DOUBLE, AVG DOUBLE, MIN/MAX/FIRST/LAST
the argument's type, arithmetic DOUBLE (timestamp +/- duration stays TIMESTAMP), integer
literals BIGINT, string literals VARCHAR(len). Literal values travel as sqlite parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import tzinfo
from typing import Any

from .. import types as T
from ..api import Field
from ..errors import INVALID_FUNCTION, TDError, invalid_column
from . import ast as A
from . import window
from .catalog import Catalog, Column, Table
from .timeparse import duration_ticks, now_ticks, parse_datetime, today_ticks
from .values import from_storage_u64, read_decimal

VERSION = "3.3.6.0"
NAME_LEN = 64  # TDengine truncates result column names to TSDB_COL_NAME_LEN - 1
AGGREGATES = ("count", "sum", "avg", "min", "max", "first", "last", "spread", "stddev")
_ARITH = ("+", "-", "*", "/", "%")
_COMPARE = ("=", "!=", "<", "<=", ">", ">=")


@dataclass
class Typed:
    """A compiled expression: sqlite text, TDengine type and display length."""

    sql: str
    type: T.TDType
    length: int
    precision: int = 0  # a DECIMAL's precision and scale
    scale: int = 0


def column_typed(sql: str, column: Column) -> Typed:
    return Typed(sql, column.type, column.length, column.precision, column.scale)


@dataclass
class Scope:
    """The columns a query can name, and the FROM/WHERE fragments that produce them."""

    cols: dict[str, Typed] = field(default_factory=dict)
    star: list[tuple[str, Typed]] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    from_sql: str = ""
    where: list[str] = field(default_factory=list)
    precision: str = "ms"
    ts: str | None = None  # sqlite text of the primary timestamp, for FIRST/LAST


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any]  # named sqlite parameters
    fields: list[Field]
    converters: list[Callable[[Any], Any] | None]
    precision: str


def make_field(name: str, typed: Typed) -> Field:
    width = T.internal_width(typed.type, typed.length, typed.precision, typed.scale)
    return Field(name[:NAME_LEN], typed.type.code, typed.length, width, typed.precision, typed.scale)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _converter(td_type: T.TDType) -> Callable[[Any], Any] | None:
    if td_type is T.BOOL:
        return lambda v: None if v is None else bool(v)
    if td_type is T.UBIGINT:
        return from_storage_u64
    if td_type in T.DECIMAL_TYPES:
        return read_decimal
    return None


def column_names(node: Any) -> Iterator[str]:
    """The names of the columns a syntax tree (expression or SELECT) refers to."""
    if isinstance(node, A.Col):
        yield node.name
    elif isinstance(node, list):
        for item in node:
            yield from column_names(item)
    elif is_dataclass(node):
        for part in fields(node):
            yield from column_names(getattr(node, part.name))


def convert_row(row: tuple[Any, ...], converters: list[tuple[int, Any]]) -> tuple[Any, ...]:
    """Apply the (column index, converter) pairs of a compiled query to one sqlite row."""
    values = list(row)
    for i, convert in converters:
        values[i] = convert(values[i])
    return tuple(values)


class SelectCompiler:
    def __init__(self, catalog: Catalog, db: str | None, tz: tzinfo) -> None:
        self.catalog, self.db, self.tz = catalog, db, tz
        self._now: dict[str, int] = {}
        self.params: dict[str, Any] = {}

    def now(self, precision: str) -> int:
        """NOW is one instant per statement."""
        if precision not in self._now:
            self._now[precision] = now_ticks(precision)
        return self._now[precision]

    # ------------------------------------------------------------ sources

    def table_scope(self, table: Table, alias: str | None, tags_only: bool = False) -> Scope:
        scope = Scope(precision=self.catalog.database(table.db).precision)
        scope.names = {table.name, alias} if alias else {table.name}
        scope.from_sql = f'"{table.store}" AS d'
        for column in table.columns:
            self._add(scope, column.name, column_typed(f"d.{column.sql}", column), star=True)
        scope.ts = f"d.{table.ts.sql}"
        self._add(scope, "_rowts", Typed(scope.ts, T.TIMESTAMP, 8))
        self._add(scope, "_c0", Typed(scope.ts, T.TIMESTAMP, 8))
        if table.kind == "normal":
            self._add(scope, "tbname", Typed(_quote(table.name), T.VARCHAR, 192))
            return scope
        # Subtables (few) outside, their rows (many) inside: each subtable's rows are one range of
        # the data table's (_tid, ts) key, with no tag lookup per row. CROSS JOIN fixes that order.
        scope.from_sql = f'"{table.tag_store}" AS g CROSS JOIN "{table.store}" AS d ON g._tid = d._tid'
        for tag in table.tags:
            self._add(scope, tag.name, column_typed(f"g.{tag.sql}", tag), star=table.kind == "super")
        self._add(scope, "tbname", Typed("g._tbname", T.VARCHAR, 192))
        if table.kind == "child":
            scope.where.append(f"g._tid = {int(table.tid or 0)}")
        if tags_only:  # TDengine's tag scan: one row per subtable, rows or not
            scope.from_sql = f'"{table.tag_store}" AS g'
        return scope

    def subquery_scope(self, inner: Compiled, alias: str | None) -> Scope:
        scope = Scope(precision=inner.precision)
        scope.names = {alias} if alias else set()
        scope.from_sql = f"({inner.sql}) AS s"
        for i, fld in enumerate(inner.fields):
            typed = Typed(f"s.c{i}", T.BY_CODE[fld.type], fld.length, fld.precision, fld.scale)
            self._add(scope, fld.name, typed, star=True)
            if i == 0 and typed.type is T.TIMESTAMP:
                scope.ts = typed.sql
        return scope

    @staticmethod
    def _add(scope: Scope, name: str, typed: Typed, star: bool = False) -> None:
        scope.cols.setdefault(name, typed)
        if star:
            scope.star.append((name, typed))

    def scope_for(self, stmt: A.Select) -> Scope:
        if stmt.source is None:
            return Scope()
        if isinstance(stmt.source, A.Select):
            return self.subquery_scope(self.compile(stmt.source), stmt.alias)
        table = self.catalog.table(stmt.source.db or self.db, stmt.source.name)
        scope = self.table_scope(table, stmt.alias, _reads_tags_only(stmt, table))
        if table.kind == "super" and _ordered_by_time(stmt, scope):
            # Rows outside, in the timestamp index's order: a LIMIT then stops early instead of
            # sorting every row of every subtable (the history's scrolled grid).
            scope.from_sql = f'"{table.store}" AS d CROSS JOIN "{table.tag_store}" AS g ON g._tid = d._tid'
        return scope

    # ------------------------------------------------------------ SELECT

    def compile(self, stmt: A.Select) -> Compiled:
        scope = self.scope_for(stmt)
        window_start = self.add_window_columns(stmt, scope) if stmt.interval is not None else None
        ex = ExprCompiler(self, scope)
        outputs: list[tuple[str, Typed]] = []
        for item in stmt.items:
            if item.expr is None:
                outputs.extend(scope.star)
                continue
            typed = ex.compile(item.expr)
            name = item.alias or (item.expr.name if isinstance(item.expr, A.Col) else item.text)
            outputs.append((name, typed))
        select_sql = ", ".join(f"{typed.sql} AS c{i}" for i, (_, typed) in enumerate(outputs))
        sql = f"SELECT {'DISTINCT ' if stmt.distinct else ''}{select_sql}"
        if scope.from_sql:
            sql += f" FROM {scope.from_sql}"
        where = list(scope.where)
        if stmt.where is not None:
            where.append(ex.compile(stmt.where).sql)
        if where:
            sql += " WHERE " + " AND ".join(f"({w})" for w in where)
        grouped = window_start is not None or ex.aggregated
        keys = list(stmt.group_by) + (list(stmt.partition_by) if grouped else [])
        groups = [ex.compile(g).sql for g in keys]
        if window_start is not None:
            groups.append(window_start)
        if groups and grouped:
            window.check_grouped_items(stmt)
        if groups:
            sql += " GROUP BY " + ", ".join(groups)
        if stmt.order_by:
            sql += " ORDER BY " + ", ".join(self.order_sql(ex, o, outputs, stmt) for o in stmt.order_by)
        elif window_start is not None:  # windows come in time order within each partition
            sql += " ORDER BY " + ", ".join(groups)
        if stmt.limit is not None or stmt.offset:
            sql += f" LIMIT {int(stmt.limit if stmt.limit is not None else -1)} OFFSET {int(stmt.offset)}"
        fields = [make_field(name, typed) for name, typed in outputs]
        converters = [_converter(typed.type) for _, typed in outputs]
        return Compiled(sql, self.params, fields, converters, scope.precision)

    @staticmethod
    def add_window_columns(stmt: A.Select, scope: Scope) -> str:
        """The window pseudo-columns of an INTERVAL query; returns the window-start expression."""
        start = window.window_start_sql(stmt, scope.ts, scope.precision)
        width = window.width_ticks(stmt, scope.precision)
        scope.cols["_wstart"] = Typed(start, T.TIMESTAMP, 8)
        scope.cols["_wend"] = Typed(f"({start} + {width})", T.TIMESTAMP, 8)
        scope.cols["_wduration"] = Typed(str(width), T.BIGINT, 8)
        return start

    @staticmethod
    def order_sql(ex: ExprCompiler, item: A.OrderItem, outputs: list[tuple[str, Typed]],
                  stmt: A.Select) -> str:
        direction = " DESC" if item.desc else ""
        if item.nulls_first is not None:
            direction += " NULLS FIRST" if item.nulls_first else " NULLS LAST"
        expr = item.expr
        if isinstance(expr, A.Lit) and expr.kind == "int":
            if not 1 <= int(expr.value) <= len(outputs):
                raise TDError(0x2609, "ORDER BY item must be the number of a SELECT-list expression")
            return f"c{int(expr.value) - 1}{direction}"
        if isinstance(expr, A.Col) and expr.qual is None:
            aliases = [i.alias for i in stmt.items]
            if expr.name in aliases:
                return f"c{aliases.index(expr.name)}{direction}"
        return ex.compile(expr).sql + direction


def _reads_tags_only(stmt: A.Select, table: Table) -> bool:
    """SELECT DISTINCT of tags and tbname only (as ``SELECT DISTINCT tbname FROM st``): TDengine
    answers from the tags, so subtables without rows count too."""
    if not stmt.distinct or table.kind == "normal" or any(item.expr is None for item in stmt.items):
        return False
    tags = {tag.name for tag in table.tags} | {"tbname"}
    return set(column_names([stmt.items, stmt.where, stmt.order_by])) <= tags


def _ordered_by_time(stmt: A.Select, scope: Scope) -> bool:
    first = stmt.order_by[0].expr if stmt.order_by else None
    return (isinstance(first, A.Col) and first.name in scope.cols and scope.cols[first.name].sql == scope.ts
            and stmt.interval is None and not stmt.group_by and not stmt.partition_by)


class ExprCompiler:
    def __init__(self, owner: SelectCompiler, scope: Scope) -> None:
        self.owner, self.scope = owner, scope
        self.aggregated = False

    def param(self, value: Any, td_type: T.TDType, length: int) -> Typed:
        name = f"p{len(self.owner.params)}"
        self.owner.params[name] = value
        return Typed(f":{name}", td_type, length)

    def compile(self, node: A.Expr, peer: T.TDType | None = None) -> Typed:
        method = getattr(self, f"_{type(node).__name__.lower()}", None)
        if method is None:
            raise TDError(0x2600, "syntax error near \"?\"")
        if isinstance(node, A.Lit):
            return self._lit(node, peer)
        return method(node)

    def _col(self, node: A.Col) -> Typed:
        if node.qual is not None and node.qual not in self.scope.names:
            raise invalid_column(node.name)
        typed = self.scope.cols.get(node.name)
        if typed is None and node.name in window.PSEUDO_COLUMNS:
            raise window.misplaced_pseudo_column()
        if typed is None:
            raise invalid_column(node.name)
        return typed

    def _lit(self, node: A.Lit, peer: T.TDType | None) -> Typed:
        if node.kind == "str" and peer is T.TIMESTAMP:
            ticks = parse_datetime(node.value, self.owner.tz, self.scope.precision)
            if ticks is None:
                raise TDError(0x2635, f"Incorrect TIMESTAMP value: {node.value}")
            return self.param(ticks, T.TIMESTAMP, 8)
        if node.kind == "null":
            return Typed("NULL", T.NULL, 1)
        if node.kind == "bool":
            return self.param(int(node.value), T.BOOL, 1)
        if node.kind == "int":
            return self.param(int(node.value), T.BIGINT, 8)
        if node.kind == "float":
            return self.param(float(node.value), T.DOUBLE, 8)
        if node.kind == "bytes":
            return self.param(node.value, T.VARBINARY, len(node.value))
        return self.param(str(node.value), T.VARCHAR, len(str(node.value).encode()))

    def _dur(self, node: A.Dur) -> Typed:
        return self.param(duration_ticks(node.n, node.unit, self.scope.precision), T.BIGINT, 8)

    def _now(self, node: A.Now) -> Typed:
        precision = self.scope.precision
        if node.today:
            return self.param(today_ticks(precision, self.owner.tz), T.TIMESTAMP, 8)
        return self.param(self.owner.now(precision), T.TIMESTAMP, 8)

    def _param(self, node: A.Param) -> Typed:
        raise TDError(0x2600, "syntax error near \"?\"")

    def _unary(self, node: A.Unary) -> Typed:
        inner = self.compile(node.operand)
        if node.op == "not":
            return Typed(f"(NOT {inner.sql})", T.BOOL, 1)
        return Typed(f"(-CAST({inner.sql} AS REAL))", T.DOUBLE, 8)

    def _bin(self, node: A.Bin) -> Typed:
        if node.op in ("and", "or"):
            left, right = self.compile(node.left), self.compile(node.right)
            return Typed(f"({left.sql} {node.op.upper()} {right.sql})", T.BOOL, 1)
        left, right = self._pair(node.left, node.right)
        if node.op in _COMPARE:
            return Typed(f"({left.sql} {node.op} {right.sql})", T.BOOL, 1)
        timestamp = T.TIMESTAMP in (left.type, right.type)
        if node.op in ("+", "-") and timestamp and isinstance(node.right, (A.Dur, A.Lit)):
            return Typed(f"({left.sql} {node.op} {right.sql})", T.TIMESTAMP, 8)
        return Typed(f"(CAST({left.sql} AS REAL) {node.op} {right.sql})", T.DOUBLE, 8)

    def _pair(self, left_node: A.Expr, right_node: A.Expr) -> tuple[Typed, Typed]:
        """Compile both sides; a string literal facing a TIMESTAMP becomes a timestamp."""
        if isinstance(left_node, A.Lit) and not isinstance(right_node, A.Lit):
            right = self.compile(right_node)
            return self.compile(left_node, right.type), right
        left = self.compile(left_node)
        return left, self.compile(right_node, left.type)

    def _in(self, node: A.In) -> Typed:
        left = self.compile(node.expr)
        items = ", ".join(self.compile(i, left.type).sql for i in node.items)
        return Typed(f"({left.sql} {'NOT IN' if node.negated else 'IN'} ({items}))", T.BOOL, 1)

    def _between(self, node: A.Between) -> Typed:
        left = self.compile(node.expr)
        low, high = self.compile(node.low, left.type), self.compile(node.high, left.type)
        word = "NOT BETWEEN" if node.negated else "BETWEEN"
        return Typed(f"({left.sql} {word} {low.sql} AND {high.sql})", T.BOOL, 1)

    def _like(self, node: A.Like) -> Typed:
        left, pattern = self.compile(node.expr), self.compile(node.pattern)
        word = "NOT LIKE" if node.negated else "LIKE"
        return Typed(f"({left.sql} {word} {pattern.sql} ESCAPE '\\')", T.BOOL, 1)

    def _isnull(self, node: A.IsNull) -> Typed:
        inner = self.compile(node.expr)
        return Typed(f"({inner.sql} IS {'NOT ' if node.negated else ''}NULL)", T.BOOL, 1)

    def _cast(self, node: A.Cast) -> Typed:
        """CAST(x AS type): numbers and timestamps convert; strings keep their text."""
        inner = self.compile(node.expr)
        target = node.type
        if target in T.INTEGER_TYPES or target is T.TIMESTAMP:
            sql = f"CAST({inner.sql} AS INTEGER)"
        elif target in T.FLOAT_TYPES:
            sql = f"CAST({inner.sql} AS REAL)"
        elif target in (T.VARCHAR, T.NCHAR):
            sql = f"CAST({inner.sql} AS TEXT)"
        else:
            raise TDError(0x2600, f'syntax error near "{target.name}"')
        return Typed(sql, target, node.length)

    def _func(self, node: A.Func) -> Typed:
        name = node.name
        if name in AGGREGATES:
            return self._aggregate(node)
        if name == "database":
            db = self.owner.db
            return self.param(db, T.VARCHAR, 64) if db else Typed("NULL", T.VARCHAR, 64)
        if name in ("server_version", "client_version"):
            return self.param(VERSION, T.VARCHAR, len(VERSION))
        if name in ("abs", "lower", "upper", "length", "char_length") and len(node.args) == 1:
            arg = self.compile(node.args[0])
            if name == "abs":
                return replace(arg, sql=f"ABS({arg.sql})")
            if name in ("lower", "upper"):
                return replace(arg, sql=f"{name.upper()}({arg.sql})")
            size = "LENGTH(CAST({0} AS BLOB))" if name == "length" else "LENGTH({0})"
            return Typed(size.format(arg.sql), T.BIGINT, 8)
        raise TDError(INVALID_FUNCTION, "Invalid function name")

    def _aggregate(self, node: A.Func) -> Typed:
        self.aggregated = True
        name = node.name
        if name == "count":
            arg = "*" if node.star or not node.args else self.compile(node.args[0]).sql
            return Typed(f"COUNT({arg})", T.BIGINT, 8)
        if node.star or len(node.args) != 1:
            raise TDError(0x2801, "Invalid function para number")
        arg = self.compile(node.args[0])
        if name == "sum":
            if arg.type in T.FLOAT_TYPES:
                return Typed(f"SUM({arg.sql})", T.DOUBLE, 8)
            if arg.type in T.DECIMAL_TYPES:  # DECIMAL(38, s), added exactly (values are text here)
                return Typed(f"td_decimal_sum({arg.sql})", T.DECIMAL, 16, T.DECIMAL_MAX_PRECISION, arg.scale)
            unsigned = arg.type.code in (11, 12, 13, 14)
            return Typed(f"SUM({arg.sql})", T.UBIGINT if unsigned else T.BIGINT, 8)
        if name == "avg":
            return Typed(f"AVG({arg.sql})", T.DOUBLE, 8)
        if name == "stddev":  # TDengine's STDDEV is the population standard deviation
            return Typed(f"td_stddev({arg.sql})", T.DOUBLE, 8)
        if name == "spread":
            return Typed(f"CAST(MAX({arg.sql}) - MIN({arg.sql}) AS REAL)", T.DOUBLE, 8)
        if name in ("min", "max"):
            return replace(arg, sql=f"{name.upper()}({arg.sql})")
        ts = self.scope.ts or "NULL"
        return replace(arg, sql=f"td_{name}({ts}, {arg.sql})")
