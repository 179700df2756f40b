"""Every level of a group-by from one query of its deepest level, when the aggregates allow it.

TDengine has no ROLLUP, so a tree of n levels would cost n + 1 aggregate queries, each a scan of
the rows. Sums, counts, highs, lows and averages (as sum and count) of the leaf groups add up to
those of their parents, so for them one query is enough and the parents are folded here, over
groups rather than rows. Other aggregates (stddev, first/last, spread) take one query per level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tdpersp.core.model import Column, ref
from tdpersp.history.sql import aggregate_sql

FOLDABLE = ("sum", "count", "high", "low", "max", "min", "avg", "mean")


@dataclass
class GroupRow:
    path: tuple
    values: dict[str, Any]  # output column -> value
    sort_values: tuple = ()
    children: list[GroupRow] = field(default_factory=list)


def foldable(aggregates: Sequence[str]) -> bool:
    return all(a in FOLDABLE for a in aggregates)


def partials(column: Column, aggregate: str) -> list[tuple[str, str]]:
    """(SQL, Perspective type) of what each leaf group must report for its parents."""
    if aggregate in ("avg", "mean"):  # AVG skips NULLs, and so does COUNT(column)
        return [(f"SUM({ref(column)})", "float"), (f"COUNT({ref(column)})", "integer")]
    return [aggregate_sql(column, aggregate)]


def fold(paths: list[tuple], partials: list[list[list[Any]]], aggregates: Sequence[str],
         depth: int) -> dict[tuple, list[Any]]:
    """Per group path of every length 0..depth, each measured column's value.

    `partials[i][j]` holds leaf group i's partial values of measured column j."""
    totals: dict[tuple, list[list[Any]]] = {}
    for path, parts in zip(paths, partials):
        for length in range(depth + 1):
            acc = totals.setdefault(path[:length], [[None, 0] for _ in aggregates])
            for state, part, aggregate in zip(acc, parts, aggregates):
                _merge(aggregate, state, part)
    return {path: [_finish(a, s) for a, s in zip(aggregates, acc)] for path, acc in totals.items()}


def _merge(aggregate: str, state: list[Any], part: list[Any]) -> None:
    value = part[0]
    if aggregate in ("avg", "mean"):
        state[0] = _add(state[0], value)
        state[1] += part[1] or 0
    elif aggregate == "count":
        state[0] = (state[0] or 0) + (value or 0)
    elif value is None:
        return
    elif aggregate == "sum":
        state[0] = _add(state[0], value)
    elif state[0] is None or (value > state[0] if aggregate in ("high", "max") else value < state[0]):
        state[0] = value


def _add(total: Any, value: Any) -> Any:
    if value is None:
        return total
    return value if total is None else total + value


def _finish(aggregate: str, state: list[Any]) -> Any:
    if aggregate in ("avg", "mean"):
        return state[0] / state[1] if state[1] else None
    return state[0]
