"""The server's end of the rollup process: one Perspective table per level, kept as it says.

Tables are named `<PERSPECTIVE_TABLE_NAME>_<window>` (e.g. `stock_values_1m`), indexed by `key`,
made when the rollup process first describes them and made again when the TDengine table's shape
changes. Touched seconds go the other way (`touched`), sent as the live feed applies rows.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import perspective
from tornado.ioloop import IOLoop

from tdpersp.rollups.messages import Changes, RollupStats, Touched
from tdpersp.rollups.spec import Level

log = logging.getLogger(__name__)


@dataclass
class RollupStatus:
    problem: str = ""  # empty while the rollups follow TDengine
    last_change: float = 0.0  # time.time() of the last change applied
    changes: int = 0
    stats: RollupStats = field(default_factory=RollupStats)


class RollupFeed:
    def __init__(self, make_table: Callable[[str, dict[str, str]], Any], pipe: Connection,
                 levels: tuple[Level, ...], table_name: str, on_failure: Callable[[str], None],
                 on_new_tables: Callable[[], None] = lambda: None) -> None:
        self.levels = levels
        self.names = {level.name: f"{table_name}_{level.name}" for level in levels}
        self.tables: dict[str, Any] = {}  # level -> Perspective table, once described
        self.status = RollupStatus()
        self._make_table, self._pipe = make_table, pipe  # (name, schema) -> an indexed table
        self._on_failure, self._on_new_tables = on_failure, on_new_tables

    def start(self) -> None:
        IOLoop.current().add_handler(self._pipe.fileno(), self._readable, IOLoop.READ)

    def stop(self) -> None:
        IOLoop.current().remove_handler(self._pipe.fileno())

    def touched(self, touched: Touched) -> None:
        with contextlib.suppress(OSError):  # the process is gone: _readable reports it
            self._pipe.send(touched)

    def describe(self) -> list[dict[str, Any]]:
        """For /config.json: each rollup table, its window and retention, and whether it exists yet."""
        return [{"table": self.names[level.name], "window": level.name, "width_ms": level.width_ms,
                 "keep_ms": level.keep_ms, "ready": level.name in self.tables} for level in self.levels]

    def _readable(self, fd: int, events: int) -> None:
        try:
            while self._pipe.poll():
                self.apply(self._pipe.recv())
        except EOFError:
            self.stop()
            self._on_failure("the rollup process ended unexpectedly")
        except perspective.PerspectiveError as err:
            self.stop()
            self._on_failure(f"Perspective refused rollup rows: {str(err).splitlines()[0]}")

    def apply(self, changes: Changes) -> None:
        self.status.stats = changes.stats
        if changes.schemas is not None:
            self._adopt(changes.schemas)
        if changes.problem:
            log.warning("%s", changes.problem)
        elif self.status.problem and (changes.updates or changes.removed):
            log.info("rollups follow TDengine again")
        if changes.problem or changes.updates or changes.removed:
            self.status.problem = changes.problem
        for level, columns in changes.updates.items():
            self.tables[level].update(columns, format="columns")
        for level, keys in changes.removed.items():
            self.tables[level].remove(keys)
        if changes.updates or changes.removed:
            self.status.changes += 1
            self.status.last_change = time.time()

    def _adopt(self, schemas: dict[str, dict[str, str]]) -> None:
        if self.tables:
            log.warning("the rollup tables are made anew for the table's new columns")
            self._on_new_tables()  # viewers' views hold the old tables
            for table in self.tables.values():
                table.delete()
        self.tables = {level: self._make_table(self.names[level], schema)
                       for level, schema in schemas.items()}
        log.info("rollups: %s", "; ".join(f"{self.names[lv.name]} ({lv.describe()})" for lv in self.levels))
