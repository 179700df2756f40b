"""Smart meters, shaped like taosBenchmark's IoT table `meters`: the `meters` dataset (`Meters`).

The supertable is taosBenchmark's default one (its DDL as `taosdump` writes it:
``ts TIMESTAMP, current FLOAT, voltage INT, phase FLOAT`` with tags ``groupid INT, location
VARCHAR(24)``; taosBenchmark's `groupId` is folded to lower case by TDengine), so the producer can
also write live rows into the `test.meters` that `./docker.sh --benchmark` fills. Subtables are
`d0 … d{N-1}`, as there; the locations are taosBenchmark's ten Californian cities (its spelling).

Each device has fixed tags and its own nominal current and phase, all derived from its number
alone (never from PRODUCER_SEED): a device keeps the same tags in every run, and a subtable that
exists already is never written with other tags. Rows go to the devices in turn, so each gets the
same share of the rate.

Timestamps: every device has its own strictly increasing clock in the database's precision. So
the producer can write into taosBenchmark's millisecond `test` database as well as into the
microsecond one it creates; in milliseconds a device takes at most 1,000 rows per second in real
time. Beyond that its clock runs ahead of the wall clock (still one timestamp per row, none
overwritten), and the producer says so when it starts.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tdpersp.core.dataset import TICKS_PER_SECOND, Dataset, Definition, MonotonicClock, Subtable

COLUMNS: Definition = (("ts", "TIMESTAMP"), ("current", "FLOAT"), ("voltage", "INT"), ("phase", "FLOAT"))
TAGS: Definition = (("groupid", "INT"), ("location", "VARCHAR(24)"))
LOCATIONS = ("California.SanFrancisco", "California.LosAngles", "California.SanDiego",
             "California.SanJose", "California.PaloAlto", "California.Campbell",
             "California.MountainView", "California.Sunnyvale", "California.SantaClara",
             "California.Cupertino")
GROUPS = range(1, 11)
# Readings: amperes around each device's own level, volts around the mains' 220, phase as a
# fraction of a cycle (0-1).
CURRENT_LEVEL = (10.0, 12.0)
CURRENT_NOISE = 0.5
VOLTAGE = (215, 225)
PHASE_LEVEL = (0.25, 0.35)
PHASE_NOISE = 0.02


@dataclass(frozen=True)
class Device:
    """A meter: its subtable, tags and nominal readings, the same for a number in every run."""

    index: int
    groupid: int
    location: str
    current: float
    phase: float

    @property
    def subtable(self) -> str:
        return f"d{self.index}"

    @classmethod
    def number(cls, index: int) -> Device:
        own = random.Random(f"meters-device-{index}")  # a str seed is stable across runs and Pythons
        return cls(index, own.choice(GROUPS), own.choice(LOCATIONS), own.uniform(*CURRENT_LEVEL),
                   own.uniform(*PHASE_LEVEL))


@dataclass
class Readings:
    """One device's rows of a batch, column by column in COLUMNS' order."""

    ts: list[int] = field(default_factory=list)
    current: list[float] = field(default_factory=list)
    voltage: list[int] = field(default_factory=list)
    phase: list[float] = field(default_factory=list)


@dataclass
class Batch:
    """A batch of readings by device (only devices that got rows are present)."""

    devices: dict[int, Readings] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(readings.ts) for readings in self.devices.values())


class BatchMaker:
    """The devices' clocks and whose turn is next, kept from batch to batch."""

    def __init__(self, devices: list[Device], precision: str, rng: random.Random) -> None:
        self.devices = devices
        self._clocks = [MonotonicClock(precision) for _ in devices]
        self._rng = rng
        self._next = 0

    def __call__(self, size: int) -> Batch:
        batch, rng = Batch(), self._rng
        for _ in range(size):
            device = self.devices[self._next]
            self._next = (self._next + 1) % len(self.devices)
            readings = batch.devices.setdefault(device.index, Readings())
            readings.ts.append(self._clocks[device.index].next())
            readings.current.append(device.current + rng.uniform(-CURRENT_NOISE, CURRENT_NOISE))
            readings.voltage.append(rng.randint(*VOLTAGE))
            readings.phase.append(device.phase + rng.uniform(-PHASE_NOISE, PHASE_NOISE))
        return batch


class Meters(Dataset):
    """`devices` meters, one subtable each."""

    name = "meters"
    columns = COLUMNS
    tags = TAGS
    precisions = ("us", "ms", "ns")

    def __init__(self, devices: int = 10) -> None:
        if devices < 1:
            raise ValueError("a meters dataset needs at least one device")
        self.devices = [Device.number(i) for i in range(devices)]

    def maker(self, precision: str, rng: random.Random) -> Callable[[int], Batch]:
        return BatchMaker(self.devices, precision, rng)

    def subtables(self, batch: Batch, table: str) -> Iterator[Subtable]:
        for index, readings in batch.devices.items():
            device = self.devices[index]
            columns = [getattr(readings, name) for name, _ in self.columns]
            yield Subtable(device.subtable, [device.groupid, device.location], columns)

    def max_rows_per_second(self, precision: str) -> float:
        return TICKS_PER_SECOND[precision] * len(self.devices)
