"""What a rollup table holds for a TDengine table, and the one query that computes its windows.

Columns: every tag under its name (the group), `window_start`, `rows` (COUNT(*)), and for every
numeric column `c`: `c_first`, `c_last`, `c_min`, `c_max` (c's type) and `c_sum` (always a float:
an hour of the demo's `volume` sums to about 15 G, far past Perspective's 32-bit integer; a float
holds every integer up to 2**53 exactly). `key` is Perspective's index: the group and the start.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from tdpersp.core.model import Column, TableInfo, ref
from tdpersp.core.tdsql import TICKS_PER_MS, Unsupported
from tdpersp.rollups.spec import Level

AGGREGATES = ("first", "last", "min", "max", "sum")
NUMERIC = ("integer", "float")
KEY, START, ROWS = "key", "window_start", "rows"
Group = tuple[Any, ...]
Values = tuple[Any, ...]  # (rows, then per measure: first, last, min, max, sum)


@dataclass(frozen=True)
class RollupShape:
    table: TableInfo
    groups: tuple[Column, ...] = field(init=False)  # the tags (tbname and JSON tags are not)
    measures: tuple[Column, ...] = field(init=False)  # the numeric columns

    def __post_init__(self) -> None:
        groups = tuple(c for c in self.table.columns
                       if c.is_tag and not c.pseudo and c.td_type.upper() != "JSON")
        measures = tuple(c for c in self.table.columns[1:] if not c.is_tag and c.psp_type in NUMERIC)
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "measures", measures)
        names = [KEY, START, ROWS, *(c.name for c in groups), *self._measure_names()]
        taken = {name for name in names if names.count(name) > 1}
        if taken:
            raise Unsupported(f"{table_name(self.table)} cannot be rolled up: its column names "
                              f"{', '.join(sorted(taken))} clash with the rollup's own")

    def _measure_names(self) -> list[str]:
        return [f"{c.name}_{agg}" for c in self.measures for agg in AGGREGATES]

    def perspective_schema(self) -> dict[str, str]:
        schema = {KEY: "string", **{c.name: c.psp_type for c in self.groups}}
        schema.update({START: "datetime", ROWS: "integer"})
        for column in self.measures:
            schema.update({f"{column.name}_{agg}": column.psp_type for agg in AGGREGATES[:4]})
            schema[f"{column.name}_sum"] = "float"
        return schema

    def select_sql(self, level: Level, spans: Sequence[tuple[int, int | None]] | None) -> str:
        """TDengine's answer for the windows of `level` in `spans` (epoch ms, [start, end), an end of
        None: no end), every window when None: `SELECT _wstart, COUNT(*), FIRST(c), … , tags …
        INTERVAL(W)`. The window is given in milliseconds, so that windows align to Unix time 0 UTC
        whatever the unit (TDengine aligns `d` and `w` to the client's time zone)."""
        items = ["CAST(_wstart AS BIGINT)", "COUNT(*)"]
        for column in self.measures:
            items += [f"{agg.upper()}({ref(column)})" for agg in AGGREGATES]
        items += [ref(c) for c in self.groups]
        sql = f"SELECT {', '.join(items)} FROM {self.table.source}"
        if spans:
            ticks, ts = TICKS_PER_MS[self.table.precision], ref(self.table.columns[0])
            ranges = [f"{ts} >= {a * ticks}" + ("" if b is None else f" AND {ts} < {b * ticks}")
                      for a, b in spans]
            sql += " WHERE " + " OR ".join(f"({r})" for r in ranges)
        if self.groups:
            sql += f" PARTITION BY {', '.join(ref(c) for c in self.groups)}"
        return sql + f" INTERVAL({level.width_ms}a)"

    def read(self, rows: Iterable[Sequence[Any]]) -> dict[tuple[Group, int], Values]:
        """Query rows -> (group, window start in ms) -> values."""
        ticks, width = TICKS_PER_MS[self.table.precision], 2 + len(AGGREGATES) * len(self.measures)
        return {(tuple(row[width:]), row[0] // ticks): tuple(row[1:width]) for row in rows}

    def encode(self, windows: dict[tuple[Group, int], Values]) -> str:
        """The JSON columns for `table.update()`."""
        columns: dict[str, list[Any]] = {name: [] for name in self.perspective_schema()}
        names = [ROWS, *self._measure_names()]
        for (group, start), values in windows.items():
            columns[KEY].append(key(group, start))
            columns[START].append(start)
            for column, value in zip(self.groups, group, strict=True):
                columns[column.name].append(value)
            for name, value in zip(names, values, strict=True):
                columns[name].append(value)
        for name in self._floats():  # sums may be integers past 2**63, DECIMALs are Decimal objects
            columns[name] = [None if v is None else float(v) for v in columns[name]]
        return orjson.dumps(columns).decode()

    def _floats(self) -> list[str]:
        names = [f"{c.name}_sum" for c in self.measures]
        names += [f"{c.name}_{agg}" for c in self.measures if c.td_type.upper().startswith("DECIMAL")
                  for agg in AGGREGATES[:4]]
        return names


def key(group: Group, start: int) -> str:
    """Perspective's index of a window: unambiguous whatever the tags hold."""
    return orjson.dumps([*group, start]).decode()


def table_name(table: TableInfo) -> str:
    return f"{table.db}.{table.name}"
