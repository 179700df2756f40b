"""Run the stand-in as a child process and drive it over stdin/stdout.

It must be a separate process: taosws holds the GIL while it waits for the server, so a server
thread inside the test process would never get to answer (connect deadlocks).
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0  # first start imports the engine; a loaded 2-core machine can be slow
COMMAND_TIMEOUT = 15.0


class StandInError(RuntimeError):
    pass


class StandInProcess:
    """A running ``python -m tests.standin`` with ``host``/``port`` and the stdin fault commands."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, user: str = "root",
                 password: str = "taosdata", extra_args: list[str] | None = None) -> None:
        self.user = user
        self.password = password
        command = [sys.executable, "-m", "tests.standin", "--host", host, "--port", str(port),
                   "--user", user, "--password", password, *(extra_args or [])]
        # stderr is inherited so that pytest's fd capture shows server tracebacks on failure.
        self._proc = subprocess.Popen(command, cwd=REPO_ROOT, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True, bufsize=1,
                                      env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True, name="standin-stdout").start()
        ready = self._next_line(READY_TIMEOUT)
        if "ready" not in ready:
            self.close()
            raise StandInError(f"stand-in did not start: {ready!r}")
        fields = dict(word.split("=", 1) for word in ready.split() if "=" in word)
        self.host = fields["host"]
        self.port = int(fields["port"])

    def _pump(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)  # EOF: the process ended

    def _next_line(self, timeout: float) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise StandInError(f"no answer from the stand-in within {timeout} s") from None
        if line is None:
            raise StandInError(f"stand-in exited (code {self._proc.poll()})")
        return line

    @property
    def pid(self) -> int:
        """The stand-in's process, e.g. for a benchmark to read its CPU time."""
        return self._proc.pid

    @property
    def url(self) -> str:
        return f"taosws://{self.user}:{self.password}@{self.host}:{self.port}"

    def command(self, line: str) -> str:
        """Send one stdin command; return the ``ok ...`` answer or raise on ``error ...``."""
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        answer = self._next_line(COMMAND_TIMEOUT)
        if not answer.startswith("ok"):
            raise StandInError(f"{line!r} failed: {answer}")
        return answer

    def stop(self) -> None:
        """Stop listening and close every client connection; the data is kept."""
        self.command("stop")

    def start(self) -> None:
        """Listen again, on the same port."""
        self.command("start")

    def drop_connections(self) -> None:
        self.command("drop")

    def set_delay(self, ms: float) -> None:
        """Delay every answer by ``ms`` milliseconds (0 = no delay)."""
        self.command(f"delay {ms:g}")

    def trim_wal(self) -> None:
        """Drop every WAL entry but the newest of each vgroup: committed TMQ offsets go stale."""
        self.command("wal-trim")

    def status(self) -> str:
        return self.command("status")

    def close(self) -> None:
        """Terminate the process (SIGTERM, then SIGKILL if it does not exit)."""
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdin is not None:
            self._proc.stdin.close()

    def __enter__(self) -> StandInProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
