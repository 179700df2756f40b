"""Throughput of the stand-in through the real taosws client.

    ./venv/bin/python bench/standin_throughput.py [--rows 200000] [--tables 10] [--batch 10000] [--repeat 3]

Starts ``python -m tests.standin`` as a subprocess, inserts rows shaped like the producer's
(supertable ``quotes`` with one subtable per ticker, microsecond precision) with stmt v1 and with
stmt2, then reads them back with ``SELECT *`` and through a topic (``TMQ earliest``: a new consumer
group reads the whole WAL, committing each message), and prints rows/s for each. Targets on the
2-core dev machine: >= 100,000 rows/s inserted, >= 200,000 rows/s of query results delivered.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import taosws

from tests.standin.fixture import StandInProcess

T0_US = 1_700_000_000_000_000
STB = ("CREATE STABLE quotes (ts TIMESTAMP, client NCHAR(10), open FLOAT, high FLOAT, low FLOAT, "
       "close FLOAT, volume INT UNSIGNED, date TIMESTAMP) TAGS (ticker NCHAR(10))")
INSERT = "INSERT INTO ? USING quotes TAGS (?) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"


def columns(start_us: int, n: int, date_us: int | None = None) -> list:
    """One ticker's slice of a batch, built with the same helpers as the producer; `date` is each
    row's timestamp, or ``date_us`` for every row (the live bench stamps the send time there)."""
    ts = list(range(start_us, start_us + n))
    prices = [100.0 + (i % 500) * 0.25 for i in range(n)]
    return [
        taosws.micros_timestamps_to_column(ts),
        taosws.nchar_to_column(["client" + str(i % 7) for i in range(n)]),
        taosws.floats_to_column(prices),
        taosws.floats_to_column([p + 1 for p in prices]),
        taosws.floats_to_column([p - 1 for p in prices]),
        taosws.floats_to_column(prices),
        taosws.unsigned_ints_to_column([i % 100_000 for i in range(n)]),
        taosws.micros_timestamps_to_column(ts if date_us is None else [date_us] * n),
    ]


def batches(rows: int, tables: int, batch: int, offset_us: int) -> list:
    """(ticker, columns) groups, each batch with batch/tables rows per ticker. Built before the
    clock starts, so the figures measure the stand-in and the transfer, not making the data."""
    per_table = max(1, batch // tables)
    return [[(f"T{t:03d}", columns(offset_us + start + t * 10**10, min(per_table, rows // tables - start)))
             for t in range(tables)]
            for start in range(0, rows // tables, per_table)]


def bench_stmt_v1(conn, rows: int, tables: int, batch: int, offset_us: int) -> tuple[int, float]:
    stmt = conn.statement()
    stmt.prepare(INSERT)
    groups = batches(rows, tables, batch, offset_us)
    written, started = 0, time.perf_counter()
    for group in groups:
        for ticker, cols in group:
            stmt.set_tbname(f"q_{ticker.lower()}")
            stmt.set_tags([taosws.nchar_to_tag(ticker)])
            stmt.bind_param(cols)
            stmt.add_batch()
        written += stmt.execute()
    return written, time.perf_counter() - started


def bench_stmt2(conn, rows: int, tables: int, batch: int, offset_us: int) -> tuple[int, float]:
    stmt = conn.stmt2_statement()
    stmt.prepare(INSERT)
    groups = batches(rows, tables, batch, offset_us)
    written, started = 0, time.perf_counter()
    for group in groups:
        stmt.bind([taosws.stmt2_bind_param_view(table_name=f"q_{ticker.lower()}",
                                                tags=[taosws.nchar_to_tag(ticker)], columns=cols)
                   for ticker, cols in group])
        written += stmt.execute()
    return written, time.perf_counter() - started


def bench_query(conn) -> tuple[int, float]:
    """Rows and seconds from sending the SELECT to the client holding every row as Python tuples
    (the stand-in reads sqlite and encodes blocks while the client decodes earlier ones)."""
    started = time.perf_counter()
    count = sum(1 for _ in conn.query("SELECT * FROM quotes"))
    return count, time.perf_counter() - started


TOPIC = ("CREATE TOPIC quotes_feed AS SELECT CAST(ts AS BIGINT), tbname, ticker, client, open, high, low, "
         "close, volume, CAST(date AS BIGINT) FROM quotes")  # the subscription source's shape


def bench_tmq(standin: StandInProcess, group: str, expected: int) -> tuple[int, float]:
    """Rows and seconds for a new consumer group (auto.offset.reset=earliest) to read the whole
    WAL through the topic, committing each message, as the subscription source does."""
    consumer = taosws.Consumer({
        "td.connect.websocket.scheme": "ws", "td.connect.ip": standin.host,
        "td.connect.port": str(standin.port), "td.connect.user": "root", "td.connect.pass": "taosdata",
        "group.id": group, "auto.offset.reset": "earliest", "enable.auto.commit": "false"})
    consumer.subscribe(["quotes_feed"])
    count, started = 0, time.perf_counter()
    while count < expected:
        message = consumer.poll(1.0)
        if message is None:
            raise RuntimeError(f"TMQ stalled after {count:,d} of {expected:,d} rows")
        count += sum(len(block.fetchall()) for block in message)
        consumer.commit(message)
    elapsed = time.perf_counter() - started
    consumer.unsubscribe()
    consumer.close()
    return count, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000, help="rows per insert method")
    parser.add_argument("--tables", type=int, default=10, help="subtables (tickers)")
    parser.add_argument("--batch", type=int, default=10_000, help="rows per execute()")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each measurement (shared machines are noisy)")
    args = parser.parse_args()
    with StandInProcess() as standin:
        admin = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
        admin.execute("CREATE DATABASE bench PRECISION 'us'")
        admin.close()
        conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata",
                              database="bench")
        conn.execute(STB)
        conn.execute(TOPIC)
        runs: dict[str, list[tuple[int, float]]] = {
            "insert stmt v1": [], "insert stmt2": [], "query SELECT *": [], "TMQ earliest": []}
        for k in range(args.repeat):
            offset = T0_US + 2 * k * 10**9  # fresh timestamps: every run writes new rows
            runs["insert stmt v1"].append(bench_stmt_v1(conn, args.rows, args.tables, args.batch, offset))
            runs["insert stmt2"].append(bench_stmt2(conn, args.rows, args.tables, args.batch, offset + 10**9))
        for _ in range(args.repeat):
            runs["query SELECT *"].append(bench_query(conn))
        written = sum(n for label in ("insert stmt v1", "insert stmt2") for n, _ in runs[label])
        for k in range(args.repeat):
            runs["TMQ earliest"].append(bench_tmq(standin, f"bench{k}", written))
        for label, results in runs.items():
            rates = sorted(n / secs for n, secs in results)
            print(f"{label:16s} {results[-1][0]:>9,d} rows a run: "
                  f"median {statistics.median(rates):>9,.0f} rows/s "
                  f"(min {rates[0]:,.0f}, max {rates[-1]:,.0f}, {len(rates)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
