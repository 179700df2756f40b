"""The rows the live sources read, for any table: one SELECT, the tuple it returns, a row's key.

The poll reader's queries and the subscription's topic both use `RowLayout.select_sql`, so both
sources deliver the same tuples in the same order: the primary timestamp first, then `tbname`
(a supertable's), then its tags, then its other columns (the table model: tdpersp/core/model.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from tdpersp.core.model import Column, TableInfo, ref
from tdpersp.core.tdsql import TICKS_PER_MS

Row = tuple[Any, ...]
TS = 0  # the primary timestamp, an integer of the database precision
Key = Hashable  # (subtable, timestamp) for a supertable, the timestamp for a normal table: unique


@dataclass(frozen=True)
class RowLayout:
    table: TableInfo
    columns: tuple[Column, ...] = field(init=False)  # in row order

    def __post_init__(self) -> None:
        first, *others = self.table.columns
        pseudo = [c for c in others if c.pseudo]
        tags = [c for c in others if c.is_tag and not c.pseudo]
        rest = [c for c in others if not c.is_tag]
        object.__setattr__(self, "columns", (first, *pseudo, *tags, *rest))

    @property
    def ts(self) -> str:
        """The primary timestamp, backticked, for WHERE and ORDER BY."""
        return ref(self.columns[0])

    def select_sql(self) -> str:
        """`SELECT <the row's columns> FROM db.table`, to which a WHERE / ORDER BY may be appended.
        Timestamps come back as integers through CAST, which avoids the client's timezone-dependent
        string formatting."""
        return f"SELECT {', '.join(map(_selected, self.columns))} FROM {self.table.source}"

    @property
    def key(self) -> Callable[[Row], Key]:
        """A row's identity in TDengine; a C-level getter, as it runs once per row."""
        return itemgetter(1, TS) if self.table.is_super else itemgetter(TS)

    @property
    def subtable(self) -> Callable[[Row], str]:
        """Which table a row lives in: a supertable's rows come from their subtables."""
        name = self.table.name
        return itemgetter(1) if self.table.is_super else (lambda _row: name)


def _selected(column: Column) -> str:
    return f"CAST({ref(column)} AS BIGINT)" if column.psp_type == "datetime" else ref(column)


def keys(rows: list[Row], key: Callable[[Row], Key]) -> set[Key]:
    return {key(row) for row in rows}


def seconds(rows: list[Row], precision: str) -> tuple[tuple[int, int], ...]:
    """The seconds that `rows` fall in, joined into epoch-millisecond spans [start, end)."""
    per_second = TICKS_PER_MS[precision] * 1000
    spans: list[list[int]] = []
    for second in sorted({row[TS] // per_second for row in rows}):
        if spans and spans[-1][1] == second:
            spans[-1][1] = second + 1
        else:
            spans.append([second, second + 1])
    return tuple((a * 1000, b * 1000) for a, b in spans)
