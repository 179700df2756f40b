"""The rollup tables (PERSPECTIVE_ROLLUPS) on the live pipeline: what they cost the server, how soon
a viewer sees a row counted in its window, whether every window equals TDengine's, and how long
the server takes to roll up an hour of history when it starts.

    venv/bin/python bench/rollups.py [--sources poll subscribe] [--rates 1000 10000 30000]
                                     [--seconds 10] [--startup-rows-per-second 200]
                                     [--parts runs startup]

A script of its own rather than a mode of bench/pipeline.py: its runs come in pairs (the same
source and rate without rollups, then with the default ones) and it measures other things
(windows, not rows). It reuses pipeline.py's set-up: per run a fresh stand-in (`python -m
tests.standin`), `perspective_server.py` with that PERSPECTIVE_SOURCE and PERSPECTIVE_ROLLUPS empty
or `1s:1h,1m:1d,1h`, a producer at the rate for `--seconds`, and a remote Perspective client in
this process following `stock_values` and, with rollups, `stock_values_1s` and `stock_values_1m`
over the websocket (`view.on_update(mode="row")`). Per run:

* inserted: rows in TDengine at the end;
* server CPU ms per 1,000 rows: user + system CPU of perspective_server.py and its child processes
  (reader, history, rollups), from the producer's start to the last progress seen (a live row
  delivered or a delta received), per 1,000 inserted rows; added: with rollups minus without, same
  source and rate, the two runs one after the other. It includes serving one client's views of
  the 1s and 1m tables. The stand-in's CPU over the same time is shown beside it: the rollups'
  queries are work for the database too. RSS: the server and its children at the end;
* lag p50/p99 of a row's effect on its window, for the 1s and the 1m table: a row is counted in
  its window (ticker, window start) once the client's copy of that window has `rows` at least the
  row's rank in it (1 for the window's first row by timestamp, 2 for the second, ...: the count
  TDengine ends with for the rows up to that one; one producer writes every window's rows in
  timestamp order, so no later row can make up that count first). The lag is the moment the
  client first received such a count minus the moment TDengine acknowledged the row's batch (the
  producer is producer.py's loop in a child process, its writer noting each acknowledgement).
  The row became queryable between its stamp and that acknowledgement, so this lag is at most
  the true one, short of it by the reply's trip back to the producer; the lag from the producer's
  stamp (pipeline.py's reference, which adds building and writing the batch) is at least the true
  one, and its p99 is printed too. The live table's lag, from the same reference, for comparison;
* mismatched windows 1s/1m/1h: once the server caught up (every row delivered, then nothing new for
  QUIET seconds), every window of each rollup table, as a remote client reads it, against TDengine's
  `SELECT _wstart, COUNT(*), FIRST(c), … PARTITION BY ticker INTERVAL(W)` (tests/rollups/
  windows_sql.py: floats to 1e-15, FLOAT sums to 1e-9, integers exactly), over its retention.

Also printed per run: the CPU split between the server's own process and its children, and how
many updates of each table the client got (a rollup step that changed something is one update).

Start-up: an hour of trades (`--startup-rows-per-second` × 3600, backdated to end now) written
into a fresh stand-in with stmt2 in batches; TDengine's three INTERVAL answers read (timed); then
the server starts (poll, default rollups and table limit), and its start is timed to the live feed
reading rows, to the rollup tables made (the rollup process's first whole load applied: the
server's `rollups: ...` line), and to all three tables, read by a remote client, equal to TDengine.
Figures are for the stand-in (sqlite behind TDengine's protocol), not TDengine.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import multiprocessing
import random
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import taosws

import producer
from bench import pipeline, procstats
from bench.history import fill
from bench.pipeline import DATABASE, Follower, percentile
from tdpersp.core.dataset import MonotonicClock
from tdpersp.core.tdconn import TaosConfig
from tdpersp.core.trades import TRADES, Batch
from tdpersp.core.writer import ResilientWriter
from tdpersp.rollups import spec
from tests.processes import Program, free_port, server_config, taos_env, wait_for_server
from tests.rollups import windows_sql
from tests.standin.fixture import StandInProcess

TABLE = "stocks_values"
MEASURES = ["open", "high", "low", "close", "volume"]
FLOAT_SUMS = tuple(1 + 5 * i + 4 for i, name in enumerate(MEASURES) if name != "volume")
LEVELS = spec.parse(spec.DEFAULT)
FOLLOWED = ("1s", "1m")  # the rollup tables whose lag is measured
QUIET = 1.5  # seconds without progress after which the server has caught up
MARGIN_MS = 5_000  # windows this close to a retention's edge may expire between two reads
Answer = dict[str, dict[tuple, tuple]]  # level -> (ticker, window start ms) -> values, as windows_sql reads


# --- the producer: producer.py's loop, noting when each batch was acknowledged ---------------------


class AckedWriter:
    """producer.py's writer, noting (the batch's last timestamp, time.time() when TDengine answered):
    once TDengine acknowledged a batch, its rows are queryable."""

    def __init__(self, writer: ResilientWriter) -> None:
        self.writer = writer
        self.acks: list[tuple[int, float]] = []

    def precision(self) -> str:
        return self.writer.precision()

    def write(self, batch: Batch) -> int:
        written = self.writer.write(batch)
        self.acks.append((batch.timestamp[-1], time.time()))
        return written


def produce(cfg: TaosConfig, rate: float, seconds: float, pipe: Connection) -> None:
    """In a child process (taosws holds the GIL while it waits): write at `rate` for `seconds`, then
    send (rows written, seconds taken, the acknowledgements)."""
    stopper = producer.Stopper()
    writer = AckedWriter(ResilientWriter(lambda: producer.open_writer(cfg, TRADES),
                                         lambda: stopper.requested))
    plan = producer.Plan(interval=float(pipeline.INTERVAL), rows_per_second=rate, count=None,
                         duration=seconds, log_every=3600.0)
    started = time.monotonic()
    written = producer.run(writer, TRADES, plan, random.Random(), stopper)
    pipe.send((written, time.monotonic() - started, writer.acks))


class Acks:
    """When each row's batch was acknowledged, looked up by the row's timestamp."""

    def __init__(self, acks: list[tuple[int, float]]) -> None:
        self.last_stamps = [stamp for stamp, _ in acks]  # increasing: one clock, batches in turn
        self.times = [at for _, at in acks]

    def of(self, stamp: int) -> float:
        return self.times[min(bisect.bisect_left(self.last_stamps, stamp), len(self.times) - 1)]


# --- a row's effect on its window -----------------------------------------------------------------

Window = tuple[str, int]  # (ticker, window start ms)


def window_counts(follower: Follower) -> dict[Window, tuple[list[float], list[int]]]:
    """Per window the client was sent: (arrival times, the highest `rows` seen by then)."""
    seen: dict[Window, tuple[list[float], list[int]]] = {}
    for arrived, cols in follower.frames():
        for ticker, start, rows in zip(cols["ticker"], cols["window_start"], cols["rows"], strict=True):
            times, counts = seen.setdefault((ticker, int(start)), ([], []))
            times.append(arrived)
            counts.append(max(rows, counts[-1] if counts else 0))
    return seen


@dataclass
class Lags:
    from_ack: list[float] = field(default_factory=list)
    from_stamp: list[float] = field(default_factory=list)
    never: int = 0  # rows whose window never reached their rank at the client


def effect_lags(rows: list[tuple[int, str]], width_ms: int, seen: dict[Window, tuple[list[float], list[int]]],
                acks: Acks) -> Lags:
    """`rows`: (timestamp µs, ticker) of every row in TDengine, in timestamp order."""
    lags, ranks = Lags(), {}
    for stamp, ticker in rows:
        ms = stamp // 1000
        window = (ticker, ms - ms % width_ms)
        ranks[window] = rank = ranks.get(window, 0) + 1
        times, counts = seen.get(window, ([], []))
        at = bisect.bisect_left(counts, rank)
        if at == len(counts):
            lags.never += 1
            continue
        lags.from_ack.append(times[at] - acks.of(stamp))
        lags.from_stamp.append(times[at] - stamp / 1e6)
    return lags


def tdengine_rows(standin: StandInProcess) -> list[tuple[int, str]]:
    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    try:
        rows = conn.query(f"SELECT CAST(`timestamp` AS BIGINT), ticker FROM {DATABASE}.{TABLE}")
        return sorted((stamp, ticker) for stamp, ticker in rows)
    finally:
        conn.close()


# --- every window against TDengine ------------------------------------------------------------------


def since(level: spec.Level) -> int | None:
    """The earliest window start compared: the level's retention, less what may expire meanwhile."""
    cutoff = level.cutoff(int(time.time() * 1000))
    return None if cutoff is None else cutoff + MARGIN_MS


