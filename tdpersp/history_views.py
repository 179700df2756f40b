"""The views of the history handler: what each Perspective view config asks TDengine, and how the
answers become the rows and columns Perspective expects.

A flat view stays in TDengine: each screen is one `ORDER BY ... LIMIT n OFFSET m` query, so the
server holds one screen at a time whatever the table's size. A group-by view asks for its
deepest level and folds the parents from it when its aggregates allow (`history_rollup`), else
runs one aggregate query per level (TDengine has no ROLLUP); it keeps the groups, not the rows,
in memory, ordered the way Perspective orders its trees.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tdpersp import history_rollup
from tdpersp import history_sql as S
from tdpersp.history_rollup import GroupRow
from tdpersp.history_sql import Bucket, Column, TableInfo, Unsupported

Query = Callable[[str], list[tuple]]
SORT_DIRECTIONS = ("asc", "desc")
# Group-by views keep their groups in memory: bound them, so that grouping by a timestamp or a
# one-second bucket over years cannot exhaust the history process.
MAX_GROUPS = 1_000_000


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

    @property
    def grouped(self) -> bool:
        return bool(self.group_by)

    def value(self, value: Any, psp_type: str) -> Any:
        """A TDengine value as Perspective takes it: datetimes (selected as ticks) in epoch ms."""
        if value is None:
            return None
        if psp_type == "datetime":
            return int(value) // S.TICKS_PER_MS[self.table.precision]
        return _CONVERT[psp_type](value)

    def split_key(self, raw: Sequence[Any]) -> tuple:
        """The split-by values at the start of `raw`, as Perspective values."""
        return tuple(self.value(v, c.psp_type) for v, c in zip(raw, self.split_by))


def parse_config(table: TableInfo, config: dict[str, Any]) -> ViewSpec:
    """Check every part of a view config; raises Unsupported naming the first thing refused."""
    if config.get("windows"):
        raise Unsupported("window functions are not supported by the TDengine history")
    expressions = dict(config.get("expressions") or {})
    group_by = [_group_key(table, name, expressions) for name in config.get("group_by") or []]
    for name, expression in expressions.items():
        S.parse_bucket(expression, table)  # refuses anything but a time bucket
        if name not in (config.get("group_by") or []):
            raise Unsupported(f"expression {name!r} can only be used as a group-by (a time bucket)")
    columns = [table.column(c) for c in config.get("columns") or [] if c is not None and c not in expressions]
    sort = [_sort_term(table, term) for term in config.get("sort") or [] if term[1] != "none"]
    split_by = [table.column(c) for c in config.get("split_by") or []]
    mode = config.get("group_rollup_mode") or "rollup"
    if mode not in ("rollup", "flat"):
        raise Unsupported(f"group_rollup_mode {mode!r} is not supported (rollup and flat are)")
    spec = ViewSpec(table, columns, group_by, split_by, {}, sort,
                    S.where_sql(table, config.get("filter") or [], config.get("filter_op") or "and"),
                    mode == "flat")
    if spec.grouped:
        aggregates = config.get("aggregates") or {}
        for column in [*columns, *(c for c, _ in sort)]:
            chosen = aggregates.get(column.name) or S.default_aggregate(column)
            S.aggregate_sql(column, chosen)  # refuses what TDengine cannot do
            spec.aggregates[column.name] = chosen
    return spec


def _group_key(table: TableInfo, name: str, expressions: dict[str, str]) -> Key:
    if name in expressions:
        return Key(S.parse_bucket(expressions[name], table), "datetime")
    column = table.column(name)
    return Key(column.name, column.psp_type)


def _sort_term(table: TableInfo, term: Sequence[Any]) -> tuple[Column, bool]:
    direction = term[1]
    if direction not in SORT_DIRECTIONS:
        raise Unsupported(f"sort {direction!r} is not supported (asc and desc are)")
    return table.column(term[0]), direction == "desc"


@dataclass
class View:
    """What flat and group-by views share: their columns, split-by pivoted."""

    spec: ViewSpec
    query: Query
    split_values: list[tuple] = field(default_factory=list)

    def column_names(self) -> list[str]:
        names = [c.name for c in self.spec.columns]
        if not self.spec.split_by:
            return names
        return [_split_name(values, n) for values in self.split_values for n in names]

    def schema(self) -> dict[str, str]:
        types = {c.name: self.column_type(c) for c in self.spec.columns}
        return {name: types[name.rsplit("|", 1)[-1]] for name in self.column_names()}

    def column_type(self, column: Column) -> str:
        raise NotImplementedError


# ------------------------------------------------------------------ flat views


@dataclass
class FlatView(View):
    """Rows straight from TDengine, one screen per query."""

    size: int = 0

    def load(self) -> None:
        self.size = int(self.query(S.count_sql(self.spec.table, self.spec.where))[0][0])
        if self.spec.split_by:
            keys = [c.name for c in self.spec.split_by]
            rows = self.query(S.grouped_sql(self.spec.table, keys, ["COUNT(*)"], self.spec.where))
            self.split_values = sorted({self.spec.split_key(row) for row in rows}, key=_row_key)

    def column_type(self, column: Column) -> str:
        return column.psp_type

    def rows(self, start: int, end: int) -> tuple[list[str], list[list[Any]]]:
        """Column names and row values of rows [start, end)."""
        spec = self.spec
        if end <= start:
            return self.column_names(), []
        selected = [*spec.columns, *spec.split_by]
        order = [S.order_sql(S.ref(c), desc) for c, desc in spec.sort]
        sql = S.flat_sql(spec.table, selected, spec.where, order, end - start, start)
        raw = self.query(sql)
        values = [[self.spec.value(v, c.psp_type) for v, c in zip(row, selected)] for row in raw]
        if not spec.split_by:
            return self.column_names(), values
        return self.column_names(), [self._pivot(row) for row in values]

    def _pivot(self, row: list[Any]) -> list[Any]:
        count = len(self.spec.columns)
        own = tuple(row[count:])
        return [row[i] if values == own else None for values in self.split_values for i in range(count)]


# ------------------------------------------------------------------ group-by views


@dataclass
class GroupView(View):
    """The groups of every level, in Perspective's tree order, held in memory."""

    rows: list[GroupRow] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.rows)

    def load(self) -> None:
        spec = self.spec
        levels = [len(spec.group_by)] if spec.flat_groups else range(len(spec.group_by) + 1)
        fold = len(levels) > 1 and not spec.split_by and history_rollup.foldable(self._measured_aggregates())
        by_path = self._folded() if fold else {}
        if not by_path:  # not foldable, or no rows at all (whose total row still needs its query)
            by_path = {row.path: row for depth in levels for row in self._level(depth)}
        if spec.split_by:
            self.split_values = sorted({v for row in by_path.values() for v in row.values.pop("__splits__")},
                                       key=_row_key)
        root = by_path.get(()) or GroupRow((), {})
        for path, row in by_path.items():
            if path:
                parent = root if spec.flat_groups else by_path.get(path[:-1], root)
                parent.children.append(row)
        self.rows = [] if spec.flat_groups else [root]
        self._flatten(root)

    def _measured(self) -> list[Column]:
        """The view's columns, then sort columns not among them (their aggregates order groups)."""
        extra = [c for c, _ in self.spec.sort if c not in self.spec.columns]
        return [*self.spec.columns, *dict.fromkeys(extra)]

    def _row(self, path: tuple, measured: dict[str, Any]) -> GroupRow:
        """A group from its measured values: the view's columns, and the values it sorts by."""
        values = {c.name: measured[c.name] for c in self.spec.columns}
        return GroupRow(path, values, tuple(measured[c.name] for c, _ in self.spec.sort))

    def _measured_aggregates(self) -> list[str]:
        return [self.spec.aggregates[c.name] for c in self._measured()]

    def _grouped(self, keys: list, outputs: list[str]) -> list[tuple]:
        answer = self.query(S.grouped_sql(self.spec.table, keys, outputs, self.spec.where))
        if len(answer) > MAX_GROUPS:
            raise Unsupported(f"{len(answer):,} groups: more than the {MAX_GROUPS:,} a history view holds; "
                              "filter, or group by fewer or coarser columns")
        return answer

    def _folded(self) -> dict[tuple, GroupRow]:
        """Every level from one query of the deepest (see history_rollup)."""
        spec, measured = self.spec, self._measured()
        aggregates = self._measured_aggregates()
        parts = [history_rollup.partials(c, a) for c, a in zip(measured, aggregates)]
        depth = len(spec.group_by)
        answer = self._grouped([k.key for k in spec.group_by], [sql for part in parts for sql, _ in part])
        paths = [tuple(spec.value(v, k.psp_type) for v, k in zip(raw, spec.group_by)) for raw in answer]
        partials = []
        for raw in answer:
            values = iter(raw[depth:])
            partials.append([[spec.value(next(values), t) for _, t in part] for part in parts])
        folded = history_rollup.fold(paths, partials, aggregates, depth)
        names = [c.name for c in measured]
        return {path: self._row(path, dict(zip(names, values))) for path, values in folded.items()}

    def _level(self, depth: int) -> list[GroupRow]:
        """One aggregate query (two with split-by: the pivoted cells, then the sort totals)."""
        spec = self.spec
        keys = [k.key for k in spec.group_by[:depth]]
        key_types = [k.psp_type for k in spec.group_by[:depth]]
        measured = self._measured()
        outputs = [S.aggregate_sql(c, spec.aggregates[c.name]) for c in measured]
        rows: dict[tuple, GroupRow] = {}
        for raw in self._grouped(keys, [sql for sql, _ in outputs]):
            path = tuple(spec.value(v, t) for v, t in zip(raw, key_types))
            results = {c.name: spec.value(v, t) for c, v, (_, t) in zip(measured, raw[depth:], outputs)}
            rows[path] = self._row(path, results)
        if spec.split_by:
            self._split_cells(depth, keys, key_types, rows)
        return list(rows.values())

    def _split_cells(self, depth: int, keys: list, key_types: list[str], rows: dict[tuple, GroupRow]) -> None:
        """Each group's cells per split-by value, from the level's keys plus the split columns."""
        spec = self.spec
        split_keys = [c.name for c in spec.split_by]
        outputs = [S.aggregate_sql(c, spec.aggregates[c.name]) for c in spec.columns]
        for row in rows.values():
            row.values = {"__splits__": set()}
        sql = S.grouped_sql(spec.table, [*keys, *split_keys], [sql for sql, _ in outputs], spec.where)
        for raw in self.query(sql):
            path = tuple(spec.value(v, t) for v, t in zip(raw, key_types))
            split = spec.split_key(raw[depth:])
            row = rows.setdefault(path, GroupRow(path, {"__splits__": set()}))
            row.values["__splits__"].add(split)
            for i, column in enumerate(spec.columns):
                value = raw[depth + len(split_keys) + i]
                row.values[_split_name(split, column.name)] = spec.value(value, outputs[i][1])

    def _flatten(self, node: GroupRow) -> None:
        """Depth first; siblings by the sort columns' aggregates, ties and unsorted by key."""
        compare = functools.partial(_compare_rows, [desc for _, desc in self.spec.sort])
        for child in sorted(node.children, key=functools.cmp_to_key(compare)):
            if not (self.spec.flat_groups and child.children):
                self.rows.append(child)
            self._flatten(child)

    def column_type(self, column: Column) -> str:
        return S.aggregate_sql(column, self.spec.aggregates[column.name])[1]

    def grouping_id(self, row: GroupRow) -> int:
        """Perspective's GROUPING_ID: bit i set when level i is rolled up (0 for leaf rows)."""
        if self.spec.flat_groups:
            return 0
        depth, total = len(row.path), len(self.spec.group_by)
        return sum(1 << i for i in range(depth, total))


def _split_name(values: tuple, column: str) -> str:
    return "|".join([*("" if v is None else str(v) for v in values), column])


def _row_key(values: tuple) -> tuple:
    """Ascending, None last (how Perspective orders group keys)."""
    return tuple((v is None, v if v is not None else 0) for v in values)


def _compare_rows(sort: list[bool], left: GroupRow, right: GroupRow) -> int:
    """Siblings by their sort aggregates (NULL smallest, as Perspective sorts groups), then key."""
    for descending, a, b in zip(sort, left.sort_values, right.sort_values):
        order = _compare(_null_smallest(a), _null_smallest(b))
        if order:
            return -order if descending else order
    return _compare(_row_key(left.path), _row_key(right.path))


def _null_smallest(value: Any) -> tuple:
    return (value is not None, value if value is not None else 0)


def _compare(a: Any, b: Any) -> int:
    return (a > b) - (a < b)


_CONVERT: dict[str, Callable[[Any], Any]] = {"float": float, "integer": int, "boolean": bool, "string": str}
