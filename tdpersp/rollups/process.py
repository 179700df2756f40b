"""The rollup process: keeps every level's windows equal to TDengine's INTERVAL answers.

Why TDengine computes them: a window re-queried after its rows landed is exact by construction,
whatever happened before (late rows, a restart, a refill, rows overwritten), and it costs one
query per batch of rows, not per row or per viewer. Only the finest level and windows a finer level
does not hold are queried; the others are merged from the finer windows (tdpersp/rollups/windows.py),
so that the current hour is not aggregated again from TDengine four times a second.

Why a child process: as for the reader (tdpersp/live/process.py), `taosws` holds the GIL while it
waits for TDengine.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

import taosws

from tdpersp.core.tdconn import LazyConnection, TaosConfig, error_text
from tdpersp.core.tdsql import Unsupported
from tdpersp.rollups.messages import Changes, RollupStats, Span, Touched
from tdpersp.rollups.shape import Group, RollupShape, Values, key
from tdpersp.rollups.spec import Level
from tdpersp.rollups.windows import Windows

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0
EXPIRE_SECONDS = 1.0  # how often windows that left their retention are removed while idle
MAX_SPANS = 16  # OR'ed time ranges per query; the nearest are joined beyond this


def start(cfg: TaosConfig, levels: tuple[Level, ...],
          refresh: float) -> tuple[multiprocessing.process.BaseProcess, Connection]:
    """Start the rollup process, which steps at most once per `refresh` seconds."""
    context = multiprocessing.get_context("spawn")
    server_end, child_end = context.Pipe(duplex=True)
    process = context.Process(target=run, args=(cfg, levels, refresh, child_end), name="tdengine-rollups",
                              daemon=True)
    process.start()
    child_end.close()
    return process, server_end


def run(cfg: TaosConfig, levels: tuple[Level, ...], refresh: float, pipe: Connection) -> None:
    """Wait for touched seconds, query, send the changes; ends quietly when the server goes.

    At most one step per `refresh` (PERSPECTIVE_REFRESH_RATE): a step costs about the same
    whatever it holds (bench/rollups.py, 2026-12-02: some 15 ms of CPU, two thirds of it the
    server's three `table.update()` calls), and `subscribe` delivers many small batches (9 a
    second at 1,000 rows/s), so what arrives meanwhile waits and is asked for in one query."""
    roller = Roller(LazyConnection(cfg).query, levels)
    last = 0.0
    try:
        while True:
            if pipe.poll(RETRY_SECONDS if roller.behind else EXPIRE_SECONDS):
                time.sleep(max(0.0, last + refresh - time.monotonic()))
                while pipe.poll():  # whatever is waiting: one query for all of it
                    roller.note(pipe.recv())
            last = time.monotonic()
            changes = roller.step()
            if changes:
                pipe.send(changes)
    except (KeyboardInterrupt, BrokenPipeError, EOFError):
        log.debug("rollup process stops")


class Roller:
    """The levels' windows and what is still to be asked of TDengine."""

    def __init__(self, query: Callable[[str], list[tuple]], levels: tuple[Level, ...],
                 clock: Callable[[], float] = time.time) -> None:
        self._query, self.levels, self._clock = query, levels, clock
        self.shape: RollupShape | None = None
        self.stores = {level.name: Windows(level) for level in levels}
        self.stats = RollupStats()
        self.behind = False  # the last step failed: everything is loaded again once TDengine answers
        self._spans: list[Span] = []
        self._load_all = False
        self._new_schema = False
        self._refused = ""

    def note(self, touched: Touched) -> None:
        if touched.table is not None and (self.shape is None or touched.table != self.shape.table):
            self._reshape(touched)
        self._load_all |= touched.resync
        self._spans += touched.spans

    def _reshape(self, touched: Touched) -> None:
        try:
            self.shape, self._refused = RollupShape(touched.table), ""
        except Unsupported as err:
            self.shape, self._refused = None, str(err)
        self.stores = {level.name: Windows(level) for level in self.levels}
        self._load_all, self._new_schema, self._spans = True, self.shape is not None, []

    def step(self) -> Changes:
        changes = Changes(stats=self.stats, problem=self._refused)
        self._refused = ""  # said once
        if self.shape is None:
            return changes
        if self._new_schema:
            changes.schemas = {level.name: self.shape.perspective_schema() for level in self.levels}
            self._new_schema = False
        pending = Pending()
        spans, self._spans = self._spans, []
        try:
            if self._load_all or self.behind:
                self._load(pending)
            elif spans:
                self._refresh(merge_spans(spans), pending)
            self.behind = False
        except taosws.Error as err:
            if not self.behind:
                changes.problem = f"rollups wait for TDengine: {error_text(err)}"
            self.behind = True
        self._expire(pending)
        self.stats.windows = sum(map(len, self.stores.values()))
        pending.encode(self.shape, changes)
        return changes

    # --- asking TDengine ------------------------------------------------------------------------

    def _load(self, pending: Pending) -> None:
        """Every level whole, as at start-up: windows TDengine no longer has are removed."""
        now = self._now()
        for level in self.levels:
            cutoff = level.cutoff(now)
            found = self._ask(level, [(cutoff, None)] if cutoff is not None else None)
            store = self.stores[level.name]
            for group, start in store.held() - found.keys():
                pending.drop(level, store, group, start)
            for (group, start), values in found.items():
                pending.put(level, store, group, start, values)
        self._load_all = False
        self.stats.loads += 1

    def _refresh(self, spans: list[Span], pending: Pending) -> None:
        """The windows that `spans` touch, level by level, finest first."""
        now = self._now()
        finer: Windows | None = None
        for level in self.levels:
            store, cutoff = self.stores[level.name], level.cutoff(now)
            starts = [s for s in window_starts(spans, level.width_ms) if cutoff is None or s >= cutoff]
            derived = [s for s in starts if finer is not None and holds(finer, s, level, now)]
            self._ask_windows(level, store, sorted(set(starts) - set(derived)), pending)
            for start in derived:
                merged = finer.merged(start, level.width_ms) if finer is not None else {}
                self._replace(level, store, start, merged, pending)
            finer = store

    def _ask_windows(self, level: Level, store: Windows, starts: list[int], pending: Pending) -> None:
        if not starts:
            return
        queried = join_spans([(s, s + level.width_ms) for s in starts], MAX_SPANS)
        found = self._ask(level, queried)
        by_start: dict[int, dict[Group, Values]] = {}
        for (group, start), values in found.items():
            by_start.setdefault(start, {})[group] = values
        for a, b in queried:
            for start in range(a, b, level.width_ms):
                self._replace(level, store, start, by_start.get(start, {}), pending)

    def _ask(self, level: Level, spans: list[tuple[int, int | None]] | None,
             ) -> dict[tuple[Group, int], Values]:
        assert self.shape is not None
        self.stats.queries += 1
        return self.shape.read(self._query(self.shape.select_sql(level, spans)))

    def _replace(self, level: Level, store: Windows, start: int, groups: dict[Group, Values],
                 pending: Pending) -> None:
        """Window `start` of every group is now `groups` (a group missing from it has no rows)."""
        for group in set(store.by_start.get(start, {})) - groups.keys():
            pending.drop(level, store, group, start)
        for group, values in groups.items():
            if store.get(group, start) != values:
                pending.put(level, store, group, start, values)

    def _expire(self, pending: Pending) -> None:
        now = self._now()
        for level in self.levels:
            for group, start in self.stores[level.name].expire(level.cutoff(now)):
                pending.forget(level, group, start)

    def _now(self) -> int:
        return int(self._clock() * 1000)


