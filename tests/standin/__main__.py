"""Run the stand-in: ``python -m tests.standin [--host H] [--port P] [--user U] [--password W]``.

Prints one ``standin ready host=H port=P`` line once listening, then answers commands read from
stdin, one line each (``stop``, ``start``, ``drop``, ``delay <ms>``, ``wal-trim``, ``status``) with one line
``ok ...`` or ``error ...``. End of stdin leaves the server running (it may run without a terminal);
SIGINT/SIGTERM end it with exit code 0. Nothing is written to disk.

``STANDIN_ENGINE=module:attr`` swaps the engine factory (default
``tests.standin.sql.engine:Engine``); it exists for developing the protocol side on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import os
import signal
import sys
import threading
from collections.abc import Callable

from tests.standin.api import EngineAPI
from tests.standin.server import StandIn

DEFAULT_ENGINE = "tests.standin.sql.engine:Engine"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.standin",
                                     description="TDengine/taosAdapter WebSocket stand-in for tests")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=6041, help="port to listen on, 0 = any free port")
    parser.add_argument("--user", default="root", help="the one user accepted")
    parser.add_argument("--password", default="taosdata", help="that user's password")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"argument --port: {args.port} is not in 0..65535")
    if not args.host:
        parser.error("argument --host: must not be empty")
    return args


def load_engine(user: str, password: str) -> EngineAPI:
    module_name, _, attr = os.environ.get("STANDIN_ENGINE", DEFAULT_ENGINE).partition(":")
    factory: Callable[..., EngineAPI] = getattr(importlib.import_module(module_name), attr or "Engine")
    if "users" in inspect.signature(factory).parameters:
        return factory(users={user: password})  # the engine checks logins too: give it ours
    return factory()


def run_command(standin: StandIn, line: str) -> str:
    """Execute one stdin command on the IOLoop thread and describe the outcome in one line."""
    words = line.split()
    if not words:
        return "error empty command"
    command, rest = words[0].lower(), words[1:]
    try:
        if command == "stop":
            standin.stop()
            return "ok stopped"
        if command == "start":
            standin.start()
            return f"ok started host={standin.host} port={standin.port}"
        if command == "drop":
            return f"ok dropped connections={standin.drop_connections()}"
        if command == "delay":
            if len(rest) != 1:
                return "error usage: delay <ms>"
            ms = float(rest[0])
            if ms < 0:
                return "error delay must be >= 0"
            standin.set_delay(ms / 1000)
            return f"ok delay_ms={ms:g}"
        if command == "wal-trim":
            return f"ok trimmed entries={standin.engine.tmq.trim()}"
        if command == "status":
            state = "running" if standin.running else "stopped"
            return (f"ok {state} host={standin.host} port={standin.port} "
                    f"connections={standin.connection_count} statements={standin.statements} "
                    f"delay_ms={standin.delay * 1000:g}")
    except (OSError, ValueError) as err:
        return f"error {command}: {err}"
    return f"error unknown command {command!r} (stop, start, drop, delay <ms>, wal-trim, status)"


def stdin_lines():
    """Lines from fd 0, read unbuffered: a daemon thread blocked inside sys.stdin's buffered
    reader can abort interpreter shutdown ("could not acquire lock"), os.read cannot."""
    pending = b""
    while chunk := os.read(0, 65536):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        yield from (line.decode(errors="replace") for line in lines)
    if pending:
        yield pending.decode(errors="replace")


def read_commands(loop: asyncio.AbstractEventLoop, standin: StandIn) -> None:
    """stdin reader thread: commands are handed to the loop so all state stays single-threaded."""
    for line in stdin_lines():
        if not line.strip():
            continue

        async def call(text: str = line) -> str:
            return run_command(standin, text)

        answer = asyncio.run_coroutine_threadsafe(call(), loop).result()
        print(answer, flush=True)
    # EOF: keep serving; only a signal ends the process.


async def serve(args: argparse.Namespace) -> None:
    standin = StandIn(load_engine(args.user, args.password), args.host, args.port, args.user, args.password)
    standin.start()
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    print(f"standin ready host={standin.host} port={standin.port}", flush=True)
    threading.Thread(target=read_commands, args=(loop, standin), daemon=True, name="stdin").start()
    await done.wait()
    standin.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(serve(args))
    except OSError as err:  # e.g. the port is taken
        print(f"standin: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
