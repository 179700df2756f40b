"""The live pipeline end to end: each source at each rate, and the seed's algorithm as the baseline.

    venv/bin/python bench/pipeline.py [--sources poll subscribe seed] [--rates 1000 10000 30000 50000 100000]
                                      [--seconds 10]

For each source and rate, on a fresh stand-in (`python -m tests.standin`): `perspective_server.py`
with that PERSPECTIVE_SOURCE starts first, then `producer.py` writes at that rate for `--seconds`,
both as real processes; a remote Perspective client in this process follows the table over the
websocket (`view.on_update(mode="row")`) and keeps every row it is sent. The table's limit is above
the run's row count, so that nothing is dropped before it is counted. Then:

* inserted: rows in TDengine at the end; delivered: rows the client received;
* duplicates / missing: the client's rows against TDengine's, compared as multisets of
  (timestamp ms, ticker, client, volume, open) for trades, (timestamp ms, tbname, current, voltage,
  phase) for meters (`--datasets trades meters`: the producer's two datasets, the server the same);
* lag p50/p99: for each row, the time the client received it minus the row's `timestamp`, which the
  producer stamps just before it sends the row's batch (so the lag includes that batch's write:
  an upper bound of the time from queryable in TDengine to seen by the viewer);
* steady lag p99: the same, leaving out the rows written in the first second, which wait once for
  the server to start reading (the table appears, the topic is made and subscribed);
* CPU ms per 1,000 rows: user + system CPU of perspective_server.py and its child processes, from
  the producer's start to the last row received, per 1,000 inserted rows; RSS: at the end, same processes;
* sustained: no duplicate, nothing missing, the producer reached 90 % of the rate, and lag p99 under 2 s.

`seed`: bench/seed_baseline.py in its own process instead of the server (no websocket; CPU is that
process's; duplicates and missing by row timestamp, unique per producer).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import perspective
import taosws

from bench import procstats, seed_baseline
from tdpersp.core.dataset import Dataset
from tdpersp.core.meters import Meters
from tdpersp.core.tdconn import TaosConfig, connect
from tdpersp.core.trades import TRADES
from tdpersp.core.writer import ensure_schema
from tests.perspective_client import remote_client
from tests.processes import Program, free_port, server_config, taos_env, wait_for_server
from tests.standin.fixture import StandInProcess

DATABASE = "bench"
# Per dataset: its table, and the columns that (with the timestamp, first) tell its rows apart.
DATASETS = {"trades": ("stocks_values", TRADES, ("timestamp", "ticker", "client", "volume", "open")),
            "meters": ("meters", Meters(10), ("ts", "tbname", "current", "voltage", "phase"))}
# The rows written while the server starts reading (the table appears, a topic is made and
# subscribed) wait for that once; "steady" lags leave out the rows of the first STARTUP seconds.
STARTUP = 1.0
INTERVAL = "0.1"  # producer batches every 100 ms: smaller batches, lag closer to the database's
KeyT = tuple[Any, ...]


@dataclass
class Result:
    source: str
    rate: int
    dataset: str = "trades"
    inserted: int = 0
    seconds: float = 0.0  # the producer's own count of writing time
    delivered: int = 0
    duplicates: int = 0
    missing: int = 0
    lags: list[float] = field(default_factory=list)
    steady_lags: list[float] = field(default_factory=list)  # rows written after the first STARTUP s
    cpu_seconds: float = 0.0
    rss_mb: float = 0.0

    @property
    def sustained(self) -> bool:
        on_time = not self.lags or percentile(self.lags, 0.99) < 2.0
        fast_enough = self.inserted >= 0.9 * self.rate * self.seconds_target
        return self.duplicates == 0 and self.missing == 0 and on_time and fast_enough

    seconds_target: float = 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def key(ts_ms: int, *values: Any) -> KeyT:
    """A row's identity: floats rounded, as Perspective's JSON may differ in the last digit."""
    return (int(ts_ms), *(round(float(v), 3) if isinstance(v, float) else v for v in values))


def tdengine_keys(standin: StandInProcess, dataset: str) -> Counter[KeyT]:
    table, _, (ts, *others) = DATASETS[dataset]
    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    columns = ", ".join(other if other == "tbname" else f"`{other}`" for other in others)
    rows = conn.query(f"SELECT CAST(`{ts}` AS BIGINT), {columns} FROM {DATABASE}.{table}")
    return Counter(key(stamp // 1000, *rest) for stamp, *rest in rows)  # the producer's µs database


# --- the remote client ------------------------------------------------------------------------


class Follower:
    """Keeps every row delta the server sends, with the time it arrived; decoded afterwards."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns  # the timestamp first
        self.deltas: list[tuple[float, bytes]] = []

    def on_update(self, *args: Any) -> None:
        delta = args[-1]
        if delta:
            self.deltas.append((time.time(), delta))

    def frames(self) -> Iterator[tuple[float, dict[str, list[Any]]]]:
        """Each delta as it arrived: (when, its rows column by column), decoded here, after the run,
        so that decoding takes no CPU from the server while it is measured."""
        local = perspective.Server().new_local_client()
        for arrived, delta in self.deltas:
            table = local.table(delta)
            view = table.view()
            yield arrived, view.to_columns()
            view.delete()
            table.delete()

    def rows(self) -> tuple[Counter[KeyT], list[tuple[float, float]]]:
        """Every row's key, and (when it was written, its lag) in seconds."""
        keys: Counter[KeyT] = Counter()
        lags: list[tuple[float, float]] = []
        for arrived, cols in self.frames():
            for ts, *values in zip(*(cols[name] for name in self.columns), strict=True):
                keys[key(ts, *values)] += 1
                lags.append((ts / 1000, arrived - ts / 1000))
        return keys, lags


