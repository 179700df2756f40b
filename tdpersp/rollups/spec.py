"""PERSPECTIVE_ROLLUPS: which window lengths to keep, and for how long.

`1s:1h,1m:1d,1h` reads as: 1-second windows for the last hour, 1-minute windows for the last day,
1-hour windows for all of history. A window is kept while it starts inside its retention.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"([1-9][0-9]{0,5})([smhdw])")
DEFAULT = "1s:1h,1m:1d,1h"


@dataclass(frozen=True)
class Level:
    """One rollup table: windows of `width_ms`, kept `keep_ms` (None: for ever)."""

    name: str  # the window as written, e.g. "1m": the table is <PERSPECTIVE_TABLE_NAME>_1m
    width_ms: int
    keep_ms: int | None

    def cutoff(self, now_ms: int) -> int | None:
        """The earliest window start kept at `now_ms`: the first whole window inside the retention."""
        if self.keep_ms is None:
            return None
        return -(-(now_ms - self.keep_ms) // self.width_ms) * self.width_ms

    def start(self, ms: int) -> int:
        """The start of the window holding `ms`."""
        return ms - ms % self.width_ms

    def describe(self) -> str:
        keep = "all of history" if self.keep_ms is None else f"the last {_words(self.keep_ms)}"
        return f"{self.name} windows for {keep}"


def duration_ms(text: str) -> int:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text.strip()!r} is not a duration such as 1s, 15m, 1h, 1d or 1w")
    return int(match[1]) * UNIT_MS[match[2]]


def parse(text: str) -> tuple[Level, ...]:
    """`W[:KEEP],…` -> levels, finest first; empty means no rollups. Raises ValueError naming the
    item that is wrong."""
    levels: dict[int, Level] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        width_text, _, keep_text = item.partition(":")
        width = duration_ms(width_text)
        keep = duration_ms(keep_text) if keep_text.strip() else None
        if keep is not None and keep < width:
            raise ValueError(f"{item!r}: windows of {width_text.strip()} cannot be kept for less "
                             f"({keep_text.strip()})")
        if width in levels:
            raise ValueError(f"{item!r}: windows of {width_text.strip()} are listed twice")
        levels[width] = Level(width_text.strip(), width, keep)
    return tuple(levels[width] for width in sorted(levels))


def _words(ms: int) -> str:
    for unit, size in sorted(UNIT_MS.items(), key=lambda item: -item[1]):
        if ms % size == 0:
            count = ms // size
            word = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week"}[unit]
            return word if count == 1 else f"{count} {word}s"
    return f"{ms} ms"
