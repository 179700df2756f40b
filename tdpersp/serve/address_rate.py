"""How often one client address may do something: a token bucket per address.

Two things are rationed per address, because a client that reconnects escapes every limit kept
per connection:
- new views (PERSPECTIVE_VIEW_RATE a second after a burst of VIEW_BURST): making a view is the one
  cheap-to-ask, costly-to-answer request a viewer has (a grouped view of the live table is
  computed at once; a history view queries TDengine). A dashboard opens one to four views when it
  loads and one per change of a panel's settings, so the limit stops a loop, never a person;
- warning lines about a client (QuietLog): a client that sends garbage in a loop must not fill the
  log; what is left out is counted and said on the next line.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable

VIEW_BURST = 64  # new views at once: a dashboard's many times over
MAX_ADDRESSES = 4096  # buckets kept before the full ones (idle addresses) are forgotten


class AddressRate:
    def __init__(self, per_second: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when counted)

    def take(self, address: str) -> bool:
        """One token for `address`, if its bucket has one left."""
        now = self._clock()
        tokens, then = self._buckets.get(address, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.per_second)
        if tokens < 1:
            return False
        self._buckets[address] = (tokens - 1, now)
        if len(self._buckets) > MAX_ADDRESSES:
            self._forget_idle(now)
        return True

    def _forget_idle(self, now: float) -> None:
        for address, (tokens, then) in list(self._buckets.items()):
            if tokens + (now - then) * self.per_second >= self.burst:
                del self._buckets[address]


class QuietLog:
    """Warnings about client addresses: per address the first line, then at most one every
    `every` seconds, saying how many were left out in between."""

    def __init__(self, logger: logging.Logger, every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._logger = logger
        self._rate = AddressRate(1 / every, burst=1, clock=clock)
        self._left_out: Counter[str] = Counter()

    def warning(self, address: str, message: str, *args: object) -> None:
        if not self._rate.take(address):
            if len(self._left_out) < MAX_ADDRESSES:
                self._left_out[address] += 1
            return
        left_out = self._left_out.pop(address, 0)
        if left_out:
            message += f" ({left_out} more such lines about {address} left out)"
        self._logger.warning(message, *args)