class Pending:
    """The changes of one step, per level: windows to upsert, keys to remove."""

    def __init__(self) -> None:
        self.upserts: dict[str, dict[tuple[Group, int], Values]] = {}
        self.removed: dict[str, set[str]] = {}

    def put(self, level: Level, store: Windows, group: Group, start: int, values: Values) -> None:
        store.put(group, start, values)
        self.upserts.setdefault(level.name, {})[(group, start)] = values
        self.removed.get(level.name, set()).discard(key(group, start))

    def drop(self, level: Level, store: Windows, group: Group, start: int) -> None:
        store.drop(group, start)
        self.forget(level, group, start)

    def forget(self, level: Level, group: Group, start: int) -> None:
        """The window is gone from the level's store: remove it from the table."""
        self.upserts.get(level.name, {}).pop((group, start), None)
        self.removed.setdefault(level.name, set()).add(key(group, start))

    def encode(self, shape: RollupShape, changes: Changes) -> None:
        changes.updates = {name: shape.encode(windows) for name, windows in self.upserts.items() if windows}
        changes.removed = {name: sorted(keys) for name, keys in self.removed.items() if keys}


def holds(finer: Windows, start: int, level: Level, now: int) -> bool:
    """Whether the finer level holds every one of its windows inside [start, start + width)."""
    fine = finer.level
    if level.width_ms % fine.width_ms:
        return False
    cutoff = fine.cutoff(now)
    return cutoff is None or start >= cutoff


def window_starts(spans: list[Span], width: int) -> list[int]:
    starts: set[int] = set()
    for a, b in spans:
        starts.update(range(a - a % width, b, width))
    return sorted(starts)


def merge_spans(spans: list[Span]) -> list[Span]:
    """Sorted, with touching or overlapping spans joined."""
    merged: list[Span] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def join_spans(spans: list[Span], most: int) -> list[Span]:
    """`merge_spans`, then the spans with the smallest gaps between them joined until at most `most`
    are left (a query over a few more windows instead of a long OR)."""
    merged = merge_spans(spans)
    while len(merged) > most:
        gaps = [merged[i + 1][0] - merged[i][1] for i in range(len(merged) - 1)]
        i = gaps.index(min(gaps))
        merged[i:i + 2] = [(merged[i][0], merged[i + 1][1])]
    return merged
