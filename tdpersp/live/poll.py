"""The `poll` source: the watermark reader (tdpersp/live/reader.py), polled every refresh period."""

from __future__ import annotations

import time

import taosws

from tdpersp.core.model import TableInfo
from tdpersp.core.tdconn import LazyConnection, TaosConfig, is_connection_error, is_missing_table
from tdpersp.core.tdsql import TICKS_PER_MS
from tdpersp.live.messages import FeedState, ReaderOptions, ReaderStats, Update
from tdpersp.live.reader import NewRowReader
from tdpersp.live.source import RETRY_SECONDS, Shape, failure


class PollSource:
    def __init__(self, cfg: TaosConfig, options: ReaderOptions) -> None:
        self._conn = LazyConnection(cfg)
        self.shape = Shape(self._conn, cfg.database, cfg.table)
        self.options = options
        self.reader: NewRowReader | None = None
        self.stats = ReaderStats()
        self.where = f"{cfg.database}.{cfg.table}"
        self._next = time.monotonic()
        self._recheck = False  # a query failed: the schema may have changed under us
        self._from_start = False  # the table was missing before we first saw it: every row is new

    def read(self) -> Update:
        time.sleep(max(0.0, self._next - time.monotonic()))
        started = time.monotonic()
        update = self._poll_once()
        waiting = update.state == FeedState.WAITING_FOR_TDENGINE
        self._next = started + (RETRY_SECONDS if waiting else self.options.refresh)
        return update

    def applied(self) -> None:
        """Nothing to do: the reader's watermark already moved when it read the rows."""

    def settle(self) -> bool:
        return False  # nothing to commit

    def _poll_once(self) -> Update:
        """One poll. A missing table is checked again at the refresh rate (rows should show soon after
        the producer creates it); an unreachable TDengine only every RETRY_SECONDS."""
        try:
            table = self._shape()
            rows = self.reader.poll() if self.reader else []
        except taosws.Error as err:
            self._recheck = not is_connection_error(err)
            self._from_start |= self.reader is None and is_missing_table(err)
            return failure(err, self.where, self.stats)
        update = self.shape.rows_update(rows, self.stats)
        update.table = table
        return update

    def _shape(self) -> TableInfo | None:
        """The new TableInfo when the table is new or changed (the reader then starts over, as at
        start-up, for the server's new Perspective table), else None."""
        if not self.shape.changed(now=self._recheck):
            return None
        self._recheck = False
        lookback = int(self.options.lookback_ms * TICKS_PER_MS[self.shape.layout.table.precision])
        self.reader = NewRowReader(self._conn.query, self.shape.layout, self.options.initial_rows, lookback,
                                   stats=self.stats, from_start=self._from_start)
        return self.shape.info
