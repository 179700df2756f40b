"""The `poll` source: the watermark reader (tdpersp/live/reader.py), polled every refresh period."""

from __future__ import annotations

import time

import taosws

from tdpersp.core.tdconn import LazyConnection, TaosConfig
from tdpersp.live.messages import FeedState, ReaderOptions, Update
from tdpersp.live.reader import NewRowReader
from tdpersp.live.source import RETRY_SECONDS, failure, rows_update


class PollSource:
    def __init__(self, cfg: TaosConfig, options: ReaderOptions) -> None:
        self.reader = NewRowReader(LazyConnection(cfg).query, cfg.database, cfg.table, options.initial_rows,
                                   options.lookback)
        self.where = f"{cfg.database}.{cfg.table}"
        self.refresh = options.refresh
        self._next = time.monotonic()

    def read(self) -> Update:
        time.sleep(max(0.0, self._next - time.monotonic()))
        started = time.monotonic()
        update = poll_once(self.reader, self.where)
        waiting = update.state == FeedState.WAITING_FOR_TDENGINE
        self._next = started + (RETRY_SECONDS if waiting else self.refresh)
        return update

    def applied(self) -> None:
        """Nothing to do: the reader's watermark already moved when it read the rows."""


def poll_once(reader: NewRowReader, where: str) -> Update:
    """One poll. A missing table is checked again at the refresh rate (rows should show soon after
    the producer creates it); an unreachable TDengine only every RETRY_SECONDS."""
    try:
        rows = reader.poll()
    except taosws.Error as err:
        return failure(err, where, reader.stats)
    return rows_update(rows, reader.stats)
