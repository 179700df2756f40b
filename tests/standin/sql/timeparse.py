"""Timestamp literals, NOW and durations, in a database's precision.

TDengine reads integer timestamps in the database precision, quoted date-times in the
connection's timezone (unless they carry a zone), and ``NOW`` as the current time; durations
``1b 1u 1a 1s 1m 1h 1d 1w`` are ns, µs, ms, s, minutes, hours, days and weeks.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from ..types import TICKS_PER_SECOND

NS_PER_UNIT = {
    "b": 1, "u": 1_000, "a": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000,
    "h": 3_600_000_000_000, "d": 86_400_000_000_000, "w": 604_800_000_000_000,
}

_DATETIME_RE = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$",
    re.IGNORECASE,
)


def duration_ticks(n: int, unit: str, precision: str) -> int:
    """``n`` units as ticks of ``precision`` (sub-tick units truncate, e.g. 1u in a ms database)."""
    return n * NS_PER_UNIT[unit] * TICKS_PER_SECOND[precision] // 1_000_000_000


def now_ticks(precision: str) -> int:
    """The stand-in's wall clock as ticks (TDengine's NOW is the client's clock; see README)."""
    return time.time_ns() * TICKS_PER_SECOND[precision] // 1_000_000_000


def today_ticks(precision: str, tz: tzinfo) -> int:
    """Midnight of the current day in ``tz``."""
    now = datetime.now(tz)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return int(midnight.timestamp()) * TICKS_PER_SECOND[precision]


def _zone(text: str | None, default: tzinfo) -> tzinfo:
    if not text:
        return default
    if text.upper() == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_datetime(text: str, tz: tzinfo, precision: str) -> int | None:
    """Ticks for a 'YYYY-MM-DD[ HH:MM:SS[.fff]][zone]' string, or None if it is not one."""
    m = _DATETIME_RE.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        dt = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                      tzinfo=_zone(zone, tz))
    except ValueError:
        return None
    ticks_per_second = TICKS_PER_SECOND[precision]
    fraction = 0
    if frac:
        digits = len(str(ticks_per_second)) - 1
        fraction = int(frac[:digits].ljust(digits, "0"))
    return int(dt.timestamp()) * ticks_per_second + fraction
