"""PERSPECTIVE_SOURCE=subscribe, end to end: stand-in, producer.py, perspective_server.py, a remote client.

Each test checks the Perspective table, read over the websocket, against TDengine's rows, as
multisets (see subscribe_support). What these tests cannot prove: that real TDengine's TMQ behaves
like the stand-in's (tests/standin/README.md lists the differences).
"""

from __future__ import annotations

import time

from tests.live.subscribe_support import (
    assert_every_row_once,
    connect,
    difference,
    producer,
    server,
    table_keys,
    tdengine_keys,
    wait_until_delivered,
    write_rows,
)
from tests.processes import free_port

HOUR_US = 3_600 * 1_000_000


def test_rows_at_any_lateness_arrive_exactly_once(standin, db_name) -> None:
    """Guards the subscription's point: the poll source never sees a row that shows up more than
    PERSPECTIVE_LOOKBACK behind the newest. Rows written after start, stamped an hour late, three days
    late, and a backfill of last year, all reach the table once, next to the producer's live rows."""
    with producer(standin, db_name, PRODUCER_COUNT=200) as first:  # the table exists, with old rows
        assert first.wait() == 0, first.output
    port = free_port()
    with server(standin, db_name, port, limit=100_000) as srv:
        srv.wait_for("reading rows")
        with producer(standin, db_name, PRODUCER_RATE=2000, PRODUCER_COUNT=4000) as live:
            now = int(time.time() * 1_000_000)
            write_rows(standin, db_name, "HOUR", [now - HOUR_US + i for i in range(100)])
            write_rows(standin, db_name, "DAYS", [now - 72 * HOUR_US + i for i in range(100)])
            write_rows(standin, db_name, "BACK", [now - 365 * 24 * HOUR_US + i * 1000 for i in range(1000)])
            assert live.wait() == 0, live.output
        expected = tdengine_keys(standin, db_name)
        delivered = wait_until_delivered(port, sum(expected.values()))
        got = table_keys(port)
        assert srv.stop() == 0, srv.output
    assert delivered == sum(expected.values()) == 200 + 4000 + 1200
    assert not difference(got, expected), difference(got, expected)


def test_startup_fills_the_newest_rows_with_no_gap_or_duplicate(standin, db_name) -> None:
    """Guards the handoff between the first load (a query) and the subscription. The server starts
    while the producer writes; in a table of 5,000 rows, the 3,000 old rows and those written around
    the start must end up as TDengine's newest 5,000: a row lost or doubled at the handoff shows."""
    with producer(standin, db_name, PRODUCER_COUNT=3000, PRODUCER_RATE=20_000) as first:
        assert first.wait() == 0, first.output
    port = free_port()
    with producer(standin, db_name, PRODUCER_RATE=2000, PRODUCER_COUNT=5000) as live:
        time.sleep(1.0)  # rows are being written while the server starts
        with server(standin, db_name, port, limit=5000) as srv:
            assert live.wait() == 0, live.output
            wait_until_delivered(port, 10**9, timeout=3.0)  # settle
            got = table_keys(port)
            assert srv.stop() == 0, srv.output
    expected = tdengine_keys(standin, db_name, newest=5000)
    assert not difference(got, expected), difference(got, expected)


def test_server_restart_refills_and_resumes(standin, db_name) -> None:
    """Guards a server restart while the producer writes: the second server (same consumer group)
    refills the table and resumes, so the table holds TDengine's newest rows, none missing or doubled."""
    port = free_port()
    with producer(standin, db_name, PRODUCER_RATE=2000, PRODUCER_COUNT=12_000) as live:
        with server(standin, db_name, port, limit=4000) as first:
            first.wait_for("reading rows")
            time.sleep(1.5)
            assert first.stop() == 0, first.output
        time.sleep(1.0)  # rows written while no server runs
        with server(standin, db_name, port, limit=4000) as second:
            assert live.wait() == 0, live.output
            wait_until_delivered(port, 10**9, timeout=3.0)
            got = table_keys(port)
            assert second.stop() == 0, second.output
    expected = tdengine_keys(standin, db_name, newest=4000)
    assert not difference(got, expected), difference(got, expected)


def test_tdengine_restart_and_dropped_connections_lose_and_double_nothing(standin, db_name) -> None:
    """Guards the recovery from outages: connections dropped mid-stream, then TDengine stopped for
    1.5 s and started again, while the producer writes. Every row reaches the table once, and the
    server logs each outage and each recovery."""
    port = free_port()
    with server(standin, db_name, port, limit=100_000) as srv:
        with producer(standin, db_name, PRODUCER_RATE=2000, PRODUCER_COUNT=14_000) as live:
            srv.wait_for("reading rows")
            time.sleep(1.0)
            standin.drop_connections()
            time.sleep(1.5)
            standin.stop()
            time.sleep(1.5)
            standin.start()
            assert live.wait(timeout=90) == 0, live.output
        assert_every_row_once(standin, db_name, port, srv, total=14_000)
    outages = srv.output.count("WARNING waiting for TDengine")
    recoveries = srv.output.count("reading rows (waiting for TDengine before)")
    assert outages >= 1 and outages == recoveries, srv.output


def test_topic_dropped_under_it_is_recreated(standin, db_name) -> None:
    """Guards the recovery when the topic goes away under the consumer (DROP TOPIC ... FORCE, which
    also removes its committed offsets; the consumer's polls then just find nothing): a log line
    says so, the topic is created again and rows flow on; rows in time order written meanwhile are
    read back by query, once."""
    port = free_port()
    with server(standin, db_name, port, limit=100_000) as srv:
        with producer(standin, db_name, PRODUCER_RATE=2000, PRODUCER_COUNT=10_000) as live:
            srv.wait_for("reading rows")
            time.sleep(1.0)
            connect(standin).execute(f"DROP TOPIC IF EXISTS FORCE {db_name}_stocks_values_live")
            assert live.wait(timeout=90) == 0, live.output
        assert_every_row_once(standin, db_name, port, srv)
    assert "no committed offset" in srv.output, srv.output



def test_committed_offset_gone_is_logged_and_recovered(standin, db_name) -> None:
    """Guards the recovery when the group's committed offset is no longer in TDengine's log (the
    WAL trimmed while TDengine was down, as WAL_RETENTION_PERIOD expiry would). Every stand-in
    answer is delayed 300 ms first, so the server's commits trail the writes when it stops. A log
    line says the offset is gone, rows newer than the newest delivered are read back by query,
    and every row (the producer writes in time order) reaches the table once. It cannot show what
    real TDengine answers for such an offset; the stand-in's answer is a documented guess."""
    port = free_port()
    with server(standin, db_name, port, limit=100_000) as srv:
        with producer(standin, db_name, PRODUCER_RATE=2000, PRODUCER_COUNT=10_000) as live:
            srv.wait_for("reading rows")
            standin.set_delay(300)
            time.sleep(2.0)
            standin.stop()
            standin.trim_wal()
            standin.set_delay(0)
            time.sleep(1.0)
            standin.start()
            assert live.wait(timeout=90) == 0, live.output
        assert_every_row_once(standin, db_name, port, srv, total=10_000)
    assert "no committed offset" in srv.output, srv.output
