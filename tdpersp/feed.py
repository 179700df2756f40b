"""Delivering the reader's rows into a Perspective table, and reporting the feed's state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from tornado.ioloop import IOLoop

from tdpersp.reader import ReaderStats, Row
from tdpersp.reader_process import Update
from tdpersp.schema import TICKS_PER_MS

log = logging.getLogger("perspective_server")


def to_columns(rows: Sequence[Row]) -> dict[str, list[Any]]:
    """Reader rows -> Perspective columns; timestamps become epoch milliseconds.

    Perspective 5.x JSON-encodes Python lists, so `datetime` objects are not accepted (the seed
    monkeypatched json for that); epoch-ms numbers are its native datetime input."""
    ts, _tbname, ticker, client, open_, high, low, close, volume, date = zip(*rows, strict=True)
    return {
        "timestamp": [t // TICKS_PER_MS for t in ts],
        "ticker": list(ticker),
        "client": list(client),
        "open": list(open_),
        "high": list(high),
        "low": list(low),
        "close": list(close),
        "volume": list(volume),
        "date": [d // TICKS_PER_MS for d in date],
    }


@dataclass
class FeedStatus:
    state: str = "starting"  # then "live", "waiting for TDengine" or "waiting for table"
    detail: str = ""
    last_update: float = 0.0  # time.time() of the last rows delivered
    updates: int = 0
    reader: ReaderStats = field(default_factory=ReaderStats)


class TableFeed:
    """Receives the reader process's updates on the IOLoop: rows -> one `table.update()` each."""

    def __init__(self, table: Any, pipe: Connection, on_reader_exit: Callable[[], None]) -> None:
        self.table = table
        self.status = FeedStatus()
        self._pipe = pipe
        self._on_reader_exit = on_reader_exit

    def start(self) -> None:
        IOLoop.current().add_handler(self._pipe.fileno(), self._readable, IOLoop.READ)

    def _readable(self, fd: int, events: int) -> None:
        try:
            while self._pipe.poll():
                self.apply(self._pipe.recv())
        except EOFError:
            IOLoop.current().remove_handler(fd)
            self._on_reader_exit()

    def apply(self, update: Update) -> None:
        self.status.reader = update.stats
        if update.state != "live":
            self._waiting(update.state, update.detail)
            return
        if self.status.state != "live":
            log.info("reading rows (%s before)", self.status.state)
        self.status.state, self.status.detail = "live", ""
        if update.rows:
            self.table.update(to_columns(update.rows))
            self.status.updates += 1
            self.status.last_update = time.time()

    def _waiting(self, state: str, detail: str) -> None:
        """The reader sends its state only when it changes, so each of these is worth a line."""
        log.warning("%s: %s; retrying", state, detail)
        self.status.state, self.status.detail = state, detail
