"""Row generation: the original demo's random trades, with unique increasing timestamps."""

from __future__ import annotations

import random

import producer
from tdpersp.core import dataset, schema, trades


def test_clock_never_repeats_even_when_time_stands_still(monkeypatch) -> None:
    """Guards the original demo's defect: rows stamped within one clock tick shared a primary key."""
    monkeypatch.setattr(dataset.time, "time_ns", lambda: 1_700_000_000_000_000_000)
    clock = trades.MonotonicClock()
    stamps = [clock.next() for _ in range(1000)]
    assert stamps == list(range(1_700_000_000_000_000, 1_700_000_000_000_000 + 1000))


def test_clock_does_not_step_back_with_the_wall_clock(monkeypatch) -> None:
    """Guards against duplicate keys when the system clock is set back (NTP step)."""
    now = iter([2_000_000_000, 1_000_000_000, 3_000_000_000])
    monkeypatch.setattr(dataset.time, "time_ns", lambda: next(now))
    clock = trades.MonotonicClock()
    assert [clock.next() for _ in range(3)] == [2_000_000, 2_000_001, 3_000_000]


def test_batch_values_follow_the_seed() -> None:
    """Guards the original demo's data shape: its tickers, clients, volume range and one trade per row."""
    batch = trades.make_batch(2000, trades.MonotonicClock(), random.Random(7))
    assert len(batch) == 2000
    assert set(batch.ticker) <= set(trades.TICKERS) and set(batch.client) <= set(trades.CLIENTS)
    assert all(10_000 <= v <= 100_000 for v in batch.volume)
    assert len(set(batch.timestamp)) == 2000 and batch.timestamp == sorted(batch.timestamp)
    assert all(d % trades.MICROS_PER_DAY == 0 and 0 <= t - d < trades.MICROS_PER_DAY
               for t, d in zip(batch.timestamp, batch.date, strict=True))
    positions = sorted(p for rows in batch.by_ticker().values() for p in rows)
    assert positions == list(range(2000))


def test_batch_sizes_add_up_to_the_rate() -> None:
    """Guards the pacing: fractional rows per batch must not be rounded away (e.g. 333.3 rows)."""
    plan = producer.Plan(interval=0.25, rows_per_second=1333.3, count=None, duration=None, log_every=5)
    sizes = [plan.batch_size(k) for k in range(40)]  # 10 seconds
    assert sum(sizes) == round(40 * 1333.3 * 0.25)
    assert max(sizes) - min(sizes) <= 1


def test_subtable_names_are_identifiers() -> None:
    """Guards against ticker punctuation (AAPL.N) leaking into a table name."""
    assert schema.subtable_name("stocks_values", "AAPL.N") == "stocks_values_aapl_n"
    assert len({schema.subtable_name("t", ticker) for ticker in trades.TICKERS}) == len(trades.TICKERS)


def test_schema_sql_backticks_keywords() -> None:
    """Guards the original demo's column names `timestamp` and `date`, which are TDengine keywords."""
    sql = schema.create_stable_sql("db", "t")
    assert "`timestamp` TIMESTAMP" in sql and "`date` TIMESTAMP" in sql and "`volume` INT UNSIGNED" in sql
    assert sql.endswith("TAGS (`ticker` NCHAR(10))")
    assert schema.insert_sql("db", "t").count("?") == 1 + 1 + len(schema.COLUMNS)
