"""What crosses the pipe between the reader's child process and the server, and the feed's states.

Both ends import this module and nothing else of each other: the child (`process`, the sources)
sends `Update`s, the server's `feed` receives them and answers each batch of rows with an ack.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from tdpersp.core.model import TableInfo


class FeedState(StrEnum):
    """Where the feed stands; the value is what logs, /healthz and the page say."""

    STARTING = "starting"  # the server has not heard from the reader yet
    LIVE = "live"
    WAITING_FOR_TDENGINE = "waiting for TDengine"
    WAITING_FOR_TABLE = "waiting for table"
    WAITING_FOR_HUB = "waiting for the hub"  # an edge server (tdpersp/edge/) whose hub is away


class SourceKind(StrEnum):
    """How new rows are read (PERSPECTIVE_SOURCE)."""

    POLL = "poll"  # a query every refresh (tdpersp/live/poll.py)
    SUBSCRIBE = "subscribe"  # a TDengine topic (tdpersp/live/subscribe.py)


@dataclass(frozen=True)
class ReaderOptions:
    initial_rows: int
    lookback_ms: float  # how far behind the newest row the poll reader looks for late rows
    refresh: float  # seconds between polls
    source: SourceKind = SourceKind.POLL
    topic: str = ""
    group: str = ""


@dataclass
class ReaderStats:
    polls: int = 0
    delivered: int = 0
    late: int = 0  # rows found behind the watermark by the lookback check
    queries: int = 0
    commits: int = 0  # subscribe source: offsets committed after the table applied the rows


@dataclass
class Update:
    """One message from the reader process: new rows (as Perspective column JSON), its state, counters."""

    columns: str = ""  # for table.update(columns, format="columns"); empty when no rows
    count: int = 0
    state: FeedState = FeedState.LIVE
    detail: str = ""
    notice: str = ""  # something the server should log (e.g. how the source recovered)
    stats: ReaderStats = field(default_factory=ReaderStats)
    # The table as the source found it, sent before its first rows and again whenever it changed:
    # the server (re)makes the Perspective table from it, and the rows that follow fit it.
    table: TableInfo | None = None
    # The seconds the rows fall in, as epoch-millisecond spans [start, end): the windows the
    # rollups ask TDengine for again (tdpersp/rollups/).
    touched: tuple[tuple[int, int], ...] = ()
