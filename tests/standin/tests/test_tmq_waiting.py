"""A consumer waiting in a long poll holds up nobody else (through the real ``taosws`` client).

The stand-in serves every connection on one event loop: a poll that waited by blocking that loop
would stall every other connection for its whole blocking time. Each test also runs against real
TDengine when TDENGINE_TEST_URL is set.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import TDTarget
from tests.standin.tests.test_tmq import consumer, consumer_conf, drop_topic, read

WAIT_SECONDS = 30  # the waiting consumer's poll timeout: far above every bound below

# A consumer in its own process (taosws holds the GIL while it waits): it says when it starts its
# long poll, then prints the `v` values of the message that ends it, or "none".
WAITER = """
import sys, taosws
c = taosws.Consumer(eval(sys.argv[1]))
c.subscribe([sys.argv[2]])
print("polling", flush=True)
message = c.poll(float(sys.argv[3]))
print(sorted(row[1] for block in message for row in block.fetchall()) if message else "none", flush=True)
c.unsubscribe()
c.close()
"""


@pytest.fixture
def quotes(td: TDTarget, db_name: str) -> Iterator[tuple[Any, str]]:
    """Supertable ``st`` with one row in table ``a``, and a topic over it; yields (connection, topic)."""
    conn = td.connect()
    conn.execute(f"CREATE DATABASE {db_name} PRECISION 'us'")
    conn.execute(f"CREATE STABLE {db_name}.st (ts TIMESTAMP, v INT) TAGS (tk NCHAR(8))")
    conn.execute(f"INSERT INTO {db_name}.a USING {db_name}.st TAGS ('A') VALUES (1000, 1)")
    topic = f"tw_{db_name}"
    conn.execute(f"CREATE TOPIC {topic} AS SELECT ts, v FROM {db_name}.st")
    yield conn, topic
    drop_topic(conn, topic)
    conn.close()


def start_waiter(td: TDTarget, topic: str, group: str) -> subprocess.Popen[str]:
    """A consumer process of ``group`` (reset latest) that has sent its long poll."""
    conf = consumer_conf(td, group, reset="latest")
    proc = subprocess.Popen([sys.executable, "-c", WAITER, repr(conf), topic, str(WAIT_SECONDS)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "polling"
    time.sleep(1.0)  # let its poll request reach the server
    return proc


def test_a_waiting_poll_holds_no_other_connection(td: TDTarget, quotes: tuple[Any, str],
                                                  db_name: str) -> None:
    """Guards against a poll that waits by blocking the stand-in: while one consumer sits in a
    30 s poll, a query, an insert and another group's consumer on other connections are answered
    at once (bounds of 8 s, generous for a loaded machine), and the waiter still gets the row
    written meanwhile. It cannot prove the waiter's request had reached the server before the
    others ran (it is given 1 s); the waiter's answer shows that it was still waiting."""
    conn, topic = quotes
    waiter = start_waiter(td, topic, "g_waiter")
    try:
        started = time.monotonic()
        assert [row[1] for row in conn.query(f"SELECT ts, v FROM {db_name}.st")] == [1]
        with consumer(td, topic, "g_other") as other:
            assert [row[1] for row in read(other, 1)] == [1]
        conn.execute(f"INSERT INTO {db_name}.a VALUES (2000, 2)")
        assert time.monotonic() - started < 8.0
        out, _ = waiter.communicate(timeout=WAIT_SECONDS + 15)
    finally:
        waiter.kill()
    assert out.strip() == "[2]", "the waiting consumer should be woken by the insert with its row"
    assert waiter.returncode == 0


def test_one_write_wakes_every_waiting_consumer(td: TDTarget, quotes: tuple[Any, str], db_name: str) -> None:
    """Guards the wake-up list of the long poll: with two consumers (two groups) waiting at the
    same time, one insert ends both polls with the new row, well before their 30 s timeout."""
    conn, topic = quotes
    waiters = [start_waiter(td, topic, "g_waiter_one")]
    try:
        waiters.append(start_waiter(td, topic, "g_waiter_two"))
        started = time.monotonic()
        conn.execute(f"INSERT INTO {db_name}.a VALUES (3000, 3)")
        outputs = [w.communicate(timeout=WAIT_SECONDS + 15)[0].strip() for w in waiters]
        waited = time.monotonic() - started
    finally:
        for w in waiters:
            w.kill()
    assert outputs == ["[3]", "[3]"]
    assert waited < 15.0, f"the polls ended {waited:.1f} s after the insert, as if at their timeout"
