"""Group-by views of the history handler: the groups of every level, in Perspective's tree order.

A group-by view asks TDengine for its deepest level and folds the parents from it when its
aggregates allow (`history_rollup`), else runs one aggregate query per level (TDengine has no
ROLLUP). It keeps the groups, not the rows, in memory.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from tdpersp.core.model import Column
from tdpersp.core.tdsql import Unsupported
from tdpersp.history import rollup
from tdpersp.history.rollup import GroupRow
from tdpersp.history.sql import aggregate_sql, grouped_sql
from tdpersp.history.views import View, key_order, split_name

# Group-by views keep their groups in memory: bound them, so that grouping by a timestamp or a
# one-second bucket over years cannot exhaust the history process.
MAX_GROUPS = 1_000_000


@dataclass
class GroupView(View):
    """The groups of every level, in Perspective's tree order, held in memory."""

    rows: list[GroupRow] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.rows)

    def load(self) -> None:
        spec = self.spec
        levels = self._levels()
        fold = len(levels) > 1 and not spec.split_by and rollup.foldable(self._measured_aggregates())
        by_path = self._folded() if fold else {}
        if not by_path:  # not foldable, or no rows at all (whose total row still needs its query)
            by_path = {row.path: row for depth in levels for row in self._level(depth)}
        if spec.split_by:
            self.split_values = sorted({v for row in by_path.values() for v in row.values.pop("__splits__")},
                                       key=key_order)
        root = by_path.get(()) or GroupRow((), {})
        for path, row in by_path.items():
            if path:
                by_path.get(path[:-1], root).children.append(row)
        self.rows = [] if spec.flat_groups else [root]
        self._flatten(root)

    def _levels(self) -> list[int]:
        """The depths to query: the total alone ("total" mode); the leaves alone in flat mode unless
        sorted, where the leaves keep their parents' order (as Perspective's do), so the parents
        are needed; else every level."""
        spec, depth = self.spec, len(self.spec.group_by)
        if spec.total:
            return [0]
        if spec.flat_groups and (not spec.sort or depth == 1):
            return [depth]
        return list(range(depth + 1))

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
        answer = self.query(grouped_sql(self.spec.table, keys, outputs, self.spec.where))
        if len(answer) > MAX_GROUPS:
            raise Unsupported(f"{len(answer):,} groups: more than the {MAX_GROUPS:,} a history view holds; "
                              "filter, or group by fewer or coarser columns")
        return answer

    def _folded(self) -> dict[tuple, GroupRow]:
        """Every level from one query of the deepest (see history_rollup)."""
        spec, measured = self.spec, self._measured()
        aggregates = self._measured_aggregates()
        parts = [rollup.partials(c, a) for c, a in zip(measured, aggregates)]
        depth = len(spec.group_by)
        answer = self._grouped([k.key for k in spec.group_by], [sql for part in parts for sql, _ in part])
        paths = [tuple(spec.value(v, k.psp_type) for v, k in zip(raw, spec.group_by)) for raw in answer]
        partials = []
        for raw in answer:
            values = iter(raw[depth:])
            partials.append([[spec.value(next(values), t) for _, t in part] for part in parts])
        folded = rollup.fold(paths, partials, aggregates, depth)
        names = [c.name for c in measured]
        return {path: self._row(path, dict(zip(names, values))) for path, values in folded.items()}

    def _level(self, depth: int) -> list[GroupRow]:
        """One aggregate query (two with split-by: the pivoted cells, then the sort totals)."""
        spec = self.spec
        keys = [k.key for k in spec.group_by[:depth]]
        key_types = [k.psp_type for k in spec.group_by[:depth]]
        measured = self._measured()
        outputs = [aggregate_sql(c, spec.aggregates[c.name]) for c in measured]
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
        outputs = [aggregate_sql(c, spec.aggregates[c.name]) for c in spec.columns]
        for row in rows.values():
            row.values = {"__splits__": set()}
        sql = grouped_sql(spec.table, [*keys, *split_keys], [sql for sql, _ in outputs], spec.where)
        for raw in self.query(sql):
            path = tuple(spec.value(v, t) for v, t in zip(raw, key_types))
            split = spec.split_key(raw[depth:])
            row = rows.setdefault(path, GroupRow(path, {"__splits__": set()}))
            row.values["__splits__"].add(split)
            for i, column in enumerate(spec.columns):
                value = raw[depth + len(split_keys) + i]
                row.values[split_name(split, column.name)] = spec.value(value, outputs[i][1])

    def _flatten(self, node: GroupRow) -> None:
        """Depth first; siblings by the sort columns' aggregates, ties and unsorted by key."""
        compare = functools.partial(_compare_rows, [desc for _, desc in self.spec.sort])
        for child in sorted(node.children, key=functools.cmp_to_key(compare)):
            if not (self.spec.flat_groups and child.children):
                self.rows.append(child)
            self._flatten(child)

    def column_type(self, column: Column) -> str:
        return aggregate_sql(column, self.spec.aggregates[column.name])[1]

    def grouping_id(self, row: GroupRow) -> int:
        """Perspective's GROUPING_ID: bit i set when level i is rolled up (0 for leaf rows)."""
        if self.spec.flat_groups:
            return 0
        depth, total = len(row.path), len(self.spec.group_by)
        return sum(1 << i for i in range(depth, total))


def _compare_rows(sort: list[bool], left: GroupRow, right: GroupRow) -> int:
    """Siblings by their sort aggregates (NULL smallest, as Perspective sorts groups), then key."""
    for descending, a, b in zip(sort, left.sort_values, right.sort_values):
        order = _compare(_null_smallest(a), _null_smallest(b))
        if order:
            return -order if descending else order
    return _compare(key_order(left.path), key_order(right.path))


def _null_smallest(value: Any) -> tuple:
    return (value is not None, value if value is not None else 0)


def _compare(a: Any, b: Any) -> int:
    return (a > b) - (a < b)
