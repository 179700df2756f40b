"""Delivering the reader's rows into a Perspective table, and reporting the feed's state.

The table is made from the table model the reader sends before its first rows (any TDengine
table: its columns and tags under their names), and made again when that model changes. Each
batch is acknowledged to the reader process once `table.update()` has returned: the
subscription source commits its offsets only then (see tdpersp/live/process.py)."""

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

from tdpersp.core.model import TableInfo
from tdpersp.live.messages import FeedState, ReaderStats, Update

log = logging.getLogger(__name__)


@dataclass
class FeedStatus:
    state: FeedState = FeedState.STARTING
    detail: str = ""
    last_update: float = 0.0  # time.time() of the last rows delivered
    updates: int = 0
    reader: ReaderStats = field(default_factory=ReaderStats)


class TableFeed:
    """Receives the reader process's updates on the IOLoop: rows -> one `table.update()` each, then an ack."""

    def __init__(self, make_table: Callable[[dict[str, str]], Any], pipe: Connection,
                 on_failure: Callable[[str], None], on_new_table: Callable[[], None] = lambda: None,
                 on_update: Callable[[Update, bool], None] = lambda update, resumed: None) -> None:
        self.table: Any = None  # made once the reader says what the TDengine table holds
        self.model: TableInfo | None = None
        self.status = FeedStatus()
        self._make_table = make_table  # Perspective schema -> a new (empty) Perspective table
        self._pipe = pipe
        self._on_failure = on_failure  # the feed cannot go on: the server stops, saying why
        # Called before a table is replaced: viewers' views hold the old one, so they must go first.
        self._on_new_table = on_new_table
        # Called after each live update is applied, with whether the feed was not live before it
        # (the server starts, or TDengine is back): the rollups follow the rows from here.
        self._on_update = on_update

    def describe(self) -> dict[str, Any]:
        """The live table's part of /config.json: its columns, tags and source (null and empty
        until the reader found the TDengine table; the page builds its panels from them)."""
        model = self.model
        return {"schema": model.perspective_schema() if model else None,
                "tags": [c.name for c in model.columns if c.is_tag] if model else [],
                "source": f"{model.db}.{model.name}" if model else None}

    def start(self) -> None:
        IOLoop.current().add_handler(self._pipe.fileno(), self._readable, IOLoop.READ)

    def stop(self) -> None:
        """Stop listening before the server ends the reader, so that its end is no failure."""
        IOLoop.current().remove_handler(self._pipe.fileno())

    def _readable(self, fd: int, events: int) -> None:
        try:
            while self._pipe.poll():
                self.apply(self._pipe.recv())
        except EOFError:
            self._fail("the reader process ended unexpectedly")
        except perspective.PerspectiveError as err:
            # Unacknowledged, these rows stay uncommitted for the next start (subscribe); going on
            # would leave the reader waiting for the acknowledgement forever.
            self._fail(f"Perspective refused a batch of rows: {str(err).splitlines()[0]}")

    def _fail(self, reason: str) -> None:
        self.stop()
        self._on_failure(reason)

    def apply(self, update: Update) -> None:
        self.status.reader = update.stats
        if update.table is not None:
            self._adopt(update.table)
        if update.notice:
            log.warning("%s", update.notice)
        if update.state != FeedState.LIVE:
            self._waiting(update.state, update.detail)
            return
        resumed = self.status.state != FeedState.LIVE
        if resumed:
            log.info("reading rows (%s before)", self.status.state)
        self.status.state, self.status.detail = FeedState.LIVE, ""
        if update.count:
            self.table.update(update.columns, format="columns")
            with contextlib.suppress(OSError):  # the reader is gone: _readable sees the EOF next
                self._pipe.send(True)  # applied: the source may commit
            self.status.updates += 1
            self.status.last_update = time.time()
        self._on_update(update, resumed)

    def _waiting(self, state: FeedState, detail: str) -> None:
        """The reader sends its state only when it changes, so each of these is worth a line."""
        log.warning("%s: %s; retrying", state, detail)
        self.status.state, self.status.detail = state, detail

    def _adopt(self, model: TableInfo) -> None:
        """Make the Perspective table for `model`, replacing the one there was if its schema differs."""
        schema = model.perspective_schema()
        for name, td_type in model.skipped:
            log.warning("column %s (%s) of %s.%s is left out: Perspective has no type for it",
                        name, td_type, model.db, model.name)
        if self.table is not None:
            before = self.model.perspective_schema()
            if schema == before:
                self.model = model
                return
            log.warning("%s.%s changed: %s; the Perspective table is made anew and refilled",
                        model.db, model.name, describe_change(before, schema))
            self._on_new_table()
            self.table.delete()
        self.table, self.model = self._make_table(schema), model


def describe_change(before: dict[str, str], after: dict[str, str]) -> str:
    """`added voltage (integer), dropped phase`: what a log line says of a schema change."""
    parts = [f"added {n} ({t})" for n, t in after.items() if n not in before]
    parts += [f"dropped {n}" for n in before if n not in after]
    parts += [f"{n} is now {t}" for n, t in after.items() if before.get(n, t) != t]
    return ", ".join(parts) or "columns reordered"
