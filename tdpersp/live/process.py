"""Running a row source in a child process, streaming what it finds to the server over a pipe.

Why a process and not a thread: `taosws` holds Python's GIL while it waits for TDengine (we
measured a query delayed by 1.5 s per answer stopping every other thread of the process for the
whole 4.5 s). In the web server's process, a slow or hung TDengine would freeze the websocket and
the page. In its own process the source may block; the server stays responsive.

The pipe is two-way: the server acknowledges each batch of rows once `table.update()` has applied
it (tdpersp/live/feed.py), and the child tells the source (the subscription source commits its
offsets only for applied rows, so a crash can never skip rows the table did not get). The child
reads the next batch while the server applies one (at most MAX_IN_FLIGHT unacknowledged): waiting
for each acknowledgement before reading on was 37 % of the reader's time at 50,000 rows/s with
`subscribe` (py-spy, 2026-12-02). The messages are in tdpersp/live/messages.py.
"""

from __future__ import annotations

import logging
import multiprocessing
from multiprocessing.connection import Connection

from tdpersp.core.tdconn import TaosConfig
from tdpersp.live.messages import ReaderOptions, SourceKind
from tdpersp.live.poll import PollSource
from tdpersp.live.source import Source
from tdpersp.live.subscribe import SubscriptionSource

log = logging.getLogger(__name__)


def start(cfg: TaosConfig, options: ReaderOptions) -> tuple[multiprocessing.process.BaseProcess, Connection]:
    """Start the reader process; returns it and the server's end of its two-way pipe."""
    context = multiprocessing.get_context("spawn")  # not fork: the server runs Perspective's threads
    server_end, child_end = context.Pipe(duplex=True)
    process = context.Process(target=run, args=(cfg, options, child_end), name="tdengine-reader", daemon=True)
    process.start()
    child_end.close()
    return process, server_end


def make_source(cfg: TaosConfig, options: ReaderOptions) -> Source:
    if options.source == SourceKind.SUBSCRIBE:
        return SubscriptionSource(cfg, options)
    return PollSource(cfg, options)


MAX_IN_FLIGHT = 1  # batches sent and not yet acknowledged: one applying while the next is read


def run(cfg: TaosConfig, options: ReaderOptions, pipe: Connection) -> None:
    """The child's loop: read, send, and take the acks as they come. Ends quietly on Ctrl-C or when
    the server goes."""
    source = make_source(cfg, options)
    last_state = None
    in_flight = 0
    try:
        while True:
            if in_flight and source.settle():
                in_flight = acknowledged(pipe, source, in_flight, keep=0)
            update = source.read()
            in_flight = acknowledged(pipe, source, in_flight, keep=in_flight if update.count else 0)
            if update.count or update.notice or update.state != last_state:
                in_flight = acknowledged(pipe, source, in_flight, keep=MAX_IN_FLIGHT - 1)
                pipe.send(update)
                last_state = update.state
            in_flight += bool(update.count)
    except (KeyboardInterrupt, BrokenPipeError, EOFError):
        log.debug("reader process stops")


def acknowledged(pipe: Connection, source: Source, in_flight: int, keep: int) -> int:
    """Take the acks already there, and wait for more until at most `keep` batches are in flight;
    returns how many are."""
    while in_flight and (in_flight > keep or pipe.poll()):
        pipe.recv()  # the server applied the oldest batch in flight
        source.applied()
        in_flight -= 1
    return in_flight
