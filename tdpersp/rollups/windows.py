"""The windows of one rollup table, held in the rollup process, and how finer windows merge.

A 1-minute window is the merge of its sixty 1-second windows: counts and sums add, MIN/MAX take
the smallest/largest, FIRST/LAST the first/last window's (each already skips NULLs, as TDengine's
do). Everything is exact except float sums, which are added in another order than TDengine's
(see README "Rollups": equal to about 1e-12, relatively).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tdpersp.rollups.shape import AGGREGATES, Group, Values
from tdpersp.rollups.spec import Level


class Windows:
    """Window start (ms) -> group -> values, for one level."""

    def __init__(self, level: Level) -> None:
        self.level = level
        self.by_start: dict[int, dict[Group, Values]] = {}

    def __len__(self) -> int:
        return sum(map(len, self.by_start.values()))

    def held(self) -> set[tuple[Group, int]]:
        return {(group, start) for start, groups in self.by_start.items() for group in groups}

    def get(self, group: Group, start: int) -> Values | None:
        return self.by_start.get(start, {}).get(group)

    def put(self, group: Group, start: int, values: Values) -> None:
        self.by_start.setdefault(start, {})[group] = values

    def drop(self, group: Group, start: int) -> None:
        groups = self.by_start.get(start)
        if groups is not None:
            groups.pop(group, None)
            if not groups:
                del self.by_start[start]

    def expire(self, cutoff: int | None) -> list[tuple[Group, int]]:
        """Forget the windows that start before `cutoff`; returns them."""
        if cutoff is None:
            return []
        gone = [start for start in self.by_start if start < cutoff]
        return [(group, start) for start in gone for group in self.by_start.pop(start)]

    def merged(self, start: int, width: int) -> dict[Group, Values]:
        """Every group's merge of this level's windows inside [start, start + width)."""
        parts: dict[Group, list[Values]] = {}
        for sub in range(start, start + width, self.level.width_ms):
            for group, values in self.by_start.get(sub, {}).items():
                parts.setdefault(group, []).append(values)
        return {group: merge(values) for group, values in parts.items()}


def merge(parts: list[Values]) -> Values:
    """Values of consecutive windows, in time order -> the values of their union."""
    merged: list[Any] = [sum(p[0] for p in parts)]
    for at in range(1, len(parts[0]), len(AGGREGATES)):
        first = next((p[at] for p in parts if p[at] is not None), None)
        last = next((p[at + 1] for p in reversed(parts) if p[at + 1] is not None), None)
        low, high = _fold(min, (p[at + 2] for p in parts)), _fold(max, (p[at + 3] for p in parts))
        merged += [first, last, low, high, _fold(sum, (p[at + 4] for p in parts))]
    return tuple(merged)


def _fold(combine: Callable[[list[Any]], Any], values: Iterable[Any]) -> Any:
    present = [v for v in values if v is not None]
    return combine(present) if present else None
