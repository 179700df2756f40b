"""Streams new TDengine rows into a live Perspective table and serves it to browsers.

Every PERSPECTIVE_REFRESH_RATE milliseconds the rows written since the last read are read
from TDengine, each exactly once, and added to the Perspective table PERSPECTIVE_TABLE_NAME,
which keeps the newest PERSPECTIVE_TABLE_LIMIT rows. With PERSPECTIVE_SOURCE=subscribe, rows come
from a TDengine topic instead, whatever their timestamp. http://PERSPECTIVE_HOST:PERSPECTIVE_PORT/
shows the viewer; browsers can read the table over /websocket but not change it.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from typing import Any

import perspective
import tornado.httpserver
import tornado.netutil

from tdpersp.core import config
from tdpersp.core.tdconn import TaosConfig
from tdpersp.edge import upstream
from tdpersp.edge.replicas import EdgeFeed, EdgeRollups
from tdpersp.history import process as history_process
from tdpersp.live import process as reader_process
from tdpersp.live.feed import TableFeed
from tdpersp.live.messages import ReaderOptions, SourceKind, Update
from tdpersp.live.subscribe import default_group, default_topic
from tdpersp.rollups import process as rollup_process
from tdpersp.rollups import spec as rollup_spec
from tdpersp.rollups.feed import RollupFeed
from tdpersp.rollups.messages import Touched
from tdpersp.serve.access import Access
from tdpersp.serve.app import History, make_app
from tdpersp.serve.engine import engine_threads
from tdpersp.serve.sockets import ViewerSocket, close_sockets

log = logging.getLogger("perspective_server")

SETTINGS = (
    *config.TAOS_SETTINGS,
    config.Setting("PERSPECTIVE_TABLE_NAME", "stock_values", "name of the Perspective table",
                   config.identifier),
    config.Setting("PERSPECTIVE_TABLE_LIMIT", "1000", "rows the Perspective table keeps (oldest go first)",
                   config.positive_int),
    config.Setting("PERSPECTIVE_REFRESH_RATE", "250", "milliseconds between reads from TDengine",
                   config.positive_float),
    config.Setting("PERSPECTIVE_LOOKBACK", "2000", "milliseconds behind the newest row checked for late rows",
                   config.positive_float),
    config.Setting("PERSPECTIVE_HOST", "127.0.0.1", "address to listen on (0.0.0.0 exposes it)", config.host),
    config.Setting("PERSPECTIVE_PORT", "8080", "port to listen on", config.port),
    # --- who may connect, and how much one connection may ask (tdpersp/serve/) ---
    config.Setting("PERSPECTIVE_ALLOWED_HOSTS", "",
                   "host names the server answers to besides IP addresses and localhost, comma-separated",
                   config.names),
    config.Setting("PERSPECTIVE_TOKEN", "",
                   "if set, the page, /config.json and the websockets require ?token=", secret=True),
    config.Setting("PERSPECTIVE_MAX_VIEWS", "64", "views one websocket connection may open",
                   config.positive_int),
    config.Setting("PERSPECTIVE_MAX_GROUPED_VIEWS", "32",
                   "views with group_by, split_by or expressions the live table keeps, over all connections "
                   "(the served page needs none)", config.positive_int),
    config.Setting("PERSPECTIVE_VIEW_RATE", "20",
                   "new views per second one client address may open, after a burst of 64",
                   config.positive_float),
    config.Setting("PERSPECTIVE_MAX_QUEUE_BYTES", str(32 * 1024 * 1024),
                   "unsent bytes after which a viewer that reads too slowly is disconnected",
                   config.positive_int),
    # --- where rows come from (tdpersp/live/) ---
    config.Setting("PERSPECTIVE_SOURCE", "poll",
                   "how new rows are read: poll (query every refresh) or subscribe (a TDengine topic)",
                   config.choice(SourceKind)),
    config.Setting("PERSPECTIVE_TOPIC", "",
                   "topic for subscribe, created if missing (empty: TAOS_DATABASE_TAOS_TABLENAME_live)",
                   config.optional(config.identifier)),
    config.Setting("PERSPECTIVE_GROUP", "",
                   "consumer group for subscribe; servers in different groups each get every row "
                   "(empty: perspective_ plus this host's name and PERSPECTIVE_PORT)",
                   config.optional(config.identifier)),
    # --- an edge server: the hub's tables instead of TDengine's rows (tdpersp/edge/) ---
    config.Setting("PERSPECTIVE_UPSTREAM", "",
                   "an edge's hub: the websocket URL of another perspective_server.py (e.g. "
                   "ws://hub:8080/websocket, with ?token= if it has one) whose tables this one copies "
                   "instead of reading TDengine (history is still read from TDengine); empty: read TDengine",
                   upstream.parse),
    # --- all of history (tdpersp/history/) ---
    config.Setting("PERSPECTIVE_HISTORY_NAME", "stock_history",
                   "name of the virtual table over every row of TAOS_TABLENAME", config.identifier),
    config.Setting("PERSPECTIVE_HISTORY_TABLES", "",
                   "more TDengine tables to serve as history, comma-separated db.table (e.g. test.meters)",
                   config.table_list),
    # --- rolling aggregates over all of history (tdpersp/rollups/) ---
    config.Setting("PERSPECTIVE_ROLLUPS", rollup_spec.DEFAULT,
                   "window lengths of the live aggregate tables PERSPECTIVE_TABLE_NAME_<window>, each "
                   "with how long it is kept (none: for ever), comma-separated; empty: no rollups",
                   rollup_spec.parse),
)


def table_maker(server: perspective.Server, values: argparse.Namespace) -> Callable[[dict[str, str]], Any]:
    """Makes the original demo's limited table, which keeps the newest PERSPECTIVE_TABLE_LIMIT rows,
    with the schema the reader found in TDengine (tdpersp/live/feed.py)."""
    client = server.new_local_client()

    def make(schema: dict[str, str]) -> Any:
        return client.table(schema, limit=values.perspective_table_limit, name=values.perspective_table_name)

    return make


def rollup_maker(server: perspective.Server) -> Callable[[str, dict[str, str]], Any]:
    """Makes a rollup table: one row per group and window, replaced by key (tdpersp/rollups/)."""
    client = server.new_local_client()
    return lambda name, schema: client.table(schema, index="key", name=name)


def follow(rollups: RollupFeed | None) -> Callable[[Update, bool], None]:
    """The live feed's updates -> what the rollups ask TDengine for again: the seconds new rows fell
    in, and everything after the live source started over or TDengine was gone a while."""
    def on_update(update: Update, resumed: bool) -> None:
        if rollups is not None and (update.touched or update.table or update.notice or resumed):
            rollups.touched(Touched(update.touched, update.table, resync=resumed or bool(update.notice)))
    return on_update


def access(values: argparse.Namespace) -> Access:
    return Access(allowed_hosts=values.perspective_allowed_hosts, token=values.perspective_token,
                  max_views=values.perspective_max_views,
                  max_grouped_views=values.perspective_max_grouped_views,
                  views_per_second=values.perspective_view_rate,
                  max_queued_bytes=values.perspective_max_queue_bytes)


def reader_options(values: argparse.Namespace) -> ReaderOptions:
    return ReaderOptions(
        initial_rows=values.perspective_table_limit,
        lookback_ms=values.perspective_lookback,
        refresh=values.perspective_refresh_rate / 1000,
        source=values.perspective_source,
        topic=values.perspective_topic or default_topic(values.taos_database, values.taos_tablename),
        group=values.perspective_group or default_group(values.perspective_port),
    )


@dataclass
class Live:
    """Where the served tables come from: the reader (and rollup) processes, or an edge's hub."""

    server: Any  # what the live websocket's sessions are made by
    feed: TableFeed | EdgeFeed
    rollups: RollupFeed | EdgeRollups | None
    children: list[BaseProcess]
    description: str