async def follow(port: int, follower: Follower, done: asyncio.Event,
                 table_name: str = "stock_values") -> None:
    async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
        table = await client.open_table(table_name)
        view = await table.view()
        await view.on_update(follower.on_update, mode="row")
        await done.wait()
        await view.delete()


# --- one run ----------------------------------------------------------------------------------


def run_server_source(source: str, rate: int, seconds: float, dataset: str = "trades",
                      limit: int | None = None) -> Result:
    """`limit`: the live table's (default: more than the run writes)."""
    result = Result(source, rate, dataset, seconds_target=seconds)
    table, rows, columns = DATASETS[dataset]
    with StandInProcess() as standin:
        port = free_port()
        limit = limit or int(rate * seconds * 1.5) + 10_000
        env = taos_env(standin.host, standin.port, database=DATABASE, TAOS_TABLENAME=table,
                       PRODUCER_DATASET=dataset)
        create_table(TaosConfig(standin.host, standin.port, "root", "taosdata", DATABASE, table), rows)
        with Program("perspective_server.py", server_settings(env, port, source, limit)) as server:
            wait_for_server(port)
            server.wait_for("reading rows")  # the live table is made, empty: the client can follow it
            follower = Follower(columns)
            asyncio.run(produce_and_follow(result, env, port, server, follower))
            assert server.stop() == 0, server.output
        got, lags = follower.rows()
        result.lags = [lag for _, lag in lags]
        first = min((written for written, _ in lags), default=0.0)
        result.steady_lags = [lag for written, lag in lags if written >= first + STARTUP]
        compare(result, got, tdengine_keys(standin, dataset))
    return result


def server_settings(env: dict[str, str], port: int, source: str, limit: int) -> dict[str, str]:
    """The server's environment for a run: `env` (TDengine, table), its port, source and table limit.
    The one client here must see every row, however far behind it falls: the slow-viewer cut
    (PERSPECTIVE_MAX_QUEUE_BYTES) is lifted to 4 GiB for it."""
    return env | {"PERSPECTIVE_PORT": str(port), "PERSPECTIVE_TABLE_LIMIT": str(limit),
                  "PERSPECTIVE_SOURCE": source, "PERSPECTIVE_MAX_QUEUE_BYTES": str(4 << 30)}


