"""Running a row source in a child process, streaming what it finds to the server over a pipe.

Why a process and not a thread: `taosws` holds Python's GIL while it waits for TDengine (we
measured a query delayed by 1.5 s per answer stopping every other thread of the process for the
whole 4.5 s). In the web server's process, a slow or hung TDengine would freeze the websocket and
the page. In its own process the source may block; the server stays responsive.

The pipe is two-way: after each batch of rows the child waits for the server's acknowledgement
that `table.update()` has applied them, and only then tells the source (the subscription source
commits its offsets there, so a crash can never skip rows the table did not get).
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Protocol

import taosws

from tdpersp import columns
from tdpersp.reader import NewRowReader, ReaderStats, Row
from tdpersp.tdconn import LazyConnection, TaosConfig, error_text, is_missing_table

RETRY_SECONDS = 1.0
LIVE = "live"
WAITING_FOR_TDENGINE = "waiting for TDengine"
WAITING_FOR_TABLE = "waiting for table"


@dataclass(frozen=True)
class ReaderOptions:
    initial_rows: int
    lookback: int  # ticks of the database precision
    refresh: float  # seconds between polls
    source: str = "poll"  # or "subscribe"
    topic: str = ""
    group: str = ""


@dataclass
class Update:
    """One message from the reader process: new rows (as Perspective column JSON), its state, counters."""

    columns: str = ""  # for table.update(columns, format="columns"); empty when no rows
    count: int = 0
    state: str = LIVE  # or WAITING_FOR_TDENGINE, WAITING_FOR_TABLE
    detail: str = ""
    notice: str = ""  # something the server should log (e.g. how the source recovered)
    stats: ReaderStats = field(default_factory=ReaderStats)

    @classmethod
    def of_rows(cls, rows: list[Row], stats: ReaderStats) -> Update:
        return cls(columns=columns.encode(rows) if rows else "", count=len(rows), stats=stats)


class Source(Protocol):
    """Where rows come from: the poll reader below, or tdpersp/subscriber.py."""

    def read(self) -> Update:
        """The next rows or a state change; may block up to about a refresh period."""

    def applied(self) -> None:
        """The rows of the last read() are in the Perspective table."""


def start(cfg: TaosConfig, options: ReaderOptions) -> tuple[multiprocessing.process.BaseProcess, Connection]:
    """Start the reader process; returns it and the server's end of its two-way pipe."""
    context = multiprocessing.get_context("spawn")  # not fork: the server runs Perspective's threads
    server_end, child_end = context.Pipe(duplex=True)
    process = context.Process(target=run, args=(cfg, options, child_end), name="tdengine-reader", daemon=True)
    process.start()
    child_end.close()
    return process, server_end


def make_source(cfg: TaosConfig, options: ReaderOptions) -> Source:
    if options.source == "subscribe":
        from tdpersp.subscriber import SubscriptionSource

        return SubscriptionSource(cfg, options)
    return PollSource(cfg, options)


def run(cfg: TaosConfig, options: ReaderOptions, pipe: Connection) -> None:
    """The child's loop: read, send, wait for the ack. Ends quietly on Ctrl-C or when the server goes."""
    source = make_source(cfg, options)
    last_state = ""
    try:
        while True:
            update = source.read()
            if update.count or update.notice or update.state != last_state:
                pipe.send(update)
                last_state = update.state
            if update.count:
                pipe.recv()  # the server applied them
                source.applied()
    except (KeyboardInterrupt, BrokenPipeError, EOFError):
        logging.getLogger("perspective_server").debug("reader process stops")


class PollSource:
    """The watermark reader (tdpersp/reader.py), polled every refresh period."""

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
        self._next = started + (RETRY_SECONDS if update.state == WAITING_FOR_TDENGINE else self.refresh)
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
    return Update.of_rows(rows, reader.stats)


def failure(err: taosws.Error, where: str, stats: ReaderStats) -> Update:
    """The state to report for a TDengine error."""
    if is_missing_table(err):
        detail = f"{where} does not exist yet (is producer.py running?)"
        return Update(state=WAITING_FOR_TABLE, detail=detail, stats=stats)
    return Update(state=WAITING_FOR_TDENGINE, detail=error_text(err), stats=stats)
