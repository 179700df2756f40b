"""Several taosAdapter endpoints through the real taosws: what it does when one of them is down.

taosws shuffles the DSN's addresses and tries each in turn, at connect and when a connection it
holds drops (it then reconnects by itself; the query in flight fails once). Stand-ins play the
taosAdapters; a bare TCP listener that closes every connection plays a dead one and counts the
attempts, so that these tests see taosws go past it rather than merely never trying it.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import taosws

from tdpersp.core import tdconn
from tdpersp.core.tdconn import LazyConnection, TaosConfig, is_connection_error
from tests.standin.fixture import StandInProcess

ATTEMPTS = 12  # taosws shuffles: the dead endpoint comes first in about half the connects


# A separate process: taosws holds the GIL while it connects, so a listener thread in the test's
# own process could not close what it accepted, and taosws would wait on it for ever.
_DEAD = """
import socket, sys
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
while True:
    conn, _ = server.accept()
    conn.close()
    print("attempt", flush=True)
"""


class DeadEndpoint:
    """Accepts TCP connections and closes them at once: no WebSocket ever answers here."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen([sys.executable, "-c", _DEAD], stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        self.port = int(self._proc.stdout.readline())
        self._attempts = 0
        threading.Thread(target=self._count, daemon=True, name="dead-endpoint").start()

    def _count(self) -> None:
        assert self._proc.stdout is not None
        for _ in self._proc.stdout:
            self._attempts += 1

    @property
    def attempts(self) -> int:
        return self._attempts

    def close(self) -> None:
        self._proc.kill()
        self._proc.wait()


@pytest.fixture
def dead() -> Iterator[DeadEndpoint]:
    endpoint = DeadEndpoint()
    yield endpoint
    endpoint.close()


def config(host: str, database: str = "") -> TaosConfig:
    return TaosConfig(host, 6041, "root", "taosdata", database, "t")


def test_connect_goes_past_a_dead_endpoint(dead, standin) -> None:
    """Guards TAOS_HOST's promise for a cluster: with one taosAdapter down, every connect still
    reaches a live one (and taosws did try the dead one: it is not skipped by luck)."""
    cfg = config(f"127.0.0.1:{dead.port},{standin.host}:{standin.port}")
    for _ in range(ATTEMPTS):
        conn = tdconn.connect(cfg, use_database=False)
        assert list(conn.query("SELECT SERVER_VERSION()"))
        conn.close()
    assert dead.attempts > 0


def test_all_endpoints_dead_is_a_connection_error(dead) -> None:
    """Guards the outage case: no endpoint answers -> a connection error (the programs wait and retry)."""
    with pytest.raises(taosws.Error) as failed:
        tdconn.connect(config(f"127.0.0.1:{dead.port},127.0.0.1:1"), use_database=False)
    assert is_connection_error(failed.value)


def test_a_dropped_connection_moves_to_the_other_endpoint() -> None:
    """Guards what the server's readers rely on when the taosAdapter they use goes away: the query
    in flight fails as a connection error, and the next one is answered by the other endpoint."""
    with StandInProcess() as a, StandInProcess() as b:
        for name, target in (("a", a), ("b", b)):  # a database says which one answers
            LazyConnection(config(f"{target.host}:{target.port}")).query(f"CREATE DATABASE which_{name}")
        reader = LazyConnection(config(f"{a.host}:{a.port},{b.host}:{b.port}"))
        first = which(reader)
        (a if first == "a" else b).stop()
        with pytest.raises(taosws.Error) as dropped:
            which(reader)
        assert is_connection_error(dropped.value)
        assert which(reader) == ("b" if first == "a" else "a")


def which(reader: LazyConnection) -> str:
    names = [str(row[0]) for row in reader.query("SHOW DATABASES")]
    return next(name.removeprefix("which_") for name in names if name.startswith("which_"))


def test_consumer_goes_past_a_dead_endpoint(dead, standin) -> None:
    """Guards `subscribe` on a cluster: the TMQ consumer gets the topic's rows with one endpoint down."""
    setup = LazyConnection(config(f"{standin.host}:{standin.port}"))
    for sql in ("CREATE DATABASE d PRECISION 'us'", "CREATE STABLE d.t (ts TIMESTAMP, v INT) TAGS (k INT)",
                "CREATE TOPIC tp AS SELECT * FROM d.t",
                "INSERT INTO d.t1 USING d.t TAGS (1) VALUES (NOW, 1)"):
        setup.query(sql)
    cfg = config(f"127.0.0.1:{dead.port},{standin.host}:{standin.port}")
    for attempt in range(ATTEMPTS // 2):
        consumer = tdconn.consumer(cfg, {"group.id": f"g{attempt}", "auto.offset.reset": "earliest"})
        try:
            consumer.subscribe(["tp"])
            assert consumer.poll(10.0) is not None
        finally:
            consumer.close()
    assert dead.attempts > 0
