"""The stand-in's TMQ while it is being written to: can a consumer keep up, and how late are rows?

    venv/bin/python bench/standin_tmq_live.py [--rates 10000 50000 100000] [--seconds 5]
                                              [--batch 1000] [--tables 10]

For each rate, on one stand-in (`python -m tests.standin`): a writer process inserts rows of the
producer's shape with stmt2 (`--batch` rows per execute, spread over `--tables` subtables) at that
rate for `--seconds`, while this process consumes them through the subscription source's topic
(CAST(ts), tbname, tag, columns) with a new group at `auto.offset.reset=latest`, committing every
message. Each batch's rows carry the batch's send time in `date`, so the consumer measures
lag = receive time - send time (both processes read the same clock). Printed per rate: what the
writer reached, what the consumer read and its rate, messages, lag p50/p99. The consumer's rate is
bounded by the writer's; a consumer that keeps up reads at the writer's rate with a low lag.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import taosws

from bench.standin_throughput import INSERT, STB, T0_US, TOPIC, columns
from tests.standin.fixture import StandInProcess

LOGIN = {"user": "root", "password": "taosdata"}


def rows_to_write(rate: int, seconds: float, batch: int, tables: int) -> int:
    """``rate * seconds`` rounded up to whole batches (each batch: the same rows per table)."""
    step = max(1, batch // tables) * tables
    return -(-int(rate * seconds) // step) * step


def write(port: int, rate: int, seconds: float, batch: int, tables: int, offset_us: int,
          done: multiprocessing.Queue) -> None:
    """Insert ``rate * seconds`` rows at ``rate``; put (rows written, seconds taken) on ``done``."""
    conn = taosws.connect(host="127.0.0.1", port=port, database="bench", **LOGIN)
    stmt = conn.stmt2_statement()
    stmt.prepare(INSERT)
    per_table, total = max(1, batch // tables), rows_to_write(rate, seconds, batch, tables)
    written, started = 0, time.perf_counter()
    while written < total:
        sent_us = time.time_ns() // 1000
        stmt.bind([taosws.stmt2_bind_param_view(
            table_name=f"q_t{t:03d}", tags=[taosws.nchar_to_tag(f"T{t:03d}")],
            columns=columns(offset_us + t * 10**10 + written, per_table, sent_us))
            for t in range(tables)])
        written += stmt.execute()
        ahead = started + written / rate - time.perf_counter()
        if ahead > 0:
            time.sleep(ahead)
    done.put((written, time.perf_counter() - started))


def consume(port: int, group: str, expected: int,
            writer: multiprocessing.Process) -> tuple[int, int, float, list[float]]:
    """Rows, messages, seconds from the first to the last row, lags in seconds."""
    consumer = taosws.Consumer({
        "td.connect.websocket.scheme": "ws", "td.connect.ip": "127.0.0.1", "td.connect.port": str(port),
        "td.connect.user": LOGIN["user"], "td.connect.pass": LOGIN["password"], "group.id": group,
        "auto.offset.reset": "latest", "enable.auto.commit": "false"})
    consumer.subscribe(["quotes_feed"])
    writer.start()
    count, messages, lags, first, last = 0, 0, [], 0.0, 0.0
    while count < expected:
        message = consumer.poll(5.0)
        if message is None:
            break  # the writer stopped short, or the consumer stalled: the table shows it
        now_us = time.time_ns() // 1000
        first = first or time.perf_counter()
        for block in message:
            rows = block.fetchall()
            count += len(rows)
            lags.extend((now_us - row[-1]) / 1e6 for row in rows[:: max(1, len(rows) // 20)])
        consumer.commit(message)
        messages += 1
        last = time.perf_counter()
    consumer.unsubscribe()
    consumer.close()
    return count, messages, last - first, lags


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[10_000, 50_000, 100_000],
                        help="rows/s to write")
    parser.add_argument("--seconds", type=float, default=5.0, help="writing time per rate")
    parser.add_argument("--batch", type=int, default=1000, help="rows per stmt2 execute")
    parser.add_argument("--tables", type=int, default=10, help="subtables (tickers)")
    args = parser.parse_args()
    if min(args.rates) <= 0 or args.seconds <= 0 or args.batch < args.tables or args.tables <= 0:
        parser.error("rates and --seconds must be positive, --batch at least --tables")
    spawn = multiprocessing.get_context("spawn")  # taosws's runtime must not be forked
    print(f"{'rate':>8s} {'written/s':>10s} {'read':>9s} {'read/s':>10s} {'msgs':>6s} "
          f"{'lag p50':>8s} {'lag p99':>8s}")
    with StandInProcess() as standin:
        admin = taosws.connect(host=standin.host, port=standin.port, **LOGIN)
        admin.execute("CREATE DATABASE bench PRECISION 'us'")
        admin.execute("USE bench")
        admin.execute(STB)
        admin.execute(TOPIC)
        for k, rate in enumerate(args.rates):
            done = spawn.Queue()
            writer = spawn.Process(target=write, args=(standin.port, rate, args.seconds, args.batch,
                                                       args.tables, T0_US + k * 10**9, done))
            expected = rows_to_write(rate, args.seconds, args.batch, args.tables)
            count, messages, secs, lags = consume(standin.port, f"live{k}", expected, writer)
            written, write_secs = done.get(timeout=60)
            writer.join(timeout=60)
            q = statistics.quantiles(lags, n=100) if len(lags) > 1 else [float("nan")] * 99
            read_rate = count / max(secs, 1e-9)
            print(f"{rate:>8,d} {written / write_secs:>10,.0f} {count:>9,d} {read_rate:>10,.0f} "
                  f"{messages:>6d} {q[49]:>7.3f}s {q[98]:>7.3f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
