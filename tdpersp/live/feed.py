"""Delivering the reader's rows into a Perspective table, and reporting the feed's state.

Each batch is acknowledged to the reader process once `table.update()` has returned: the
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

    def __init__(self, table: Any, pipe: Connection, on_failure: Callable[[str], None]) -> None:
        self.table = table
        self.status = FeedStatus()
        self._pipe = pipe
        self._on_failure = on_failure  # the feed cannot go on: the server stops, saying why

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
        if update.notice:
            log.warning("%s", update.notice)
        if update.state != FeedState.LIVE:
            self._waiting(update.state, update.detail)
            return
        if self.status.state != FeedState.LIVE:
            log.info("reading rows (%s before)", self.status.state)
        self.status.state, self.status.detail = FeedState.LIVE, ""
        if update.count:
            self.table.update(update.columns, format="columns")
            with contextlib.suppress(OSError):  # the reader is gone: _readable sees the EOF next
                self._pipe.send(True)  # applied: the source may commit
            self.status.updates += 1
            self.status.last_update = time.time()

    def _waiting(self, state: FeedState, detail: str) -> None:
        """The reader sends its state only when it changes, so each of these is worth a line."""
        log.warning("%s: %s; retrying", state, detail)
        self.status.state, self.status.detail = state, detail
