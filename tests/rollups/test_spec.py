"""PERSPECTIVE_ROLLUPS as a user writes it: the levels it means, and the errors that name what is wrong."""

from __future__ import annotations

import re

import pytest

from tdpersp.rollups.spec import DEFAULT, Level, parse


def test_the_default_is_three_levels_finest_first() -> None:
    """Guards the documented default: 1-second windows for an hour, 1-minute for a day, 1-hour for ever."""
    assert parse(DEFAULT) == (Level("1s", 1_000, 3_600_000), Level("1m", 60_000, 86_400_000),
                              Level("1h", 3_600_000, None))


def test_levels_are_sorted_and_an_empty_value_means_none() -> None:
    assert [level.name for level in parse(" 1h , 15m:2d, 1s:10m ")] == ["1s", "15m", "1h"]
    assert parse("") == ()


@pytest.mark.parametrize(("text", "said"), [
    ("1x", "'1x' is not a duration"),
    ("1s:1h,0s", "'0s' is not a duration"),
    ("1.5s", "'1.5s' is not a duration"),
    ("1m:30s", "'1m:30s': windows of 1m cannot be kept for less (30s)"),
    ("1m,60s", "'60s': windows of 60s are listed twice"),
])
def test_a_bad_value_says_which_item_is_wrong(text: str, said: str) -> None:
    """Guards the message a user acts on (the server prints it, naming the setting, and exits 2)."""
    with pytest.raises(ValueError, match=re.escape(said)):
        parse(text)


def test_a_retention_left_empty_means_for_ever() -> None:
    assert parse("1s:") == (Level("1s", 1_000, None),)


def test_cutoff_is_the_first_whole_window_inside_the_retention() -> None:
    """A window is kept while it starts inside the retention: at 10:00:30.5 with 1 s windows kept a
    minute, the oldest kept starts at 09:59:31, not 09:59:30 (which began before the last minute)."""
    level = Level("1s", 1_000, 60_000)
    now = 36_030_500  # 10:00:30.5 on 1 January 1970
    assert level.cutoff(now) == 35_971_000
    assert Level("1h", 3_600_000, None).cutoff(now) is None
    assert level.start(now) == 36_030_000
