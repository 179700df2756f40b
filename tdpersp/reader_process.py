"""Running the reader in a child process, streaming what it finds to the server over a pipe.

Why a process and not a thread: `taosws` holds Python's GIL while it waits for TDengine (we
measured a query delayed by 1.5 s per answer stopping every other thread of the process for the
whole 4.5 s). In the web server's process, a slow or hung TDengine would freeze the websocket and
the page. In its own process the reader may block; the server stays responsive.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import taosws

from tdpersp.reader import NewRowReader, ReaderStats, Row
from tdpersp.tdconn import LazyConnection, TaosConfig, error_text, is_missing_table

RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class ReaderOptions:
    initial_rows: int
    lookback: int  # ticks of the database precision
    refresh: float  # seconds between polls


@dataclass
class Update:
    """One message from the reader process: new rows, its state, its counters."""

    rows: list[Row] = field(default_factory=list)
    state: str = "live"  # or "waiting for TDengine", "waiting for table"
    detail: str = ""
    stats: ReaderStats = field(default_factory=ReaderStats)


def start(cfg: TaosConfig, options: ReaderOptions) -> tuple[multiprocessing.process.BaseProcess, Connection]:
    """Start the reader process; returns it and the receiving end of its pipe."""
    receiving, sending = multiprocessing.get_context("spawn").Pipe(duplex=False)
    # spawn, not fork: the server process already runs Perspective's native threads.
    process = multiprocessing.get_context("spawn").Process(
        target=run, args=(cfg, options, sending), name="tdengine-reader", daemon=True)
    process.start()
    sending.close()
    return process, receiving


def run(cfg: TaosConfig, options: ReaderOptions, pipe: Connection) -> None:
    """The child's loop: poll, send, sleep. Ends quietly on Ctrl-C or when the server goes away."""
    reader = NewRowReader(LazyConnection(cfg).query, cfg.database, cfg.table, options.initial_rows,
                          options.lookback)
    where = f"{cfg.database}.{cfg.table}"
    last_state = ""
    try:
        while True:
            started = time.monotonic()
            update = poll_once(reader, where)
            if update.rows or update.state != last_state:
                pipe.send(update)
                last_state = update.state
            delay = RETRY_SECONDS if update.state == "waiting for TDengine" else options.refresh
            time.sleep(max(0.0, started + delay - time.monotonic()))
    except (KeyboardInterrupt, BrokenPipeError, EOFError):
        logging.getLogger("perspective_server").debug("reader process stops")


def poll_once(reader: NewRowReader, where: str) -> Update:
    """One poll. A missing table is checked again at the refresh rate (rows should show soon after
    the producer creates it); an unreachable TDengine only every RETRY_SECONDS."""
    try:
        rows: list[Any] = reader.poll()
    except taosws.Error as err:
        if is_missing_table(err):
            detail = f"{where} does not exist yet (is producer.py running?)"
            return Update(state="waiting for table", detail=detail, stats=reader.stats)
        return Update(state="waiting for TDengine", detail=error_text(err), stats=reader.stats)
    return Update(rows=rows, stats=reader.stats)
