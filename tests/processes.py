"""Running the demo's programs as a user would: `python producer.py`, `python perspective_server.py`.

Tests start them as real subprocesses from the repository root, configure them through the
environment (as the README does), read their log lines and stop them with real signals.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def taos_env(host: str, port: int, database: str = "stocks", **extra: Any) -> dict[str, str]:
    """Environment variables pointing a demo program at a TDengine (or the stand-in)."""
    env = {"TAOS_HOST": host, "TAOS_PORT": str(port), "TAOS_DATABASE": database}
    env.update({key: str(value) for key, value in extra.items()})
    return env


class Program:
    """One demo program in a subprocess, its output collected line by line."""

    def __init__(self, script: str, env: dict[str, str] | None = None, args: list[str] | None = None) -> None:
        self.script = script
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            [sys.executable, script, *(args or [])],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, daemon=True, name=f"{script}-output").start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            self._new.put(line)
        self._new.put(None)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """The first output line (seen so far or to come) matching ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            for line in self.lines[checked:]:
                if match := regex.search(line):
                    return match
            checked = len(self.lines)
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self._new.empty()):
                raise AssertionError(f"{self.script}: no line matching {pattern!r}; output:\n{self.output}")
            with contextlib.suppress(queue.Empty):
                self._new.get(timeout=min(left, 0.2))

    def wait(self, timeout: float = 60.0) -> int:
        return self.proc.wait(timeout=timeout)

    def stop(self, sig: signal.Signals = signal.SIGINT, timeout: float = 20.0) -> int:
        """Send ``sig`` (Ctrl-C by default) and wait for the exit code; kill if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"{self.script} ignored {sig.name}; output:\n{self.output}") from None
        return self.proc.returncode

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def server_config(port: int, timeout: float = 2.0) -> dict[str, Any]:
    """perspective_server.py's /config.json (table name and the feed's state)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/config.json", timeout=timeout) as reply:
        return json.loads(reply.read())


def wait_for_server(port: int, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return server_config(port)
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def wait_for_table(port: int, timeout: float = 20.0) -> dict[str, Any]:
    """perspective_server.py hosts its live table once the reader has described the TDengine table:
    wait for that (its schema in /config.json) before opening it."""
    deadline = time.monotonic() + timeout
    while (config := wait_for_server(port))["schema"] is None:
        if time.monotonic() > deadline:
            raise AssertionError(f"no live table after {timeout} s: {config['feed']}")
        time.sleep(0.1)
    return config


def create_trades_table(host: str, port: int, database: str) -> None:
    """The trades supertable without rows, as producer.py would create it: the server then makes
    its live table, which stays empty."""
    from tdpersp.core.tdconn import TaosConfig, connect
    from tdpersp.core.trades import TRADES
    from tdpersp.core.writer import ensure_schema

    cfg = TaosConfig(host, port, "root", "taosdata", database, "stocks_values")
    admin = connect(cfg, use_database=False)
    try:
        ensure_schema(admin, cfg, TRADES)
    finally:
        admin.close()
