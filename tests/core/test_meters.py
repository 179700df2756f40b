"""The meters dataset (taosBenchmark's IoT table) and what every dataset shares: rows, tags,
timestamps, the DDL and the check of an existing table. No TDengine here: the program tests
(tests/programs/test_meters.py) write these rows through the real client."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from tdpersp.core import dataset, meters, trades

# taosBenchmark's `test.meters` as DESCRIBE reports it (field, type, length, note): its DDL is
# `(ts timestamp, current float, voltage int, phase float) TAGS (groupid int, location binary(24))`.
BENCHMARK_DESCRIBE = [("ts", "TIMESTAMP", 8, ""), ("current", "FLOAT", 4, ""), ("voltage", "INT", 4, ""),
                      ("phase", "FLOAT", 4, ""), ("groupid", "INT", 4, "TAG"),
                      ("location", "VARCHAR", 24, "TAG")]


def _frozen_time(monkeypatch, ns: int = 1_700_000_000_000_000_000) -> None:
    monkeypatch.setattr(dataset.time, "time_ns", lambda: ns)


def test_readings_stay_in_their_ranges() -> None:
    """Guards the data's realism: amperes around 10-12, volts around 220, phase a fraction of a
    cycle, on every row of a long run. It cannot say the values look like a real meter's."""
    data = meters.Meters(7)
    batch = data.maker("us", random.Random(3))(5_000)
    rows = [r for readings in batch.devices.values() for r in zip(readings.current, readings.voltage,
                                                                  readings.phase, strict=True)]
    assert len(rows) == len(batch) == 5_000
    assert all(9.5 <= current <= 12.5 for current, _, _ in rows)
    assert all(215 <= voltage <= 225 and isinstance(voltage, int) for _, voltage, _ in rows)
    assert all(0 < phase < 1 for _, _, phase in rows)


@pytest.mark.parametrize("precision", ["ms", "us", "ns"])
def test_each_subtable_gets_strictly_increasing_timestamps(monkeypatch, precision) -> None:
    """Guards against a row overwriting another (same subtable, same primary key) even when the
    clock stands still, in each precision, across batches. It cannot prove TDengine stores them."""
    _frozen_time(monkeypatch)
    make = meters.Meters(4).maker(precision, random.Random(1))
    stamps: dict[int, list[int]] = {}
    for size in (1, 250, 37, 1_000):
        for index, readings in make(size).devices.items():
            stamps.setdefault(index, []).extend(readings.ts)
    start = 1_700_000_000_000_000_000 // dataset.NS_PER_TICK[precision]
    for series in stamps.values():
        assert series == list(range(start, start + len(series)))


def test_rows_go_to_the_devices_in_turn() -> None:
    """Guards the even share: each device gets the same number of rows, whatever the batch sizes."""
    make = meters.Meters(5).maker("us", random.Random(1))
    counts: Counter[int] = Counter()
    for size in (3, 250, 7, 240):  # 500 rows
        for index, readings in make(size).devices.items():
            counts[index] += len(readings.ts)
    assert counts == {index: 100 for index in range(5)}


def test_tags_are_fixed_per_device() -> None:
    """Guards subtables against changing tags: a device's tags depend on its number alone, not on
    the seed, the device count or the batch. It cannot guard tags already in a table."""
    five, ten = meters.Meters(5), meters.Meters(10)
    assert five.devices == ten.devices[:5]
    for seed in (1, 2):
        make = five.maker("us", random.Random(seed))
        for _ in range(3):
            for sub in five.subtables(make(12), "meters"):
                device = five.devices[int(sub.name[1:])]
                assert sub.tags == [device.groupid, device.location]
    assert {d.subtable for d in ten.devices} == {f"d{i}" for i in range(10)}
    assert all(1 <= d.groupid <= 10 and d.location in meters.LOCATIONS for d in ten.devices)
    assert len({(d.groupid, d.location) for d in ten.devices}) > 1


def test_the_seed_repeats_the_readings(monkeypatch) -> None:
    """Guards PRODUCER_SEED: the same seed gives the same readings, another seed others."""
    _frozen_time(monkeypatch)

    def readings(seed: int) -> list:
        make = meters.Meters(3).maker("ms", random.Random(seed))
        return [make(50).devices for _ in range(3)]

    assert readings(7) == readings(7)
    assert readings(7) != readings(8)


def test_ddl_is_taosbenchmarks() -> None:
    """Guards the table shape against drifting from taosBenchmark's, so the producer can write
    into the `test.meters` that `./docker.sh --benchmark` makes."""
    data = meters.Meters()
    assert data.create_stable_sql("test", "meters") == (
        "CREATE STABLE IF NOT EXISTS `test`.`meters` (`ts` TIMESTAMP, `current` FLOAT, `voltage` INT, "
        "`phase` FLOAT) TAGS (`groupid` INT, `location` VARCHAR(24))")
    assert data.insert_sql("test", "meters") == (
        "INSERT INTO ? USING `test`.`meters` TAGS (?, ?) VALUES (?, ?, ?, ?)")
    assert data.mismatch(BENCHMARK_DESCRIBE) == []
    assert data.mismatch([(*row, "lz4", "medium") for row in BENCHMARK_DESCRIBE]) == []  # 3.3's extra columns


def test_another_table_shape_is_named_in_words() -> None:
    """Guards the refusal's message: what the table has and what the dataset needs, columns and
    tags apart. A shorter VARCHAR or another column order counts as different (stmt2 binds by
    position and type), a longer one does not (it holds our values)."""
    problems = trades.TRADES.mismatch(BENCHMARK_DESCRIBE)
    assert len(problems) == 2
    assert problems[0].startswith("columns are (ts TIMESTAMP, current FLOAT, voltage INT, phase FLOAT), "
                                  "the trades dataset needs (timestamp TIMESTAMP, client NCHAR(10),")
    assert problems[1] == ("tags are (groupid INT, location VARCHAR(24)), "
                           "the trades dataset needs (ticker NCHAR(10))")
    shorter = [*BENCHMARK_DESCRIBE[:5], ("location", "VARCHAR", 16, "TAG")]
    assert meters.Meters().mismatch(shorter) == [
        "tags are (groupid INT, location VARCHAR(16)), the meters dataset needs (groupid INT, "
        "location VARCHAR(24))"]
    longer = [*BENCHMARK_DESCRIBE[:5], ("location", "BINARY", 64, "TAG")]
    assert meters.Meters().mismatch(longer) == []
    swapped = [BENCHMARK_DESCRIBE[0], BENCHMARK_DESCRIBE[2], BENCHMARK_DESCRIBE[1], *BENCHMARK_DESCRIBE[3:]]
    assert len(meters.Meters().mismatch(swapped)) == 1


def test_a_batch_binds_every_subtable_in_one_list() -> None:
    """Guards the one round trip: a batch becomes one stmt2 parameter per subtable it touches,
    for both datasets. It cannot check the bound types (only TDengine or the stand-in can)."""
    data = meters.Meters(5)
    assert len(data.bind(data.maker("ms", random.Random(1))(3), "meters", "ms")) == 3
    batch = trades.make_batch(500, trades.MonotonicClock(), random.Random(1))
    assert len(trades.TRADES.bind(batch, "stocks_values", "us")) == len(batch.by_ticker())
