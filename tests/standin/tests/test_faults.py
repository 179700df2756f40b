"""The stand-in's fault hooks (restart, dropped connections, slow answers) and its command line."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest
import taosws

from tests.standin.fixture import REPO_ROOT

TS0 = 1_700_000_000_000


def _connect(standin, **kw):
    return taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata", **kw)


def _seed(standin) -> None:
    conn = _connect(standin)
    conn.execute("CREATE DATABASE f")
    conn.execute("CREATE TABLE f.t (ts TIMESTAMP, v INT)")
    conn.execute(f"INSERT INTO f.t VALUES ({TS0}, 1) ({TS0 + 1}, 2)")
    conn.close()


def test_restart_keeps_data_and_port(standin):
    """stop/start keeps the rows and the port; a client connecting after the restart reads old rows."""
    _seed(standin)
    port = standin.port
    standin.stop()
    assert "stopped" in standin.status()
    with pytest.raises(ConnectionRefusedError):  # a raw socket: taosws would retry for ~7 s
        socket.create_connection((standin.host, port), timeout=5).close()
    standin.start()
    assert standin.port == port and f"port={port}" in standin.status()
    conn = _connect(standin, database="f")
    assert [r[1] for r in conn.query("SELECT * FROM t")] == [1, 2]


def test_stop_breaks_open_connections(standin):
    """stop() also closes connected clients: a query on an old connection raises a taosws error."""
    _seed(standin)
    conn = _connect(standin, database="f")
    standin.stop()
    with pytest.raises(taosws.Error):
        list(conn.query("SELECT * FROM t"))


def test_drop_closes_connections_but_keeps_listening(standin):
    """drop kills open connections: a query on the old one fails, new connections work, and the
    client's own auto-reconnect brings the old connection back."""
    _seed(standin)
    old = _connect(standin, database="f")
    assert "connections=1" in standin.status()
    # taosws reconnects within milliseconds; slowing the server's answers keeps the reconnect
    # from completing before the query, so the failure is deterministic.
    standin.set_delay(1000)
    standin.drop_connections()
    time.sleep(0.1)
    with pytest.raises(taosws.Error, match=r"\[0xE002\].*closed"):
        list(old.query("SELECT * FROM t"))
    standin.set_delay(0)
    new = _connect(standin, database="f")
    assert [r[1] for r in new.query("SELECT * FROM t")] == [1, 2]
    assert [r[1] for r in _retry(lambda: list(old.query("SELECT * FROM t")))] == [1, 2]


def _retry(call, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except taosws.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_delay_slows_every_answer(standin):
    """delay <ms> makes each request take at least that long; delay 0 restores speed."""
    _seed(standin)
    conn = _connect(standin, database="f")
    standin.set_delay(300)
    started = time.monotonic()
    conn.execute(f"INSERT INTO t VALUES ({TS0 + 2}, 3)")
    assert time.monotonic() - started >= 0.3
    standin.set_delay(0)
    assert "delay_ms=0" in standin.status()


def _cli(*args: str, stdin=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.standin", *args], cwd=REPO_ROOT, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_ready_line_survives_stdin_eof_and_exits_cleanly(sig):
    """The CLI prints 'ready' with the port, keeps serving after stdin EOF, and exits 0 on a signal."""
    proc = _cli("--port", "0")
    try:
        line = proc.stdout.readline()
        assert "ready" in line and "host=127.0.0.1" in line
        port = int(line.split("port=")[1].split()[0])
        assert port > 0
        time.sleep(0.3)  # stdin is at EOF from the start: the server must still be up
        assert proc.poll() is None
        conn = taosws.connect(host="127.0.0.1", port=port, user="root", password="taosdata")
        assert conn.execute("CREATE DATABASE cli") == 0
        conn.close()
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_custom_credentials():
    """--user/--password set the only accepted login; the default one is refused."""
    proc = _cli("--port", "0", "--user", "alice", "--password", "s3cret")
    try:
        port = int(proc.stdout.readline().split("port=")[1].split()[0])
        with pytest.raises(taosws.ConnectionError, match=r"\[0x0357\]"):
            taosws.connect(host="127.0.0.1", port=port, user="root", password="taosdata")
        taosws.connect(host="127.0.0.1", port=port, user="alice", password="s3cret").close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize(("args", "named"), [
    (["--port", "abc"], "--port"),
    (["--port", "70000"], "--port"),
    (["--bogus"], "--bogus"),
])
def test_cli_rejects_bad_arguments(args, named):
    """Bad command-line arguments exit non-zero with a message naming the argument."""
    proc = _cli(*args)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert named in err


def test_cli_unknown_stdin_command_is_an_error(standin):
    """An unknown stdin command answers 'error ...' and the server keeps serving."""
    with pytest.raises(RuntimeError, match="error unknown command"):
        standin.command("explode")
    assert "running" in standin.status()
