"""The rollup tables equal TDengine's INTERVAL answers, window by window, through everything the
live path survives: late rows, a TDengine restart, a server restart mid-stream, a dropped topic.

Real processes: the stand-in, perspective_server.py, a Perspective client on its websocket. Rows
are written by SQL at chosen times (now, or late by minutes, hours or days), into tables of several
shapes (trades; meters, two tags and several devices per group; a normal table with NULLs; every
numeric type in a ns database). Every window inside each level's retention is compared with
TDengine's `SELECT _wstart, COUNT(*), FIRST, LAST, MIN, MAX, SUM … PARTITION BY <tags>
INTERVAL(W)` (tests/rollups/windows_sql.py): none missing, none extra, none different.

What these cannot prove: that real TDengine answers those queries as the stand-in does (ties of
FIRST/LAST between subtables of one group at one timestamp, float sums' rounding: see README
"Rollups"), nor anything at the rates of bench/rollups.py.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from tests.live.test_any_table import SCHEMAS, Schema, connect, create, write
from tests.processes import Program, free_port, taos_env, wait_for_server
from tests.rollups.windows_sql import WIDTHS, mismatches, served_windows, tdengine_windows

TABLE = "stock_values"
HOUR, DAY = 3_600_000, 86_400_000
# PERSPECTIVE_ROLLUPS's default, spelled out here rather than read from the code under test.
DEFAULT_LEVELS = (("1s", HOUR), ("1m", DAY), ("1h", None))

TRADES = Schema("stocks_values", "us", "(`timestamp` TIMESTAMP, client NCHAR(10), `open` FLOAT, high FLOAT, "
                "low FLOAT, `close` FLOAT, volume INT UNSIGNED, `date` TIMESTAMP) TAGS (ticker NCHAR(10))",
                "'c{i}', {i}.5, {i}.75, {i}.25, {i}.125, {i}, 0", "'T{s}'", "open")
MEASURES = {  # each schema's numeric columns (its rollup columns) and tags
    "stocks_values": (["open", "high", "low", "close", "volume"], ["ticker"]),
    "meters": (["current", "voltage", "phase"], ["groupid", "location"]),
    "everything": (["ti", "si", "i", "bi", "uti", "usi", "ui", "ubi", "f", "d", "dec", "select"],
                   ["order", "group"]),
    "plain": (["v"], []),
}
FLOATING = {"open", "high", "low", "close", "current", "phase", "f", "d", "dec", "v"}
TS = {"stocks_values": "timestamp"}


def now_ms() -> int:
    return int(time.time() * 1000)


def serve(standin: Any, db: str, schema: Schema, source: str, port: int, **extra: Any) -> Program:
    env = taos_env(standin.host, standin.port, database=db, TAOS_TABLENAME=schema.name,
                   TAOS_USER=standin.user, TAOS_PASSWORD=standin.password, PERSPECTIVE_PORT=port,
                   PERSPECTIVE_SOURCE=source, PERSPECTIVE_REFRESH_RATE=100, **extra)
    program = Program("perspective_server.py", env)
    wait_for_server(port)
    return program


def serving(standin: Any, db: str, schema: Schema, source: str, port: int, **extra: Any) -> Program:
    """perspective_server.py, once its rollup tables exist."""
    server = serve(standin, db, schema, source, port, **extra)
    server.wait_for("rollups: ")
    return server


def problems(standin: Any, db: str, schema: Schema, port: int,
             levels: tuple[tuple[str, int | None], ...] = DEFAULT_LEVELS) -> list[str]:
    """Every difference between the served rollup tables and TDengine's answer, at this moment."""
    columns, tags = MEASURES[schema.name]
    sums = tuple(1 + 5 * i + 4 for i, c in enumerate(columns) if c in FLOATING)
    found = []
    for window, keep in levels:
        now, width = now_ms(), WIDTHS[window]
        # The first whole window inside the retention, a few seconds on: the server and this test
        # do not cut at the same instant.
        since = None if keep is None else -(-(now - keep) // width) * width + 5_000
        expected = tdengine_windows(standin.host, standin.port, db, schema.name, window, columns, tags,
                                    schema.precision, since, ts=TS.get(schema.name, "ts"),
                                    user=standin.user, password=standin.password)
        got = served_windows(port, f"{TABLE}_{window}", columns, tags)
        found += [f"{window}: {p}" for p in mismatches(got, expected, since, sums)]
        if keep is not None:  # and nothing left that has left the retention (expired every second)
            stale = [k for k in got if k[-1] < now - keep - 2_000]
            found += [f"{window}: kept past its retention: {k}" for k in stale]
    return found


def assert_exact(standin: Any, db: str, schema: Schema, port: int, server: Program,
                 levels: tuple[tuple[str, int | None], ...] = DEFAULT_LEVELS, stop: bool = True) -> None:
    """Once the writing is done, the rollups catch up with TDengine within 30 s; then (`stop`) the
    server stops cleanly."""
    deadline = time.monotonic() + 30
    while (found := problems(standin, db, schema, port, levels)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not found, "\n".join(found[:12]) + "\n" + server.output[-3000:]
    if stop:
        assert server.stop() == 0, server.output[-3000:]


def write_now(standin: Any, db: str, schema: Schema, base: int, seconds: range, late_ms: int = 0) -> None:
    """100 rows in each of `seconds` after `base` (ms), spread over three subtables."""
    for second in seconds:
        write(standin, db, schema, second * 1000, 100, late_ms=late_ms, t0_ms=base)


@pytest.mark.parametrize("source", ["poll", "subscribe"])
def test_trades_rollups_equal_tdengine_with_late_rows(td, db_name, source: str) -> None:
    """Guards exactness as rows land, late ones included: for `subscribe`, rows 30 minutes late
    (inside the 1 s level), 3 hours late (only the 1 min and 1 h levels hold them: their 1-minute
    windows are asked of TDengine, the 1 s level cannot merge them) and 3 days late (1 h only); for
    `poll`, rows 1.5 s behind the newest, inside its 2 s lookback. Runs against a real TDengine
    too (TDENGINE_TEST_URL): the one test here that needs no restart of TDengine."""
    standin = td
    create(standin, db_name, TRADES)
    base = now_ms() - 20_000
    write_now(standin, db_name, TRADES, base, range(3))
    port = free_port()
    with serving(standin, db_name, TRADES, source, port) as server:
        write_now(standin, db_name, TRADES, base, range(3, 10))
        if source == "subscribe":
            for late in (30 * 60_000, 3 * HOUR, 3 * DAY):
                write_now(standin, db_name, TRADES, base, range(10, 11), late_ms=late)
        else:
            write_now(standin, db_name, TRADES, base, range(10, 12))
            write_now(standin, db_name, TRADES, base, range(12, 13), late_ms=1_500)
        assert_exact(standin, db_name, TRADES, port, server)
    conn = connect(standin)  # a database with a topic cannot be dropped (the fixture drops it);
    conn.execute(f"DROP TOPIC IF EXISTS FORCE {db_name}_{TRADES.name}_live")  # FORCE: its consumer may linger
    conn.close()


@pytest.mark.parametrize("source", ["poll", "subscribe"])
def test_rollups_survive_a_tdengine_restart(standin, db_name, source: str) -> None:
    """Guards the rollups through an outage: TDengine goes away mid-stream and comes back; rows
    written after it count, the windows are loaded whole again, and equal TDengine's."""
    create(standin, db_name, TRADES)
    base = now_ms() - 20_000
    port = free_port()
    with serving(standin, db_name, TRADES, source, port) as server:
        write_now(standin, db_name, TRADES, base, range(0, 4))
        standin.stop()
        time.sleep(1.5)
        standin.start()
        write_now(standin, db_name, TRADES, base, range(4, 8))
        assert_exact(standin, db_name, TRADES, port, server)


@pytest.mark.parametrize("source", ["poll", "subscribe"])
def test_rollups_survive_a_server_restart_mid_stream(standin, db_name, source: str) -> None:
    """Guards the start-up: a server restarted while rows keep coming (some written while none
    runs) loads every window whole from TDengine, then follows the new rows."""
    create(standin, db_name, TRADES)
    base = now_ms() - 20_000
    port = free_port()
    with serving(standin, db_name, TRADES, source, port) as first:
        write_now(standin, db_name, TRADES, base, range(0, 3))
        assert first.stop() == 0
    write_now(standin, db_name, TRADES, base, range(3, 5))
    with serving(standin, db_name, TRADES, source, port) as second:
        write_now(standin, db_name, TRADES, base, range(5, 8))
        assert_exact(standin, db_name, TRADES, port, second)


def test_rollups_survive_a_dropped_topic(standin, db_name) -> None:
    """Guards `subscribe`'s refill: the topic is dropped under the server (its offsets gone) and
    made again; rows written meanwhile, late ones too (which the live table cannot recover), are in
    the windows, because the rollups are loaded whole from TDengine after a refill."""
    create(standin, db_name, TRADES)
    base = now_ms() - 20_000
    port = free_port()
    with serving(standin, db_name, TRADES, "subscribe", port) as server:
        write_now(standin, db_name, TRADES, base, range(0, 3))
        conn = connect(standin)
        conn.execute(f"DROP TOPIC IF EXISTS FORCE {db_name}_{TRADES.name}_live")
        conn.close()
        write_now(standin, db_name, TRADES, base, range(3, 5))
        write_now(standin, db_name, TRADES, base, range(5, 6), late_ms=10 * 60_000)
        server.wait_for("no committed offset", timeout=30)
        write_now(standin, db_name, TRADES, base, range(6, 8))
        assert_exact(standin, db_name, TRADES, port, server)


ANY = [SCHEMAS[0], SCHEMAS[1], dataclasses.replace(SCHEMAS[2], columns="{i}.5, 'n{i}'")]


@pytest.mark.parametrize("schema", ANY, ids=lambda s: s.name)
def test_rollups_of_any_table(standin, db_name, schema: Schema) -> None:
    """Guards the rollups for tables no producer knows: meters (two tags, three devices sharing a
    group, ms), every numeric type TDengine has in a ns database (keyword names, BIGINT past 2**53,
    unsigned, DECIMAL), and a normal table (no tags: one group) with NULLs, which FIRST, LAST, MIN,
    MAX and SUM skip."""
    create(standin, db_name, schema)
    base = now_ms() - 20_000
    port = free_port()
    with serving(standin, db_name, schema, "subscribe", port) as server:
        write_now(standin, db_name, schema, base, range(0, 3))
        if schema.name == "plain":
            write_now(standin, db_name, dataclasses.replace(schema, columns="NULL, 'gap'"), base, range(3, 4))
        else:
            write_now(standin, db_name, schema, base, range(3, 4), late_ms=2 * HOUR)
        assert_exact(standin, db_name, schema, port, server)


def test_windows_leave_the_table_with_their_retention(standin, db_name) -> None:
    """Guards the retention: with `1s:5s,1m`, a second's window leaves the 1 s table about five
    seconds after it began, while its minute stays in the 1 min table."""
    create(standin, db_name, TRADES)
    port = free_port()
    levels = (("1s", 5_000), ("1m", None))
    with serving(standin, db_name, TRADES, "poll", port, PERSPECTIVE_ROLLUPS="1s:5s,1m") as server:
        write_now(standin, db_name, TRADES, now_ms() - 2_000, range(0, 2))
        assert_exact(standin, db_name, TRADES, port, server, levels, stop=False)
        assert served_windows(port, f"{TABLE}_1s", *MEASURES[TRADES.name])
        time.sleep(6)
        assert served_windows(port, f"{TABLE}_1s", *MEASURES[TRADES.name]) == {}
        assert_exact(standin, db_name, TRADES, port, server, levels)


def test_a_bad_rollups_value_stops_the_server_naming_it() -> None:
    """Guards PERSPECTIVE_ROLLUPS like every setting: exit 2 and the reason, before anything starts."""
    with Program("perspective_server.py", {"PERSPECTIVE_ROLLUPS": "1s:1h,1m:30s"}) as program:
        assert program.wait(timeout=30) == 2
        assert "bad PERSPECTIVE_ROLLUPS (from the environment): '1m:30s': windows of 1m cannot be kept" \
            in program.output