def read_tdengine(values: argparse.Namespace, cfg: TaosConfig, fail: Callable[[str], None],
                  new_tables: Callable[[], None]) -> Live:
    """The reader process filling the live table, and the rollup process filling the rollups."""
    server = perspective.Server()
    options = reader_options(values)
    reader, pipe = reader_process.start(cfg, options)
    children = [reader]
    rollups = None
    if values.perspective_rollups:
        roller, rollup_pipe = rollup_process.start(cfg, values.perspective_rollups, options.refresh)
        children.append(roller)
        rollups = RollupFeed(rollup_maker(server), rollup_pipe, values.perspective_rollups,
                             values.perspective_table_name, on_failure=fail, on_new_tables=new_tables)
        rollups.start()
    else:
        log.info("no rollups (PERSPECTIVE_ROLLUPS is empty)")
    feed = TableFeed(table_maker(server, values), pipe, on_failure=fail, on_new_table=new_tables,
                     on_update=follow(rollups))
    feed.start()
    return Live(server, feed, rollups, children, f"reading {cfg.describe()} by {describe_source(options)}")


def copy_hub(hub: upstream.HubAddress, new_tables: Callable[[], None]) -> Live:
    """An edge: the hub's tables, copied (its rollups too: PERSPECTIVE_ROLLUPS does not apply)."""
    edge = EdgeFeed(hub, on_new_tables=new_tables)
    edge.start()
    return Live(edge, edge, edge.rollups, [], f"copying the tables of the hub {hub}")


