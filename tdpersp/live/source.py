"""What a row source is, and how both sources report rows and outages (tdpersp/live/poll.py,
tdpersp/live/subscribe.py)."""

from __future__ import annotations

from typing import Protocol

import taosws

from tdpersp.core.tdconn import error_text, is_missing_table
from tdpersp.live import columns
from tdpersp.live.messages import FeedState, ReaderStats, Update
from tdpersp.live.rows import Row

RETRY_SECONDS = 1.0  # between attempts while TDengine is unreachable


class Source(Protocol):
    """Where rows come from, in the reader's child process (tdpersp/live/process.py)."""

    def read(self) -> Update:
        """The next rows or a state change; may block up to about a refresh period."""

    def applied(self) -> None:
        """The rows of the last read() are in the Perspective table."""


def rows_update(rows: list[Row], stats: ReaderStats) -> Update:
    """The message for `rows`, encoded here in the child process (see tdpersp/live/columns.py)."""
    return Update(columns=columns.encode(rows) if rows else "", count=len(rows), stats=stats)


def failure(err: taosws.Error, where: str, stats: ReaderStats) -> Update:
    """The state to report for a TDengine error."""
    if is_missing_table(err):
        detail = f"{where} does not exist yet (is producer.py running?)"
        return Update(state=FeedState.WAITING_FOR_TABLE, detail=detail, stats=stats)
    return Update(state=FeedState.WAITING_FOR_TDENGINE, detail=error_text(err), stats=stats)
