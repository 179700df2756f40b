"""producer.py and perspective_server.py as programs: misconfiguration, signals, outages.

Each test starts the real scripts as subprocesses, as a user would, and sends them real signals.
What these cannot prove: behaviour against a real TDengine restart (the stand-in's stop/start
closes sockets the way a crashed server does, but a real server's recovery takes longer).
"""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
import taosws

from tests.perspective_client import remote_client
from tests.processes import Program, free_port, server_config, taos_env, wait_for_server
from tests.standin.fixture import StandInProcess

SECRET = "Zq9-not-taosdata"


@pytest.mark.parametrize("script", ["producer.py", "perspective_server.py"])
@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"TAOS_PORT": "sixty"}, [], "bad TAOS_PORT (from the environment): 'sixty' is not a whole number"),
        ({}, ["--taos-port", "0"], "bad TAOS_PORT (from --taos-port): 0 is not a TCP port"),
        ({"TAOS_TABLENAME": "stocks-values"}, [], "bad TAOS_TABLENAME (from the environment)"),
        ({"TAOS_DATABASE": ""}, [], "bad TAOS_DATABASE"),
    ],
)
def test_bad_setting_exits_2_with_its_name(script, env, args, message) -> None:
    """Guards against starting with a bad setting, or failing later with an unrelated error."""
    with Program(script, env, args) as program:
        assert program.wait(timeout=30) == 2
        assert message in program.output


def test_server_rejects_a_negative_refresh_rate() -> None:
    """Guards the server-only settings the same way (the original demo's constants, now configurable)."""
    with Program("perspective_server.py", {"PERSPECTIVE_REFRESH_RATE": "-250"}) as program:
        assert program.wait(timeout=30) == 2
        assert "bad PERSPECTIVE_REFRESH_RATE (from the environment): -250 must be" in program.output


def test_wrong_password_stops_the_producer_and_is_never_printed() -> None:
    """Guards the error path of authentication: a clear message, exit 1, and no password in the log."""
    with StandInProcess(password=SECRET) as standin, Program(
            "producer.py", taos_env(standin.host, standin.port) | {"TAOS_PASSWORD": "wrong-guess"}) as prod:
        assert prod.wait(timeout=60) == 1
        assert "Authentication failure" in prod.output
        assert "wrong-guess" not in prod.output


def test_ctrl_c_finishes_the_current_batch(standin, db_name) -> None:
    """Guards a clean stop: after Ctrl-C the producer exits 0 and every row it reports was written,
    no more and no fewer (no half-written batch is lost or left unreported)."""
    env = taos_env(standin.host, standin.port, database=db_name) | {"PRODUCER_RATE": "2000"}
    with Program("producer.py", env) as prod:
        prod.wait_for("writing 2000 rows/s")
        time.sleep(1.2)
        assert prod.stop(signal.SIGINT) == 0, prod.output
        written = int(prod.wait_for(r"done: (\d+) rows written").group(1))
    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    counted = next(iter(conn.query(f"SELECT COUNT(*) FROM {db_name}.stocks_values")))[0]
    assert written > 0 and counted == written


def test_server_waits_for_tdengine_and_serves_meanwhile(db_name) -> None:
    """Guards start-up order: the server starts before TDengine, keeps answering HTTP and says what it
    waits for, then delivers rows once TDengine is there. The password never shows in its log."""
    port, taos_port = free_port(), free_port()
    env = taos_env("127.0.0.1", taos_port, database=db_name) | {"PERSPECTIVE_PORT": str(port),
                                                                  "TAOS_PASSWORD": SECRET}
    with Program("perspective_server.py", env) as server:
        wait_for_server(port)
        server.wait_for("waiting for TDengine")
        assert server_config(port)["feed"]["state"] == "waiting for TDengine"
        with StandInProcess(port=taos_port, password=SECRET):
            with Program("producer.py", env | {"PRODUCER_COUNT": "500"}) as prod:
                assert prod.wait() == 0, prod.output
            deadline = time.monotonic() + 20
            while server_config(port)["feed"]["delivered"] < 500 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert server_config(port)["feed"]["delivered"] == 500
        assert server.stop() == 0
    assert SECRET not in server.output


