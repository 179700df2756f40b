"""The views of the history handler: a view config checked against its table, and flat views.

A flat view stays in TDengine: each screen is one `ORDER BY ... LIMIT n OFFSET m` query, so the
server holds one screen at a time whatever the table's size. Group-by views: `history_groups`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tdpersp.core.model import Column, TableInfo, ref
from tdpersp.core.tdsql import TICKS_PER_MS, Unsupported
from tdpersp.history.expressions import expression_column
from tdpersp.history.sql import (
    Bucket,
    aggregate_sql,
    count_sql,
    default_aggregate,
    flat_sql,
    grouped_sql,
    order_sql,
    parse_bucket,
    where_sql,
)

Query = Callable[[str], list[tuple]]
SORT_DIRECTIONS = ("asc", "desc")
GROUP_ROLLUP_MODES = ("rollup", "flat", "total")
# A grid asks for a screen at a time; a chart over a flat view asks for every row. Beyond this many
# rows in one request the history process would hold them all: refuse, and say what to do.
MAX_FLAT_ROWS = 200_000


@dataclass(frozen=True)
class Key:
    """One group-by level: a column or a time bucket, and the Perspective type of its values."""

    key: str | Bucket
    psp_type: str


@dataclass
class ViewSpec:
    """A view config checked against its table."""

    table: TableInfo
    columns: list[Column]
    group_by: list[Key]
    split_by: list[Column]
    aggregates: dict[str, str]  # column -> Perspective aggregate (group views)
    sort: list[tuple[Column, bool]]  # column, descending
    where: str
    flat_groups: bool  # group_rollup_mode "flat": leaf rows only
    total: bool = False  # group_rollup_mode "total": the total row only

    @property
    def grouped(self) -> bool:
        return bool(self.group_by) or self.total

    def column(self, name: str) -> Column:
        """A view column (computed ones included) or else a table column."""
        return next((c for c in self.columns if c.name == name), None) or self.table.column(name)

    def value(self, value: Any, psp_type: str) -> Any:
        """A TDengine value as Perspective takes it: datetimes (selected as ticks) in epoch ms."""
        if value is None:
            return None
        if psp_type == "datetime":
            return int(value) // TICKS_PER_MS[self.table.precision]
        return _CONVERT[psp_type](value)

    def split_key(self, raw: Sequence[Any]) -> tuple:
        """The split-by values at the start of `raw`, as Perspective values."""
        return tuple(self.value(v, c.psp_type) for v, c in zip(raw, self.split_by))


def parse_config(table: TableInfo, config: dict[str, Any]) -> ViewSpec:
    """Check every part of a view config; raises Unsupported naming the first thing refused."""
    if config.get("windows"):
        raise Unsupported("window functions are not supported by the TDengine history")
    if (config.get("split_rollup_mode") or "flat") != "flat":
        raise Unsupported(f"split_rollup_mode {config['split_rollup_mode']!r} is not supported by the "
                          "TDengine history (split-by columns are flat)")
    expressions = dict(config.get("expressions") or {})
    group_names = config.get("group_by") or []
    computed = {name: column for name, expression in expressions.items()
                if (column := expression_column(table, name, expression, group_names)) is not None}
    group_by = [_group_key(table, name, expressions) for name in group_names]

    def lookup(name: str) -> Column:
        return computed.get(name) or table.column(name)

    buckets = set(expressions) - set(computed)
    columns = [lookup(c) for c in config.get("columns") or [] if c is not None and c not in buckets]
    sort = [_sort_term(lookup, term) for term in config.get("sort") or [] if term[1] != "none"]
    split_by = [table.column(c) for c in config.get("split_by") or []]
    mode = config.get("group_rollup_mode") or "rollup"
    if mode not in GROUP_ROLLUP_MODES:
        modes = ", ".join(GROUP_ROLLUP_MODES)
        raise Unsupported(f"group_rollup_mode {mode!r} is not supported ({modes} are)")
    spec = ViewSpec(table, columns, group_by, split_by, {}, sort,
                    where_sql(table, config.get("filter") or [], config.get("filter_op") or "and"),
                    mode == "flat", mode == "total")
    if spec.grouped:
        aggregates = config.get("aggregates") or {}
        for column in [*columns, *(c for c, _ in sort)]:
            chosen = aggregates.get(column.name) or default_aggregate(column)
            aggregate_sql(column, chosen)  # refuses what TDengine cannot do
            spec.aggregates[column.name] = chosen
    return spec


def _group_key(table: TableInfo, name: str, expressions: dict[str, str]) -> Key:
    if name in expressions:
        return Key(parse_bucket(expressions[name], table), "datetime")
    column = table.column(name)
    return Key(column.name, column.psp_type)


def _sort_term(lookup: Callable[[str], Column], term: Sequence[Any]) -> tuple[Column, bool]:
    direction = term[1]
    if direction not in SORT_DIRECTIONS:
        raise Unsupported(f"sort {direction!r} is not supported (asc and desc are)")
    return lookup(term[0]), direction == "desc"


@dataclass
class View(ABC):
    """What flat and group-by views share: their columns, split-by pivoted."""

    spec: ViewSpec
    query: Query
    split_values: list[tuple] = field(default_factory=list)

    def column_names(self) -> list[str]:
        names = [c.name for c in self.spec.columns]
        if not self.spec.split_by:
            return names
        return [split_name(values, n) for values in self.split_values for n in names]

    def column_types(self) -> dict[str, str]:
        """Each view column's type under its own name: what a client's `view.schema()` gives, split
        or not, and so what `describe` reports (it needs no split values)."""
        return {c.name: self.column_type(c) for c in self.spec.columns}

    def schema(self) -> dict[str, str]:
        """The types of the columns the handler sends, split-by names included."""
        types = self.column_types()
        return {name: types[name.rsplit("|", 1)[-1]] for name in self.column_names()}

    @abstractmethod
    def column_type(self, column: Column) -> str:
        """The Perspective type this view gives ``column`` (flat and grouped views differ)."""


# ------------------------------------------------------------------ flat views


@dataclass
class FlatView(View):
    """Rows straight from TDengine, one screen per query."""

    size: int = 0

    def load(self) -> None:
        self.size = int(self.query(count_sql(self.spec.table, self.spec.where))[0][0])
        if self.spec.split_by:
            keys = [c.name for c in self.spec.split_by]
            rows = self.query(grouped_sql(self.spec.table, keys, ["COUNT(*)"], self.spec.where))
            self.split_values = sorted({self.spec.split_key(row) for row in rows}, key=key_order)

    def column_type(self, column: Column) -> str:
        return column.psp_type

    def rows(self, start: int, end: int) -> tuple[list[str], list[list[Any]]]:
        """Column names and row values of rows [start, end)."""
        spec = self.spec
        if end <= start:
            return self.column_names(), []
        if end - start > MAX_FLAT_ROWS:
            raise Unsupported(f"{end - start:,} rows asked for at once: more than the {MAX_FLAT_ROWS:,} a "
                              "history view sends; filter, or group by (e.g. a time bucket), first")
        selected = [*spec.columns, *spec.split_by]
        order = [order_sql(ref(c), desc) for c, desc in spec.sort]
        sql = flat_sql(spec.table, selected, spec.where, order, end - start, start)
        raw = self.query(sql)
        values = [[self.spec.value(v, c.psp_type) for v, c in zip(row, selected)] for row in raw]
        if not spec.split_by:
            return self.column_names(), values
        return self.column_names(), [self._pivot(row) for row in values]

    def _pivot(self, row: list[Any]) -> list[Any]:
        count = len(self.spec.columns)
        own = tuple(row[count:])
        return [row[i] if values == own else None for values in self.split_values for i in range(count)]


def split_name(values: tuple, column: str) -> str:
    """A split-by column as Perspective names it: the split values, then the column, joined by |."""
    return "|".join([*("" if v is None else str(v) for v in values), column])


def key_order(values: tuple) -> tuple:
    """Ascending, None last (how Perspective orders group keys)."""
    return tuple((v is None, v if v is not None else 0) for v in values)


_CONVERT: dict[str, Callable[[Any], Any]] = {"float": float, "integer": int, "boolean": bool, "string": str}
