"""Running a row source in a child process, streaming what it finds to the server over a pipe.

Why a process and not a thread: `taosws` holds Python's GIL while it waits for TDengine (we
measured a query delayed by 1.5 s per answer stopping every other thread of the process for the
whole 4.5 s). In the web server's process, a slow or hung TDengine would freeze the websocket and
the page. In its own process the source may block; the server stays responsive.

The pipe is two-way: after each batch of rows the child waits for the server's acknowledgement
that `table.update()` has applied them (tdpersp/live/feed.py), and only then tells the source (the
subscription source commits its offsets there, so a crash can never skip rows the table did not
get). The messages are in tdpersp/live/messages.py.
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


def run(cfg: TaosConfig, options: ReaderOptions, pipe: Connection) -> None:
    """The child's loop: read, send, wait for the ack. Ends quietly on Ctrl-C or when the server goes."""
    source = make_source(cfg, options)
    last_state = None
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
        log.debug("reader process stops")