def test_both_programs_survive_a_tdengine_restart(standin, db_name) -> None:
    """Guards the outage path: TDengine stops for two seconds mid-stream. The producer rewrites the
    batch that failed, the server reconnects and resumes from its watermark, and in the end every
    row written was delivered exactly once."""
    port = free_port()
    env = taos_env(standin.host, standin.port, database=db_name)
    server_env = env | {"PERSPECTIVE_PORT": str(port), "PERSPECTIVE_TABLE_LIMIT": "100000"}
    with Program("perspective_server.py", server_env) as server:
        wait_for_server(port)
        with Program("producer.py", env | {"PRODUCER_RATE": "2000", "PRODUCER_DURATION": "6"}) as prod:
            prod.wait_for("writing")
            time.sleep(1.5)
            standin.stop()
            time.sleep(2)
            standin.start()
            assert prod.wait(timeout=90) == 0, prod.output
            written = int(prod.wait_for(r"done: (\d+) rows written").group(1))
        rows = asyncio.run(_rows_when_delivered(port, written))
        assert server.stop() == 0
    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    stored = [ts // 1000 for (ts,) in conn.query(
        f"SELECT CAST(`timestamp` AS BIGINT) FROM {db_name}.stocks_values ORDER BY `timestamp`")]
    assert len(stored) == written
    assert sorted(row["timestamp"] for row in rows) == stored
    assert "waiting for TDengine" in server.output, "the outage was not noticed: test proves nothing"


async def _rows_when_delivered(port: int, expected: int) -> list[dict]:
    deadline = time.monotonic() + 30
    while server_config(port)["feed"]["delivered"] < expected and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.6)  # anything delivered twice would arrive now
    async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
        view = await (await client.open_table("stock_values")).view()
        rows = await view.to_json()
        await view.delete()
    return rows


def test_port_in_use_is_a_clear_error() -> None:
    """Guards the start-up error a user meets most: another program on PERSPECTIVE_PORT."""
    port = free_port()
    with Program("perspective_server.py", {"PERSPECTIVE_PORT": str(port)}) as first:
        wait_for_server(port)
        with Program("perspective_server.py", {"PERSPECTIVE_PORT": str(port)}) as second:
            assert second.wait(timeout=30) == 1
            assert f"cannot listen on 127.0.0.1:{port}" in second.output
        first.stop()


def test_producer_refuses_a_millisecond_database(standin, db_name) -> None:
    """Guards against writing microsecond timestamps into a millisecond database, where they would
    be read as dates thousands of years ahead: the producer names the problem and writes nothing."""
    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    conn.execute(f"CREATE DATABASE {db_name} PRECISION 'ms'")
    with Program("producer.py", taos_env(standin.host, standin.port, database=db_name)) as prod:
        assert prod.wait(timeout=60) == 1
    assert f"database '{db_name}' has precision 'ms'" in prod.output
    assert next(iter(conn.query(f"SHOW {db_name}.STABLES")), None) is None


def test_a_signal_stops_the_server_in_one_line(standin, db_name) -> None:
    """Guards the clean stop: on SIGTERM, with rows delivered and both child processes running, the
    server exits 0 and its last word is the one line saying it stopped. Before, it ended its reader
    itself and then logged that as `ERROR the reader process ended unexpectedly`. It cannot prove
    the same for every moment a signal may come."""
    env = taos_env(standin.host, standin.port, database=db_name)
    with Program("producer.py", env | {"PRODUCER_COUNT": "300"}) as prod:
        assert prod.wait() == 0, prod.output
    port = free_port()
    with Program("perspective_server.py", env | {"PERSPECTIVE_PORT": str(port)}) as server:
        wait_for_server(port)
        deadline = time.monotonic() + 20
        while server_config(port)["feed"]["delivered"] < 300 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.stop(signal.SIGTERM) == 0, server.output
    assert " ERROR " not in server.output, server.output
    assert server.output.rstrip().splitlines()[-1].endswith("stopped after delivering 300 rows")
