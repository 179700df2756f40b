"""The token bucket behind PERSPECTIVE_VIEW_RATE (tdpersp/view_rate.py), on a clock the test moves."""

from __future__ import annotations

from tdpersp.view_rate import MAX_ADDRESSES, ViewRate


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def taken(rate: ViewRate, address: str, attempts: int) -> int:
    return sum(rate.take(address) for _ in range(attempts))


def test_a_burst_then_the_steady_rate() -> None:
    """Guards the arithmetic: `burst` views at once, then `per_second` a second, never more than
    the burst however long the address was idle."""
    clock = Clock()
    rate = ViewRate(per_second=4, burst=10, clock=clock)
    assert taken(rate, "a", 20) == 10
    clock.now += 0.5
    assert taken(rate, "a", 20) == 2
    clock.now += 3600
    assert taken(rate, "a", 20) == 10


def test_addresses_have_their_own_buckets() -> None:
    """Guards fairness: one address spending its budget leaves another's untouched."""
    rate = ViewRate(per_second=1, burst=3, clock=Clock())
    assert taken(rate, "10.0.0.1", 5) == 3
    assert taken(rate, "10.0.0.2", 5) == 3


def test_idle_addresses_are_forgotten() -> None:
    """Guards memory: many addresses do not grow the buckets without bound; a busy address's
    spent budget is kept (forgetting it would hand a flood a fresh burst)."""
    clock = Clock()
    rate = ViewRate(per_second=1, burst=2, clock=clock)
    assert taken(rate, "busy", 3) == 2
    for n in range(MAX_ADDRESSES):
        rate.take(f"visitor{n}")
    clock.now += 5  # every visitor's bucket is full again; "busy" is spent once more below
    assert taken(rate, "busy", 3) == 2
    rate.take("one more")
    assert len(rate._buckets) <= 2
    assert not rate.take("busy")