def expected_windows(standin: StandInProcess,
                     timings: dict[str, float] | None = None) -> Answer:
    """TDengine's answer, per level; how long each took goes into `timings`."""
    expected = {}
    for level in LEVELS:
        started = time.perf_counter()
        expected[level.name] = windows_sql.tdengine_windows(standin.host, standin.port, DATABASE, TABLE,
                                                            level.name, MEASURES, ["ticker"], "us")
        if timings is not None:
            timings[level.name] = time.perf_counter() - started
    return expected


def mismatched(port: int, expected: Answer) -> dict[str, list[str]]:
    """Per level, what the served table (read now by a remote client) gets wrong."""
    found = {}
    for level in LEVELS:
        served = windows_sql.served_windows(port, f"stock_values_{level.name}", MEASURES, ["ticker"])
        found[level.name] = windows_sql.mismatches(served, expected[level.name], since(level), FLOAT_SUMS)
    return found


# --- one run ----------------------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds so far of the server's own process, of its children (reader, history, rollups) and
    of the stand-in, read together: the split tells the server's table work from the rollup
    process's, and the database's share (TDengine's, here the stand-in's) apart."""

    def __init__(self, server: int, standin: int) -> None:
        self.groups = {"server": [server], "children": procstats.children(server), "stand-in": [standin]}

    def read(self) -> dict[str, float]:
        return {name: procstats.cpu_seconds(pids) for name, pids in self.groups.items()}

    def rss_mb(self) -> float:
        return procstats.rss_mb(self.groups["server"] + self.groups["children"])


@dataclass
class Result:
    source: str
    rate: int
    rollups: bool
    seconds_target: float
    inserted: int = 0
    seconds: float = 0.0  # the producer's own count of writing time
    cpu: dict[str, float] = field(default_factory=dict)  # CpuMeter's groups -> CPU seconds in the run
    rss_mb: float = 0.0
    lags: dict[str, Lags] = field(default_factory=dict)  # "live" or a level -> lags
    updates: dict[str, int] = field(default_factory=dict)  # "live" or a level -> deltas the client got
    mismatches: dict[str, list[str]] = field(default_factory=dict)

    def per_1000(self, *groups: str) -> float:
        """CPU milliseconds per 1,000 inserted rows of these CpuMeter groups."""
        seconds = sum(self.cpu.get(group, 0.0) for group in groups)
        return seconds * 1e6 / self.inserted if self.inserted else float("nan")

    @property
    def server_per_1000(self) -> float:
        return self.per_1000("server", "children")


def run_once(source: str, rate: int, seconds: float, rollups: bool) -> Result:
    result = Result(source, rate, rollups, seconds)
    with StandInProcess() as standin:
        cfg = TaosConfig(standin.host, standin.port, "root", "taosdata", DATABASE, TABLE)
        pipeline.create_table(cfg, TRADES)
        port = free_port()
        env = taos_env(standin.host, standin.port, database=DATABASE, TAOS_TABLENAME=TABLE)
        settings = pipeline.server_settings(env, port, source, int(rate * seconds * 1.5) + 10_000)
        settings["PERSPECTIVE_ROLLUPS"] = spec.DEFAULT if rollups else ""
        with Program("perspective_server.py", settings) as server:
            wait_for_server(port)
            server.wait_for("reading rows")
            followers = {"live": Follower(("timestamp",))}
            if rollups:
                server.wait_for("rollups: ")  # the rollup tables exist: the client can follow them
                followers |= {name: Follower(()) for name in FOLLOWED}
            watched = (server.proc.pid, standin.pid)
            acks = asyncio.run(produce_and_follow(result, cfg, port, watched, followers))
            if rollups:
                result.mismatches = check_windows(port, standin)
            assert server.stop() == 0, server.output
        rows = tdengine_rows(standin)
    result.inserted = len(rows)
    result.lags["live"] = live_lags(followers["live"], acks)
    result.updates = {name: len(follower.deltas) for name, follower in followers.items()}
    for name in FOLLOWED if rollups else ():
        width = next(level.width_ms for level in LEVELS if level.name == name)
        result.lags[name] = effect_lags(rows, width, window_counts(followers[name]), acks)
    return result


def live_lags(follower: Follower, acks: Acks) -> Lags:
    """For comparison: each live row's arrival minus its batch's acknowledgement. The live table has
    the timestamp in ms: the first batch ending at or after that ms is taken (an upper bound)."""
    lags = Lags()
    for arrived, cols in follower.frames():
        for stamp_ms in cols["timestamp"]:
            lags.from_ack.append(arrived - acks.of(int(stamp_ms) * 1000))
            lags.from_stamp.append(arrived - stamp_ms / 1000)
    return lags


def check_windows(port: int, standin: StandInProcess) -> dict[str, list[str]]:
    """Mismatches once caught up; any found are looked at again 3 s later, to tell a server still
    behind (they are gone then) from a wrong window (it stays), and both are printed."""
    found = mismatched(port, expected_windows(standin))
    if any(found.values()):
        print(f"  mismatches: {summary_of(found)}", file=sys.stderr)
        time.sleep(3.0)
        print(f"  3 s later: {summary_of(mismatched(port, expected_windows(standin)))}", file=sys.stderr)
    return found


def summary_of(found: dict[str, list[str]]) -> str:
    return "; ".join(f"{name}: {len(problems)} {problems[:3]}" for name, problems in found.items())


async def produce_and_follow(result: Result, cfg: TaosConfig, port: int, watched: tuple[int, int],
                             followers: dict[str, Follower]) -> Acks:
    """`watched`: the server's and the stand-in's process ids."""
    done = asyncio.Event()
    following = [asyncio.create_task(pipeline.follow(port, follower, done, table_name(name)))
                 for name, follower in followers.items()]
    await asyncio.sleep(1.0)  # the client is subscribed before the first row
    meter = CpuMeter(*watched)
    before = meter.read()
    written, result.seconds, acks = await asyncio.to_thread(run_producer, cfg, result.rate,
                                                            result.seconds_target)
    after = await caught_up(port, meter, written, list(followers.values()))
    result.cpu = {group: after[group] - before[group] for group in before}
    result.rss_mb = meter.rss_mb()
    done.set()
    await asyncio.gather(*following)
    return Acks(acks)


def table_name(level: str) -> str:
    return "stock_values" if level == "live" else f"stock_values_{level}"


def run_producer(cfg: TaosConfig, rate: float, seconds: float) -> tuple[int, float, list[tuple[int, float]]]:
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=False)
    process = context.Process(target=produce, args=(cfg, rate, seconds, theirs), daemon=True)
    process.start()
    try:
        return ours.recv()
    finally:
        process.join(timeout=10)


async def caught_up(port: int, meter: CpuMeter, inserted: int, followers: list[Follower],
                    stall: float = 30.0) -> dict[str, float]:
    """Wait until every row is delivered and nothing new came for QUIET seconds (or nothing at all
    for `stall`: behind for good); returns the meter's reading at the last progress seen."""
    last: tuple[int, ...] = ()
    reading, progressed = meter.read(), time.monotonic()
    while time.monotonic() - progressed < stall:
        try:
            delivered = (await asyncio.to_thread(server_config, port))["feed"]["delivered"]
        except OSError:  # too busy to answer /config.json in 2 s: no progress seen this time
            delivered = last[0] if last else 0
        now = (delivered, *(len(f.deltas) for f in followers))
        if now != last:
            last, reading, progressed = now, meter.read(), time.monotonic()
        elif delivered >= inserted and time.monotonic() - progressed >= QUIET:
            break
        await asyncio.sleep(0.2)
    return reading


