"""The programs set up as for a TDengine cluster: TAOS_HOST naming several taosAdapters, two of them
down, and TAOS_REPLICA. The stand-in plays the live taosAdapter; ports 1 and 2 on this machine
refuse (nothing listens there) and play two that are down."""

from __future__ import annotations

import time

import taosws

from tests.processes import Program, free_port, server_config, taos_env, wait_for_table

DOWN = ("127.0.0.1:1", "127.0.0.1:2")


def cluster_env(standin, database: str) -> dict[str, str]:
    return taos_env(f"{DOWN[0]},{standin.host}:{standin.port},{DOWN[1]}", 6041, database=database)


def test_producer_writes_through_the_endpoint_that_answers(standin, db_name) -> None:
    """Guards the cluster set-up of the producer: with two of three endpoints down it writes every row,
    issues REPLICA 3, and says so when the database it found has another replica count (the
    stand-in keeps one copy and reports 1, as an existing single-replica database would)."""
    env = cluster_env(standin, db_name) | {"TAOS_REPLICA": "3", "PRODUCER_COUNT": "300"}
    with Program("producer.py", env) as prod:
        assert prod.wait() == 0, prod.output
    assert "has 1 replica(s), not the 3 TAOS_REPLICA asks" in prod.output
    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    assert list(conn.query(f"SELECT COUNT(*) FROM {db_name}.stocks_values")) == [(300,)]


def test_server_goes_live_through_the_endpoint_that_answers(standin, db_name) -> None:
    """Guards the cluster set-up of the server: with endpoints down in its TAOS_HOST, it reads the
    table and delivers rows."""
    env = cluster_env(standin, db_name)
    with Program("producer.py", env | {"PRODUCER_COUNT": "200"}) as prod:
        assert prod.wait() == 0, prod.output
    port = free_port()
    with Program("perspective_server.py", env | {"PERSPECTIVE_PORT": str(port)}) as server:
        wait_for_table(port, timeout=60)
        deadline = time.monotonic() + 60
        while server_config(port)["feed"]["delivered"] < 200:
            assert time.monotonic() < deadline, server.output
            time.sleep(0.2)
        server.stop()