def create_table(cfg: TaosConfig, dataset: Dataset) -> None:
    """The dataset's supertable, without rows, as producer.py makes it."""
    admin = connect(cfg, use_database=False)
    try:
        ensure_schema(admin, cfg, dataset)
    finally:
        admin.close()


async def produce_and_follow(result: Result, env: dict[str, str], port: int, server: Program,
                             follower: Follower) -> None:
    done = asyncio.Event()
    following = asyncio.create_task(follow(port, follower, done))
    await asyncio.sleep(1.0)  # the client is subscribed before the first row
    pids = [server.proc.pid, *procstats.children(server.proc.pid)]
    cpu_before = procstats.cpu_seconds(pids)
    producer_env = env | {"PRODUCER_RATE": str(result.rate), "PRODUCER_DURATION": str(result.seconds_target),
                          "PRODUCER_INTERVAL": INTERVAL}
    started = time.monotonic()
    with Program("producer.py", producer_env) as producer:
        while producer.proc.poll() is None:
            await asyncio.sleep(0.2)
    record_producer(result, producer, time.monotonic() - started)
    await settle(port, result.inserted, follower)
    result.cpu_seconds = procstats.cpu_seconds(pids) - cpu_before
    result.rss_mb = procstats.rss_mb(pids)
    done.set()
    await following


async def settle(port: int, inserted: int, follower: Follower, stall: float = 10.0) -> None:
    """Wait until the server delivered every inserted row, or made no progress for `stall` seconds
    (it fell behind for good); then until no delta arrived for a second (the client has them all)."""
    delivered, progressed = -1, time.monotonic()
    while delivered < inserted and time.monotonic() - progressed < stall:
        try:
            now = (await asyncio.to_thread(server_config, port))["feed"]["delivered"]
        except OSError:  # too busy to answer /config.json in 2 s: no progress seen this time
            now = delivered
        if now != delivered:
            delivered, progressed = now, time.monotonic()
        await asyncio.sleep(0.2)
    while follower.deltas and time.time() - follower.deltas[-1][0] < 1.0:
        await asyncio.sleep(0.2)


def record_producer(result: Result, producer: Program, elapsed: float) -> None:
    """The producer's own count and time; if it failed (e.g. the machine was too loaded), say so and
    count what is in TDengine instead (filled in by compare)."""
    finished = re.search(r"done: (\d+) rows written in ([\d.]+) s", producer.output)
    if finished:
        result.inserted, result.seconds = int(finished.group(1)), float(finished.group(2))
    else:
        print(f"  producer.py failed (exit {producer.proc.returncode}):\n{producer.output[-2000:]}",
              file=sys.stderr)
        result.seconds = elapsed


def compare(result: Result, got: Counter[KeyT], expected: Counter[KeyT]) -> None:
    result.inserted = sum(expected.values())
    result.delivered = sum(got.values())
    result.duplicates = sum((got - expected).values())
    result.missing = sum((expected - got).values())


def run_seed(rate: int, seconds: float) -> Result:
    result = Result("seed", rate, seconds_target=seconds)
    with StandInProcess() as standin:
        env = taos_env(standin.host, standin.port, database=DATABASE)
        cfg = TaosConfig(standin.host, standin.port, "root", "taosdata", DATABASE, DATASETS["trades"][0])
        ours, theirs = multiprocessing.get_context("spawn").Pipe()
        process = multiprocessing.get_context("spawn").Process(target=seed_baseline.run, args=(cfg, theirs))
        process.start()
        producer_env = env | {"PRODUCER_RATE": str(rate), "PRODUCER_DURATION": str(seconds),
                              "PRODUCER_INTERVAL": INTERVAL}
        started = time.monotonic()
        with Program("producer.py", producer_env) as producer:
            producer.wait(timeout=seconds + 120)
        record_producer(result, producer, time.monotonic() - started)
        time.sleep(1.5)  # the seed's window is one second
        result.rss_mb = procstats.rss_mb([process.pid])
        ours.send("stop")
        seen, result.cpu_seconds = ours.recv()
        process.join(timeout=10)
        expected = tdengine_keys(standin, "trades")
    result.inserted = sum(expected.values())
    result.delivered = sum(seen.values())
    result.duplicates = sum(n - 1 for n in seen.values() if n > 1)
    result.missing = sum(expected.values()) - len(seen)
    return result