# --- start-up over an hour of rows --------------------------------------------------------------------


class SpacedClock(MonotonicClock):
    """Stamps evenly spaced from `start` (µs), `step` apart: rows backdated over a span."""

    def __init__(self, start: int, step: int) -> None:
        super().__init__("us")
        self._next, self._step = start, step

    def next(self) -> int:
        stamp, self._next = self._next, self._next + self._step
        return stamp


@dataclass
class Startup:
    rows: int = 0
    fill_seconds: float = 0.0
    sql_seconds: dict[str, float] = field(default_factory=dict)  # TDengine's INTERVAL answer, per level
    reading: float = 0.0  # server start -> the live feed reads rows
    tables: float = 0.0  # -> the rollup tables made, loaded whole
    complete: float = 0.0  # -> all three equal TDengine's answer at a remote client
    reads: int = 0  # reads of the three tables until then
    cpu: dict[str, float] = field(default_factory=dict)  # CpuMeter's groups, start -> complete
    rss_mb: float = 0.0
    left: dict[str, list[str]] = field(default_factory=dict)  # mismatches at the end (none if complete)


def run_startup(rows_per_second: int, timeout: float = 300.0) -> Startup:
    result = Startup(rows=rows_per_second * 3600)
    with StandInProcess() as standin:
        cfg = TaosConfig(standin.host, standin.port, "root", "taosdata", DATABASE, TABLE)
        now_us = time.time_ns() // 1000
        started = time.perf_counter()
        fill(cfg, result.rows, SpacedClock(now_us - 3_600_000_000, 3_600_000_000 // result.rows))
        result.fill_seconds = time.perf_counter() - started
        expected = expected_windows(standin, result.sql_seconds)
        port = free_port()
        env = taos_env(standin.host, standin.port, database=DATABASE, TAOS_TABLENAME=TABLE,
                       PERSPECTIVE_PORT=port)
        db_before = procstats.cpu_seconds([standin.pid])
        started = time.monotonic()
        with Program("perspective_server.py", env) as server:
            server.wait_for("reading rows", timeout=timeout)
            result.reading = time.monotonic() - started
            meter = CpuMeter(server.proc.pid, standin.pid)
            server.wait_for("rollups: ", timeout=timeout)
            result.tables = time.monotonic() - started
            wait_complete(result, port, expected, started + timeout)
            result.complete = time.monotonic() - started
            result.cpu, result.rss_mb = meter.read(), meter.rss_mb()
            result.cpu["stand-in"] -= db_before
            assert server.stop() == 0, server.output
    return result


def wait_complete(result: Startup, port: int, expected: Answer, deadline: float) -> None:
    """Read the three tables until they equal `expected` (or the deadline passed: what is left stays
    in `result.left`)."""
    while True:
        result.left, result.reads = mismatched(port, expected), result.reads + 1
        if not any(result.left.values()) or time.monotonic() > deadline:
            return
        time.sleep(0.5)


# --- the table ----------------------------------------------------------------------------------------

HEADER = ("| source | target rows/s | rollups | inserted | achieved rows/s | server CPU ms / 1,000 rows | "
          "added by rollups | stand-in CPU ms / 1,000 rows (added) | live lag p50 / p99 (ms) | "
          "1s lag p50 / p99 (ms) | 1m lag p50 / p99 (ms) | mismatched windows 1s / 1m / 1h | RSS (MB) |")


def ms(values: list[float], q: float) -> str:
    return f"{percentile(values, q) * 1000:,.0f}" if values else "—"


def lag_cell(r: Result, name: str) -> str:
    lags = r.lags.get(name)
    return f"{ms(lags.from_ack, 0.5)} / {ms(lags.from_ack, 0.99)}" if lags else "—"


def line(r: Result, without: Result | None) -> str:
    paired = without if r.rollups else None
    added = f"{r.server_per_1000 - paired.server_per_1000:+.1f}" if paired else "—"
    db = f"{r.per_1000('stand-in'):.1f}"
    if paired:
        db += f" ({r.per_1000('stand-in') - paired.per_1000('stand-in'):+.1f})"
    windows = " / ".join(str(len(r.mismatches[level.name])) for level in LEVELS) if r.rollups else "—"
    achieved = r.inserted / r.seconds if r.seconds else 0.0
    cells = [r.source, f"{r.rate:,}", spec.DEFAULT if r.rollups else "(none)", f"{r.inserted:,}",
             f"{achieved:,.0f}", f"{r.server_per_1000:.1f}", added, db,
             *(lag_cell(r, name) for name in ("live", *FOLLOWED)), windows, f"{r.rss_mb:.0f}"]
    return "| " + " | ".join(cells) + " |"


def details(r: Result) -> str:
    """What the table leaves out: the server's CPU split, lags from the producer's stamp, rows never
    counted at the client."""
    split = (f"    CPU ms / 1,000 rows: server process {r.per_1000('server'):.1f}, its children "
             f"{r.per_1000('children'):.1f}")
    lags = [f"{n}: p99 from the stamp {ms(lags.from_stamp, 0.99)} ms" + (f", never counted {lags.never}"
                                                                         if n != "live" else "")
            for n, lags in r.lags.items()]
    updates = ", ".join(f"{n} {count:,} ({count / r.seconds:.1f}/s)" for n, count in r.updates.items())
    return f"{split}; updates the client got: {updates}\n    " + "; ".join(lags)


def startup_lines(s: Startup) -> list[str]:
    sql = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in s.sql_seconds.items())
    lines = [f"start-up over an hour of rows: {s.rows:,} trades backdated over 3,600 s, written in "
             f"{s.fill_seconds:.1f} s; TDengine's INTERVAL answers (read by this script): {sql}",
             f"  server start -> reading rows {s.reading:.1f} s -> rollup tables made (first whole load) "
             f"{s.tables:.1f} s -> all three equal TDengine's at a client {s.complete:.1f} s "
             f"({s.reads} reads of the three tables)",
             f"  CPU from start to complete: server process {s.cpu['server']:.1f} s, its children "
             f"{s.cpu['children']:.1f} s, the stand-in {s.cpu['stand-in']:.1f} s; RSS {s.rss_mb:.0f} MB"]
    if any(s.left.values()):
        lines.append(f"  NOT complete after the time-out: {summary_of(s.left)}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sources", nargs="+", default=["poll", "subscribe"], choices=["poll", "subscribe"])
    parser.add_argument("--rates", nargs="+", type=int, default=[1_000, 10_000, 30_000])
    parser.add_argument("--seconds", type=float, default=10.0, help="producer run per rate")
    parser.add_argument("--startup-rows-per-second", type=int, default=200,
                        help="rows per second of the backdated hour the start-up is measured over")
    parser.add_argument("--parts", nargs="+", default=["runs", "startup"], choices=["runs", "startup"])
    args = parser.parse_args()
    lines = []
    for rate in args.rates if "runs" in args.parts else ():
        for source in args.sources:
            without = None
            for rollups in (False, True):
                print(f"{source} at {rate:,} rows/s for {args.seconds:g} s, rollups "
                      f"{'on' if rollups else 'off'} ...", file=sys.stderr, flush=True)
                result = run_once(source, rate, args.seconds, rollups)
                lines.append(line(result, without))
                print("  " + lines[-1] + "\n" + details(result), file=sys.stderr, flush=True)
                without = result
    if lines:
        print(HEADER)
        print("|" + "---|" * HEADER.count(" | ") + "---|")
        print("\n".join(lines))
    if "startup" in args.parts:
        print("\n".join(startup_lines(run_startup(args.startup_rows_per_second))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
