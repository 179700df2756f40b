"""What a row source is, and what both sources share (tdpersp/live/poll.py, tdpersp/live/subscribe.py):
how they find the table's shape, and how they report rows and outages."""

from __future__ import annotations

import time
from typing import Protocol

import taosws

from tdpersp.core.model import TableInfo, describe_table
from tdpersp.core.tdconn import LazyConnection, error_text, is_missing_table
from tdpersp.core.tdsql import Unsupported
from tdpersp.live.columns import Encoder
from tdpersp.live.messages import FeedState, ReaderStats, Update
from tdpersp.live.rows import Row, RowLayout, seconds

RETRY_SECONDS = 1.0  # between attempts while TDengine is unreachable
SCHEMA_SECONDS = 2.0  # how often a live source checks whether the table's schema changed


class Source(Protocol):
    """Where rows come from, in the reader's child process (tdpersp/live/process.py)."""

    def read(self) -> Update:
        """The next rows or a state change; may block up to about a refresh period."""

    def applied(self) -> None:
        """The rows of the oldest read() not yet acknowledged are in the Perspective table."""

    def settle(self) -> bool:
        """Whether every batch in flight should be applied before the next read()."""


class Shape:
    """The table's shape as last described, re-described at most every SCHEMA_SECONDS: a source asks
    `changed()` and, when it says yes, starts over with the new layout (the server remakes the
    Perspective table from the TableInfo the next Update carries)."""

    def __init__(self, conn: LazyConnection, database: str, table: str) -> None:
        self._conn, self._database, self._table = conn, database, table
        self.info: TableInfo | None = None
        self._layout: RowLayout | None = None
        self._encoder: Encoder | None = None
        self._checked = 0.0

    def changed(self, *, now: bool = False) -> bool:
        """Describe the table (raises taosws.Error, e.g. it does not exist yet) if it is due or `now`;
        True when it differs from before, the first time included."""
        if self.info is not None and not now and time.monotonic() - self._checked < SCHEMA_SECONDS:
            return False
        try:
            info = describe_table(self._conn, self._database, self._table)
        except Unsupported as err:  # the database went away between two queries: wait, as for one missing
            raise taosws.Error(f"[0x0388] {err}") from None
        self._checked = time.monotonic()
        if info == self.info:
            return False
        self.info, self._layout = info, RowLayout(info)
        self._encoder = Encoder(self._layout)
        return True

    @property
    def layout(self) -> RowLayout:
        if self._layout is None:
            raise RuntimeError("the table has not been described yet")
        return self._layout

    def rows_update(self, rows: list[Row], stats: ReaderStats) -> Update:
        """The message for `rows`, encoded here in the child process (see tdpersp/live/columns.py)."""
        if not rows:
            return Update(stats=stats)
        if self._encoder is None:
            raise RuntimeError("rows before the table was described")
        return Update(columns=self._encoder.encode(rows), count=len(rows), stats=stats,
                      touched=seconds(rows, self.layout.table.precision))


def failure(err: taosws.Error, where: str, stats: ReaderStats) -> Update:
    """The state to report for a TDengine error."""
    if is_missing_table(err):
        detail = f"{where} does not exist yet (is producer.py running?)"
        return Update(state=FeedState.WAITING_FOR_TABLE, detail=detail, stats=stats)
    return Update(state=FeedState.WAITING_FOR_TDENGINE, detail=error_text(err), stats=stats)
