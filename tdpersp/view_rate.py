"""How fast one client address may open views: a token bucket per address.

Making a view is the one cheap-to-ask, costly-to-answer request a viewer has (a grouped view of
the live table is computed at once; a history view queries TDengine), and a client that closes its
views and reconnects escapes every per-connection cap. A dashboard opens a handful of views when it
loads and one per change of a panel's settings, so a burst of BURST and a steady
PERSPECTIVE_VIEW_RATE per second never stop a person, only a loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable

BURST = 64  # new views at once: a dashboard's (one to four) many times over
MAX_ADDRESSES = 4096  # buckets kept before the full ones (idle addresses) are forgotten


class ViewRate:
    def __init__(self, per_second: float, burst: int = BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when counted)

    def take(self, address: str) -> bool:
        """One view for `address`, if its bucket has a token left."""
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
