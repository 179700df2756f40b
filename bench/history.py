"""All of history: the TDengine virtual server versus loading every row into a Perspective table.

    ./venv/bin/python bench/history.py [--rows 1000000 10000000] [--screen 50]

For each row count: fills a fresh stand-in with producer-shaped trades through the real client
(stmt2, as producer.py writes), then measures, side by side, in two server processes:

* virtual: `tdpersp.history`'s handler in the child process perspective_server.py runs
  (`history_process.run`); each screen is answered by SQL in TDengine;
* loaded:  a process that reads every row from TDengine and loads it into a Perspective table,
  then answers the same views from it (what the live table would need to show all of history).

Timed, from a Perspective client in this process: the first screen of a group-by-ticker view
(opening the table included), and a scroll to the middle of the flat, time-sorted grid. Memory is
each server process's peak resident size (VmHWM). Figures are for the stand-in (sqlite behind
the TDengine protocol), not TDengine.
"""

from __future__ import annotations

import argparse
import functools
import multiprocessing
import random
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import perspective

from tdpersp.core import trades
from tdpersp.core.model import describe_table
from tdpersp.core.tdconn import LazyConnection, TaosConfig, connect
from tdpersp.core.tdsql import TICKS_PER_MS
from tdpersp.core.writer import BatchWriter, ensure_schema
from tdpersp.history import process as history_process
from tdpersp.history.sql import value_sql
from tests.standin.fixture import StandInProcess

BATCH = 50_000
TABLE = "stock_history"
PAGE = 100_000  # rows per SELECT when loading everything


def fill(cfg: TaosConfig, rows: int, clock: trades.MonotonicClock | None = None) -> float:
    """Writes `rows` trades with stmt2, stamped by `clock` (default: now on, one µs apart at
    least); returns rows/s (data generation included)."""
    conn = connect(cfg, use_database=False)
    writer = BatchWriter(conn, cfg, trades.TRADES, ensure_schema(conn, cfg, trades.TRADES))
    clock, rng = clock or trades.MonotonicClock(), random.Random(9)
    started = time.perf_counter()
    for start in range(0, rows, BATCH):
        writer.write(trades.make_batch(min(BATCH, rows - start), clock, rng))
    writer.close()
    return rows / (time.perf_counter() - started)


def serve_loaded(cfg: TaosConfig, pipe: Connection) -> None:
    """The 'load everything' server: every row into a Perspective table, then answer requests."""
    connection = LazyConnection(cfg)
    query = connection.query
    info = describe_table(connection, cfg.database, cfg.table)
    server = perspective.Server()
    table = server.new_local_client().table({c.name: c.psp_type for c in info.columns}, name=TABLE)
    selected = ", ".join(value_sql(c) for c in info.columns)
    last = -1
    while True:  # page by timestamp: one huge result would need all rows in taosws at once
        rows = query(f"SELECT {selected} FROM {info.source} WHERE `timestamp` > {last} "
                     f"ORDER BY `timestamp` LIMIT {PAGE}")
        if not rows:
            break
        columns = list(zip(*rows))
        table.update({c.name: [v // TICKS_PER_MS[info.precision] for v in values]
                      if c.psp_type == "datetime" else list(values)
                      for c, values in zip(info.columns, columns)})
        last = rows[-1][0]
    pipe.send(("loaded", 0, b""))
    replies: list[bytes] = []
    session = server.new_session(replies.append)
    while True:
        _, _, payload = pipe.recv()
        session.handle_request(payload)
        pipe.send((0, list(replies)))
        replies.clear()


def client_over(pipe: Connection) -> perspective.Client:
    """A synchronous Perspective client whose server is the process at the other end of `pipe`."""
    def send(request: bytes) -> None:
        pipe.send(("request", 0, request))
        _, reply = pipe.recv()
        for message in reply if isinstance(reply, list) else [reply]:
            client.handle_response(message)

    client = perspective.Client(send)
    return client


def first_screens(client: perspective.Client, rows: int, screen: int) -> tuple[float, float]:
    """Seconds to the first screen of a group-by-ticker view, and of a scroll to the middle."""
    started = time.perf_counter()
    table = client.open_table(TABLE)
    by_ticker = table.view(group_by=["ticker"], columns=["close", "volume"], aggregates={"close": "avg"})
    by_ticker.to_columns(start_row=0, end_row=screen)
    grouped = time.perf_counter() - started
    started = time.perf_counter()
    flat = table.view(columns=["timestamp", "ticker", "client", "close", "volume"],
                      sort=[["timestamp", "desc"]])
    middle = flat.to_columns(start_row=rows // 2, end_row=rows // 2 + screen)
    scrolled = time.perf_counter() - started
    assert len(middle["timestamp"]) == screen, "the middle screen is short"
    by_ticker.delete()
    flat.delete()
    return grouped, scrolled


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(start: Callable[[Connection], Any], rows: int, screen: int,
            wait_loaded: bool) -> dict[str, float]:
    """Runs one server process, times the two screens from a client here, reads its peak memory."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=True)
    started = time.perf_counter()
    process = context.Process(target=start, args=(theirs,), daemon=True)
    process.start()
    load = 0.0
    if wait_loaded:
        assert ours.recv()[0] == "loaded"
        load = time.perf_counter() - started
    else:
        ours.send(("open", 0, b""))
    grouped, scrolled = first_screens(client_over(ours), rows, screen)
    result = {"load": load, "grouped": grouped, "scrolled": scrolled, "rss": peak_rss_mb(process.pid)}
    process.terminate()
    process.join()
    return result


def run(rows: int, screen: int) -> list[str]:
    with StandInProcess() as standin:
        cfg = TaosConfig(standin.host, standin.port, standin.user, standin.password, "bench", "stocks_values")
        rate = fill(cfg, rows)
        print(f"# {rows:,} rows written at {rate:,.0f} rows/s (stmt2)", flush=True)
        tables = {TABLE: (cfg.database, cfg.table)}
        virtual = measure(functools.partial(history_process.run, cfg, tables), rows, screen, False)
        loaded = measure(functools.partial(serve_loaded, cfg), rows, screen, True)
    lines = []
    for name, r in (("virtual server", virtual), ("all rows loaded", loaded)):
        first_grouped = r["load"] + r["grouped"]
        lines.append(f"| {rows:,} | {name} | {first_grouped:.2f} | {r['load']:.2f} | {r['scrolled']:.2f} "
                     f"| {r['rss']:,.0f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--screen", type=int, default=50, help="rows in a screen")
    args = parser.parse_args()
    table = ["| rows | server | first screen, group by ticker (s) | of which loading rows (s) "
             "| scroll to the middle (s) | server peak RSS (MB) |", "|---|---|---|---|---|---|"]
    for rows in args.rows:
        table += run(rows, args.screen)
    print("\n".join(table))


if __name__ == "__main__":
    main()
