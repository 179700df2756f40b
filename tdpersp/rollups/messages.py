"""What crosses the pipe between the server and the rollup process (tdpersp/rollups/process.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from tdpersp.core.model import TableInfo

Span = tuple[int, int]  # epoch milliseconds, [start, end)


@dataclass(frozen=True)
class Touched:
    """Server -> rollup process: the seconds that new rows fell in, as the live feed received them."""

    spans: tuple[Span, ...] = ()
    # The table as the live source found it, with its first rows and whenever it changed.
    table: TableInfo | None = None
    # The live source could not promise every row once (it started over, refilled, or lost
    # TDengine for a while): the rollups are computed again from TDengine, whole.
    resync: bool = False


@dataclass
class RollupStats:
    queries: int = 0
    loads: int = 0  # whole reloads (start-up, a schema change, after an outage)
    windows: int = 0  # held, over every level


@dataclass
class Changes:
    """Rollup process -> server: per level (its window, e.g. "1m"), rows to upsert and keys to remove."""

    # level -> Perspective schema, when the tables are (re)made
    schemas: dict[str, dict[str, str]] | None = None
    updates: dict[str, str] = field(default_factory=dict)  # level -> JSON columns for table.update()
    removed: dict[str, list[str]] = field(default_factory=dict)  # level -> keys for table.remove()
    problem: str = ""  # why the rollups are behind (TDengine unreachable, a table they cannot hold)
    stats: RollupStats = field(default_factory=RollupStats)

    def __bool__(self) -> bool:
        return bool(self.schemas is not None or self.updates or self.removed or self.problem)
