"""The token bucket per client address (tdpersp/serve/address_rate.py), on a clock the test moves."""

from __future__ import annotations

import logging

import pytest

from tdpersp.serve.address_rate import MAX_ADDRESSES, AddressRate, QuietLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def taken(rate: AddressRate, address: str, attempts: int) -> int:
    return sum(rate.take(address) for _ in range(attempts))


def test_a_burst_then_the_steady_rate() -> None:
    """Guards the arithmetic: `burst` views at once, then `per_second` a second, never more than
    the burst however long the address was idle."""
    clock = Clock()
    rate = AddressRate(per_second=4, burst=10, clock=clock)
    assert taken(rate, "a", 20) == 10
    clock.now += 0.5
    assert taken(rate, "a", 20) == 2
    clock.now += 3600
    assert taken(rate, "a", 20) == 10


def test_addresses_have_their_own_buckets() -> None:
    """Guards fairness: one address spending its budget leaves another's untouched."""
    rate = AddressRate(per_second=1, burst=3, clock=Clock())
    assert taken(rate, "10.0.0.1", 5) == 3
    assert taken(rate, "10.0.0.2", 5) == 3


def test_idle_addresses_are_forgotten() -> None:
    """Guards memory: many addresses do not grow the buckets without bound; a busy address's
    spent budget is kept (forgetting it would hand a flood a fresh burst)."""
    clock = Clock()
    rate = AddressRate(per_second=1, burst=2, clock=clock)
    assert taken(rate, "busy", 3) == 2
    for n in range(MAX_ADDRESSES):
        rate.take(f"visitor{n}")
    clock.now += 5  # every visitor's bucket is full again; "busy" is spent once more below
    assert taken(rate, "busy", 3) == 2
    rate.take("one more")
    assert len(rate._buckets) <= 2
    assert not rate.take("busy")


def test_quiet_log_says_what_it_left_out(caplog: pytest.LogCaptureFixture) -> None:
    """Guards the log against a client misbehaving in a loop: per address the first line, then one
    per interval that counts the lines left out; another address is not silenced."""
    clock = Clock()
    quiet = QuietLog(logging.getLogger("test_quiet"), every=10, clock=clock)
    with caplog.at_level(logging.WARNING, logger="test_quiet"):
        for n in range(5):
            quiet.warning("10.0.0.1", "bad frame %d", n)
        quiet.warning("10.0.0.2", "bad frame from elsewhere")
        clock.now += 10
        quiet.warning("10.0.0.1", "bad frame %d", 5)
    assert caplog.messages == ["bad frame 0", "bad frame from elsewhere",
                               "bad frame 5 (4 more such lines about 10.0.0.1 left out)"]
