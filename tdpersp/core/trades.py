"""Random trades, as the original demo made them, each with its own primary-key timestamp: the
default dataset (`TRADES`), in the supertable `schema` describes."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from tdpersp.core import schema
from tdpersp.core.dataset import TICKS_PER_SECOND, Dataset, MonotonicClock, Subtable

TICKERS = ("AAPL.N", "AMZN.N", "QQQ.N", "NVDA.N", "TSLA.N", "FB.N", "MSFT.N", "TLT.N", "XIV.N",
           "YY.N", "CSCO.N", "GOOGL.N", "PCLN.N")
MICROS_PER_DAY = 86_400 * 1_000_000
CLIENTS = ("Homer", "Marge", "Bart", "Lisa", "Maggie", "Moe", "Lenny", "Carl", "Krusty")


@dataclass
class Batch:
    """One batch of trades, column by column (the shape prepared statements bind)."""

    timestamp: list[int] = field(default_factory=list)  # µs since the epoch
    ticker: list[str] = field(default_factory=list)
    client: list[str] = field(default_factory=list)
    open: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    close: list[float] = field(default_factory=list)
    volume: list[int] = field(default_factory=list)
    date: list[int] = field(default_factory=list)  # µs since the epoch, midnight UTC of the trade

    def __len__(self) -> int:
        return len(self.timestamp)

    def by_ticker(self) -> dict[str, list[int]]:
        """Row positions per ticker: each ticker is written to its own subtable."""
        groups: dict[str, list[int]] = {}
        for position, ticker in enumerate(self.ticker):
            groups.setdefault(ticker, []).append(position)
        return groups


def make_batch(size: int, clock: MonotonicClock, rng: random.Random) -> Batch:
    """`size` trades with the original demo's prices: a random modifier per batch, uniform noise per row."""
    batch = Batch()
    modifier = rng.random() * rng.randint(1, 50)
    for _ in range(size):
        stamp = clock.next()
        batch.timestamp.append(stamp)
        batch.ticker.append(rng.choice(TICKERS))
        batch.client.append(rng.choice(CLIENTS))
        batch.open.append(rng.uniform(0, 75) + rng.randint(0, 9) * modifier)
        batch.high.append(rng.uniform(0, 105) + rng.randint(1, 3) * modifier)
        batch.low.append(rng.uniform(0, 85) + rng.randint(1, 3) * modifier)
        batch.close.append(rng.uniform(0, 90) + rng.randint(1, 3) * modifier)
        batch.volume.append(rng.randint(10_000, 100_000))
        batch.date.append(midnight_utc(stamp))
    return batch


def midnight_utc(micros: int) -> int:
    """Epoch time has no leap seconds, so UTC days are exactly this long."""
    return micros - micros % MICROS_PER_DAY


class Trades(Dataset):
    """One subtable per ticker, the ticker its tag; one microsecond clock for every row of a
    producer, so no two trades share a timestamp even across tickers."""

    name = "trades"
    columns = schema.COLUMNS
    tags = schema.TAGS
    precisions = (schema.PRECISION,)  # `date` and the reader's watermark are microseconds

    def maker(self, precision: str, rng: random.Random) -> Callable[[int], Batch]:
        clock = MonotonicClock(precision)
        return lambda size: make_batch(size, clock, rng)

    def subtables(self, batch: Batch, table: str) -> Iterator[Subtable]:
        values = [getattr(batch, name) for name, _ in self.columns]
        for ticker, rows in batch.by_ticker().items():
            columns = [[column[i] for i in rows] for column in values]
            yield Subtable(schema.subtable_name(table, ticker), [ticker], columns)

    def max_rows_per_second(self, precision: str) -> float:
        return TICKS_PER_SECOND[precision]


TRADES = Trades()