# --- the table --------------------------------------------------------------------------------

HEADER = ("| dataset | source | target rows/s | inserted | achieved rows/s | delivered | duplicates | "
          "missing | lag p50 (ms) | lag p99 (ms) | steady lag p99 (ms) | server CPU ms / 1,000 rows | "
          "RSS (MB) | sustained |")


def line(r: Result) -> str:
    lag50 = f"{percentile(r.lags, 0.5) * 1000:.0f}" if r.lags else "—"
    lag99 = f"{percentile(r.lags, 0.99) * 1000:.0f}" if r.lags else "—"
    steady99 = f"{percentile(r.steady_lags, 0.99) * 1000:.0f}" if r.steady_lags else "—"
    cpu = r.cpu_seconds * 1000 / (r.inserted / 1000) if r.inserted else float("nan")
    achieved = r.inserted / r.seconds if r.seconds else 0.0
    cells = [r.dataset, r.source, f"{r.rate:,}", f"{r.inserted:,}", f"{achieved:,.0f}", f"{r.delivered:,}",
             f"{r.duplicates:,}", f"{r.missing:,}", lag50, lag99, steady99, f"{cpu:.1f}", f"{r.rss_mb:.0f}",
             "yes" if r.sustained else "no"]
    return "| " + " | ".join(cells) + " |"


def summary(results: list[Result]) -> list[str]:
    best: dict[str, int] = {}
    for r in results:
        if r.sustained:
            best[f"{r.dataset}, {r.source}"] = max(best.get(f"{r.dataset}, {r.source}", 0), r.rate)
    return [f"highest rate sustained by {run}: {best.get(run, 0):,} rows/s"
            for run in dict.fromkeys(f"{r.dataset}, {r.source}" for r in results)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", nargs="+", default=["poll", "subscribe", "seed"],
                        choices=["poll", "subscribe", "seed"])
    parser.add_argument("--rates", nargs="+", type=int, default=[1_000, 10_000, 30_000, 50_000, 100_000])
    parser.add_argument("--seconds", type=float, default=10.0, help="producer run per rate")
    parser.add_argument("--datasets", nargs="+", default=["trades"], choices=list(DATASETS),
                        help="what the producer writes and the server streams (seed: trades only)")
    parser.add_argument("--limit", type=int, default=None,
                        help="the live table's PERSPECTIVE_TABLE_LIMIT (default: more than a run writes). "
                        "With a view open, Perspective's table.update() costs time in proportion to the "
                        "rows the table holds; rows are still counted exactly while no one update "
                        "brings more rows than the limit (subscribe: at most 50,000)")
    args = parser.parse_args()
    results = []
    for rate in args.rates:
        for dataset in args.datasets:
            for source in args.sources:
                if source == "seed" and dataset != "trades":
                    continue
                print(f"{dataset}, {source} at {rate:,} rows/s for {args.seconds:g} s ...", file=sys.stderr,
                      flush=True)
                result = run_seed(rate, args.seconds) if source == "seed" else run_server_source(
                    source, rate, args.seconds, dataset, args.limit)
                print("  " + line(result), file=sys.stderr, flush=True)
                results.append(result)
    print(HEADER)
    print("|" + "---|" * HEADER.count(" | ") + "---|")
    for result in sorted(results, key=lambda r: (r.dataset, r.source, r.rate)):
        print(line(result))
    print()
    print("\n".join(summary(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
