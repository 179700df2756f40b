"""Reading each new row of a table exactly once, by polling.

The original demo re-read "the last second" every 250 ms: every row arrived about four times, rows were
lost above LIMIT 1000 per poll, and the window compared the database's clock with the
producer's. This reader instead keeps a *watermark*: the largest timestamp it has delivered.
Each poll reads the rows above it, page by page, so nothing depends on any clock and no row is
read twice.

One subtlety remains: rows can become visible out of timestamp order (a batch spread over
several subtables/vnodes, or a second producer). So the reader also remembers the keys
(subtable, timestamp) it delivered during the last ``lookback`` ticks and, every poll, compares
a cheap COUNT(*) of that window with what it remembers. Only when they differ does it re-read
the window and deliver the rows it had not seen. Rows arriving later than ``lookback`` behind
the watermark are not seen by this polling mode (the subscription source sees them).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import taosws

from tdpersp.core.tdconn import is_missing_table
from tdpersp.live.messages import ReaderStats
from tdpersp.live.rows import TS, Key, Row, RowLayout

PAGE_SIZE = 10_000


@dataclass
class NewRowReader:
    """Delivers every row of ``layout``'s table once; starts with the newest ``initial_rows``."""

    query: Callable[[str], Sequence[Row]]
    layout: RowLayout
    initial_rows: int
    lookback: int  # in timestamp ticks of the database precision
    page_size: int = PAGE_SIZE
    stats: ReaderStats = field(default_factory=ReaderStats)
    _watermark: int | None = None
    _floor: int | None = None  # rows at or before this were left out of the first load on purpose
    from_start: bool = False  # the table was missing or empty at first: deliver every row
    _seen: set[Key] = field(default_factory=set)  # keys delivered within the lookback
    _expiry: list[tuple[int, Key]] = field(default_factory=list)  # the same, a heap by time

    def __post_init__(self) -> None:
        self._ts, self._key, self._select = self.layout.ts, self.layout.key, self.layout.select_sql()

    def poll(self) -> list[Row]:
        """Rows not delivered before, oldest first. Raises taosws.Error when TDengine fails."""
        self.stats.polls += 1
        try:
            rows = self._first_rows() if self._watermark is None else (
                self._late_rows(self._watermark) + self.rows_after(self._watermark))
        except taosws.Error as err:
            if is_missing_table(err):  # every row written from now on will be new to us
                self.from_start = True
            raise
        self._forget_old()
        self.stats.delivered += len(rows)
        return rows

    def _first_rows(self) -> list[Row]:
        """All rows if the table was missing or empty when we first looked; else the newest
        `initial_rows`, the older ones being history that the table has no room for."""
        if self.from_start:
            return self.rows_after(None)
        newest = self._run(f"ORDER BY {self._ts} DESC LIMIT {self.initial_rows}")
        if not newest:
            self.from_start = True
        elif len(newest) == self.initial_rows:  # not to be delivered later as "late" rows either
            self._floor = newest[-1][TS]
        return self._accept(list(reversed(newest)))

    def rows_after(self, watermark: int | None) -> list[Row]:
        """Page through rows above the watermark; pages overlap on their edge timestamp."""
        found: list[Row] = []
        condition = "" if watermark is None else f"{self._ts} > {watermark}"
        while True:
            where = f"WHERE {condition} " if condition else ""
            page = self._run(f"{where}ORDER BY {self._ts} ASC LIMIT {self.page_size}")
            found += self._accept(page)
            if len(page) < self.page_size:
                return found
            edge = page[-1][TS]
            if page[0][TS] == edge:  # a whole page on one timestamp: take that instant at once
                found += self._accept(self._run(f"WHERE {self._ts} = {edge}"))
                condition = f"{self._ts} > {edge}"
            else:
                condition = f"{self._ts} >= {edge}"

    def _late_rows(self, watermark: int) -> list[Row]:
        """Rows that appeared behind the watermark, within the lookback window."""
        low = watermark - self.lookback
        if self._floor is not None:
            low = max(low, self._floor)
        window = f"{self._ts} > {low} AND {self._ts} <= {watermark}"
        # _forget_old keeps exactly the keys above watermark - lookback: no need to count them
        known = len(self._seen) if low == watermark - self.lookback else sum(
            1 for _, ts in self._seen if ts > low)
        if self._count(window) <= known:
            return []
        late = self._accept(self._run(f"WHERE {window} ORDER BY {self._ts} ASC"))
        self.stats.late += len(late)
        return late

    def _accept(self, rows: Sequence[Row]) -> list[Row]:
        """Keep the rows whose key (subtable, timestamp) was not delivered yet, and remember them."""
        fresh = []
        seen, expiry, key_of = self._seen, self._expiry, self._key
        for row in rows:
            key = key_of(row)
            if key not in seen:
                seen.add(key)
                heapq.heappush(expiry, (row[TS], key))  # O(1) for rows in time order, the usual case
                fresh.append(row)
        if fresh:
            newest = max(row[TS] for row in fresh)
            self._watermark = newest if self._watermark is None else max(self._watermark, newest)
        return fresh

    def _forget_old(self) -> None:
        """Drop the keys at or below watermark - lookback, oldest first (was a rebuild of the whole
        window every poll: the reader's largest cost after decoding, by the profile)."""
        if self._watermark is not None:
            horizon = self._watermark - self.lookback
            while self._expiry and self._expiry[0][0] <= horizon:
                self._seen.discard(heapq.heappop(self._expiry)[1])

    def _run(self, clause: str) -> list[Row]:
        self.stats.queries += 1
        return list(self.query(f"{self._select} {clause}"))

    def _count(self, condition: str) -> int:
        self.stats.queries += 1
        rows = list(self.query(f"SELECT COUNT(*) FROM {self.layout.table.source} WHERE {condition}"))
        return int(rows[0][0]) if rows else 0

