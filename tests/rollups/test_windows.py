"""Merging finer windows into a coarser one: what the server computes without asking TDengine.

These check the merge rule against a plain fold of the rows themselves; that the rule matches
TDengine's own INTERVAL answers is what tests/rollups/test_exact.py checks, on real processes.
"""

from __future__ import annotations

import random

from tdpersp.rollups.spec import Level
from tdpersp.rollups.windows import Windows, merge


def fold(rows: list[tuple[int, float | None]]) -> tuple:
    """COUNT(*), FIRST, LAST, MIN, MAX, SUM of (ts, value) rows, NULLs skipped as TDengine does."""
    present = [(ts, v) for ts, v in sorted(rows) if v is not None]
    values = [v for _, v in present]
    if not values:
        return (len(rows), None, None, None, None, None)
    return (len(rows), present[0][1], present[-1][1], min(values), max(values), sum(values))


def test_merged_windows_equal_the_fold_of_their_rows() -> None:
    """Guards the merge of FIRST/LAST/MIN/MAX/SUM/COUNT, with NULLs and empty sub-windows: 60 one-
    second windows of random integer rows (integers, so that sums are exact) against one fold."""
    rng = random.Random(7)
    rows = [(ts, rng.choice([None, rng.randint(-50, 50)])) for ts in sorted(rng.sample(range(60_000), 400))]
    seconds = Windows(Level("1s", 1_000, None))
    for start in range(0, 60_000, 1_000):
        inside = [r for r in rows if start <= r[0] < start + 1_000]
        if inside:
            seconds.put(("AAPL",), start, fold(inside))
    assert seconds.merged(0, 60_000) == {("AAPL",): fold(rows)}


def test_a_window_of_nulls_only_keeps_its_count() -> None:
    assert merge([(2, None, None, None, None, None), (1, None, None, None, None, None)]) == (
        3, None, None, None, None, None)


def test_expire_forgets_the_windows_before_the_cutoff() -> None:
    windows = Windows(Level("1s", 1_000, 5_000))
    for start in range(0, 10_000, 1_000):
        windows.put(("a",), start, (1, 1, 1, 1, 1, 1))
    assert sorted(windows.expire(4_000)) == [(("a",), s) for s in range(0, 4_000, 1_000)]
    assert sorted(start for _, start in windows.held()) == list(range(4_000, 10_000, 1_000))