async def serve(values: argparse.Namespace, sockets: list[socket.socket]) -> int:
    """Serve on the bound `sockets` until SIGINT/SIGTERM (exit 0) or until the feed cannot go on
    (exit 1, saying why)."""
    cfg = TaosConfig.from_settings(values)
    threads = engine_threads(values.perspective_max_grouped_views)
    log.info("Perspective computes views on %d threads (PERSPECTIVE_MAX_GROUPED_VIEWS + 1 at least)", threads)
    exit_code: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finish(code: int) -> None:
        if not exit_code.done():
            exit_code.set_result(code)

    def fail(reason: str) -> None:
        log.error("%s; stopping", reason)
        finish(1)

    open_sockets: set[ViewerSocket] = set()
    new_tables = functools.partial(close_sockets, open_sockets, 1012, "the table changed")
    if values.perspective_upstream:
        live = copy_hub(values.perspective_upstream, new_tables)
    else:
        live = read_tdengine(values, cfg, fail, new_tables)
    history_tables = history_sources(cfg, values)
    history, history_server = history_process.start(cfg, history_tables)
    app = make_app(live.server, live.feed, values.perspective_table_name, open_sockets, access(values),
                   History(history_server, list(history_tables)), live.rollups)
    http_server = tornado.httpserver.HTTPServer(app)
    http_server.add_sockets(sockets)
    log.info("serving http://%s:%d/ (table %r, websocket /websocket), %s", values.perspective_host,
             values.perspective_port, values.perspective_table_name, live.description)
    log.info("history: %s at /websocket/history", ", ".join(history_tables))
    for signum in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signum, finish, 0)
    code = await exit_code
    http_server.stop()  # accept no new connections while shutting down
    close_sockets(open_sockets)
    live.feed.stop()  # the children are ended on purpose now: their pipes closing is no failure
    history_server.stop()
    if isinstance(live.rollups, RollupFeed):
        live.rollups.stop()
    for child in [*live.children, history]:
        child.terminate()
        child.join(timeout=5)
    log.info("stopped after %s", stopped_after(live.feed))
    return code


def stopped_after(feed: TableFeed | EdgeFeed) -> str:
    if isinstance(feed, EdgeFeed):
        return f"{feed.stats.connects} connections to the hub"
    return f"delivering {feed.status.reader.delivered} rows"


def describe_source(options: ReaderOptions) -> str:
    if options.source == SourceKind.SUBSCRIBE:
        return f"subscription (topic {options.topic}, consumer group {options.group})"
    return f"polling every {options.refresh * 1000:g} ms"


def history_sources(cfg: TaosConfig, values: argparse.Namespace) -> dict[str, tuple[str, str]]:
    """The virtual tables of all of history (tdpersp/history/): hosted name -> (database, table)."""
    tables = {values.perspective_history_name: (cfg.database, cfg.table)}
    tables.update({f"{db}.{table}": (db, table) for db, table in values.perspective_history_tables})
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    values = config.load(SETTINGS, __doc__ or "", argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:  # before anything starts, so that a port taken stops nothing half-started
        sockets = tornado.netutil.bind_sockets(values.perspective_port, address=values.perspective_host)
    except OSError as err:  # e.g. the port is taken, or the address is not this machine's
        log.error("cannot listen on %s:%d: %s", values.perspective_host, values.perspective_port, err)
        return 1
    return asyncio.run(serve(values, sockets))


if __name__ == "__main__":
    sys.exit(main())
