"""Simulated real-time ingestion: random trades (or smart-meter readings) written into TDengine
in batches.

Every PRODUCER_INTERVAL seconds one batch is inserted with a WebSocket prepared statement.
Each row gets its own timestamp in its subtable, so none overwrites another. PRODUCER_DATASET
picks the data: `trades` (the demo's, in a microsecond database) or `meters` (taosBenchmark's
IoT table, PRODUCER_DEVICES subtables d0, d1, ...; it also writes into a millisecond database
such as taosBenchmark's `test`). Ctrl-C stops after the current batch; the last line says how
many rows were written.
"""

from __future__ import annotations

import logging
import random
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import taosws

from tdpersp.core import config
from tdpersp.core.dataset import Dataset
from tdpersp.core.meters import Meters
from tdpersp.core.tdconn import TaosConfig, connect, error_text
from tdpersp.core.trades import TRADES
from tdpersp.core.writer import BatchWriter, ResilientWriter, SchemaError, ensure_schema

log = logging.getLogger("producer")


class DatasetKind(StrEnum):
    TRADES = "trades"
    METERS = "meters"


SETTINGS = (
    *config.TAOS_SETTINGS,
    config.Setting("TAOS_REPLICA", "", "replicas of the database the producer creates: 1, or 3 on a "
                   "cluster (2: Enterprise only); empty: TDengine's default (1)",
                   config.optional(config.replica)),
    config.Setting("PRODUCER_DATASET", "trades", "the data: trades, or meters (taosBenchmark's IoT table)",
                   config.choice(DatasetKind)),
    config.Setting("PRODUCER_DEVICES", "10", "subtables (devices d0, d1, ...) of the meters dataset",
                   config.positive_int),
    config.Setting("PRODUCER_BATCH_SIZE", "250", "rows per batch", config.positive_int),
    config.Setting("PRODUCER_INTERVAL", "0.25", "seconds between batches", config.positive_float),
    config.Setting("PRODUCER_RATE", "", "rows per second (overrides the batch size)",
                   config.optional(config.positive_float)),
    config.Setting("PRODUCER_COUNT", "", "stop after this many rows", config.optional(config.positive_int)),
    config.Setting("PRODUCER_DURATION", "", "stop after this many seconds",
                   config.optional(config.positive_float)),
    config.Setting("PRODUCER_SEED", "", "random seed, for repeatable data", config.optional(config.integer)),
    config.Setting("PRODUCER_LOG_EVERY", "5", "seconds between progress lines", config.positive_float),
)


@dataclass
class Plan:
    """How much to write and when to stop."""

    interval: float
    rows_per_second: float
    count: int | None
    duration: float | None
    log_every: float

    def batch_size(self, batch_index: int) -> int:
        """Rows for batch k, so that k batches hold round(k * rate * interval) rows in total."""
        per_batch = self.rows_per_second * self.interval
        return round((batch_index + 1) * per_batch) - round(batch_index * per_batch)


class Stopper:
    """Turns SIGINT/SIGTERM into a flag, so the batch being written is finished, not cut."""

    def __init__(self) -> None:
        self.requested = False
        signal.signal(signal.SIGINT, self._request)
        signal.signal(signal.SIGTERM, self._request)

    def _request(self, signum: int, frame: object) -> None:
        log.info("stopping after the current batch (%s)", signal.Signals(signum).name)
        self.requested = True


def run(writer: ResilientWriter, dataset: Dataset, plan: Plan, rng: random.Random, stopper: Stopper) -> int:
    """Write batches on schedule until the count, the duration or a signal says stop."""
    precision = writer.precision()  # the rows are stamped in it: connect (or wait) first
    make_batch = dataset.maker(precision, rng)
    warn_if_too_fast(dataset, precision, plan.rows_per_second)
    written, batch_index = 0, 0
    start = last_log = time.monotonic()
    logged_rows = 0
    while not stopper.requested:
        size = plan.batch_size(batch_index)
        if plan.count is not None:
            size = min(size, plan.count - written)
        if size > 0:
            written += writer.write(make_batch(size))
        batch_index += 1
        now = time.monotonic()
        if now - last_log >= plan.log_every:
            log.info("%d rows/s, %d rows in all", (written - logged_rows) / (now - last_log), written)
            last_log, logged_rows = now, written
        if _finished(plan, written, now - start):
            break
        time.sleep(max(0.0, start + batch_index * plan.interval - time.monotonic()))
    return written


def _finished(plan: Plan, written: int, elapsed: float) -> bool:
    if plan.count is not None and written >= plan.count:
        return True
    return plan.duration is not None and elapsed + plan.interval > plan.duration


def warn_if_too_fast(dataset: Dataset, precision: str, rows_per_second: float) -> None:
    limit = dataset.max_rows_per_second(precision)
    if rows_per_second > limit:
        log.warning("%.0f rows/s is more than the %.0f a '%s' database can stamp in real time for the "
                    "%s dataset: timestamps stay unique but run ahead of the clock", rows_per_second,
                    limit, precision, dataset.name)


def make_dataset(kind: DatasetKind, devices: int) -> Dataset:
    return Meters(devices) if kind == DatasetKind.METERS else TRADES


def open_writer(cfg: TaosConfig, dataset: Dataset, replica: int | None = None) -> BatchWriter:
    """Connect, create what is missing (also after TDengine lost it), prepare the INSERT."""
    admin = connect(cfg, use_database=False)  # the database may not exist yet
    try:
        precision = ensure_schema(admin, cfg, dataset, replica)
    finally:
        admin.close()
    return BatchWriter(connect(cfg), cfg, dataset, precision)


def main(argv: Sequence[str] | None = None) -> int:
    values = config.load(SETTINGS, __doc__ or "", argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    cfg = TaosConfig.from_settings(values)
    plan = Plan(
        interval=values.producer_interval,
        rows_per_second=values.producer_rate or values.producer_batch_size / values.producer_interval,
        count=values.producer_count,
        duration=values.producer_duration,
        log_every=values.producer_log_every,
    )
    dataset = make_dataset(values.producer_dataset, values.producer_devices)
    stopper = Stopper()
    started = time.monotonic()
    try:
        writer = ResilientWriter(lambda: open_writer(cfg, dataset, values.taos_replica),
                                 lambda: stopper.requested)
        log.info("writing %.0f rows/s to %s.%s (%s) at %s", plan.rows_per_second, cfg.database, cfg.table,
                 dataset.name, cfg.describe())
        written = run(writer, dataset, plan, random.Random(values.producer_seed), stopper)
    except (taosws.Error, SchemaError) as err:
        log.error("TDengine at %s: %s", cfg.describe(), error_text(err))
        return 1
    elapsed = time.monotonic() - started
    log.info("done: %d rows written in %.1f s", written, elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
