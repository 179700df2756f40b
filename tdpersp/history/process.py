"""Serving the history virtual server from a child process; the web server only pumps bytes.

Why: `taosws` holds the GIL while it waits for TDengine, so a history query run in the web
server's process would freeze every websocket and the live feed for as long as it takes (see
tdpersp/live/process.py). Here every viewer session's `perspective.VirtualServer` lives in the child,
which owns the TDengine connection; the parent forwards each Perspective request and hands back
each reply. The child answers one request at a time: a slow query delays other history viewers,
never the live table.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from tornado.ioloop import IOLoop

from tdpersp.core.tdconn import LazyConnection, TaosConfig

log = logging.getLogger(__name__)
Tables = dict[str, tuple[str, str]]  # hosted name -> (database, table)


def start(cfg: TaosConfig, tables: Tables) -> tuple[multiprocessing.process.BaseProcess, HistoryServer]:
    """Start the child; returns it and the parent's stand-in for a `perspective.Server`."""
    context = multiprocessing.get_context("spawn")  # the parent already runs Perspective's threads
    parent_end, child_end = context.Pipe(duplex=True)
    process = context.Process(target=run, args=(cfg, tables, child_end), name="tdengine-history", daemon=True)
    process.start()
    child_end.close()
    return process, HistoryServer(parent_end)


def run(cfg: TaosConfig, tables: Tables, pipe: Connection) -> None:
    """The child: one VirtualServer per viewer session, all sharing one TDengine connection."""
    import perspective  # imported here: only the child needs the virtual server machinery

    from tdpersp.history.handler import HistoryHandler

    connection = LazyConnection(cfg)
    sessions: dict[int, Any] = {}
    try:
        while True:
            kind, sid, payload = pipe.recv()
            if kind == "open":
                sessions[sid] = perspective.VirtualServer(HistoryHandler(connection, tables))
            elif kind == "close" and sid in sessions:
                sessions.pop(sid).close()
            elif kind == "request" and sid in sessions:
                pipe.send((sid, sessions[sid].handle_request(payload)))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        log.debug("history process stops")


class HistoryServer:
    """What `PerspectiveTornadoHandler` needs from a server (`new_session`), backed by the child.

    Requests leave through a sender thread so that a busy child can never block the IOLoop on a
    full pipe; replies arrive on the IOLoop and go to their session's callback."""

    def __init__(self, pipe: Connection) -> None:
        self._pipe = pipe
        self._ids = itertools.count(1)
        self._callbacks: dict[int, Callable[[bytes], None]] = {}
        self._outgoing: queue.SimpleQueue[tuple[str, int, bytes] | None] = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_loop, name="history-sender", daemon=True)
        self._sender.start()
        IOLoop.current().add_handler(pipe.fileno(), self._readable, IOLoop.READ)

    def new_session(self, callback: Callable[[bytes], None]) -> HistorySession:
        sid = next(self._ids)
        self._callbacks[sid] = callback
        self._outgoing.put(("open", sid, b""))
        return HistorySession(self, sid)

    def send(self, kind: str, sid: int, payload: bytes = b"") -> None:
        if kind == "close":
            self._callbacks.pop(sid, None)
        self._outgoing.put((kind, sid, payload))

    def stop(self) -> None:
        self._outgoing.put(None)
        IOLoop.current().remove_handler(self._pipe.fileno())

    def _send_loop(self) -> None:
        while (message := self._outgoing.get()) is not None:
            try:
                self._pipe.send(message)
            except (BrokenPipeError, OSError):
                return

    def _readable(self, fd: int, events: int) -> None:
        try:
            while self._pipe.poll():
                sid, reply = self._pipe.recv()
                callback = self._callbacks.get(sid)
                if callback is not None and reply:
                    callback(reply)
        except EOFError:
            log.error("the history process ended; history views stop answering")
            IOLoop.current().remove_handler(fd)


class HistorySession:
    def __init__(self, server: HistoryServer, sid: int) -> None:
        self._server, self._sid = server, sid

    def handle_request(self, message: bytes) -> None:
        self._server.send("request", self._sid, bytes(message))

    def close(self) -> None:
        self._server.send("close", self._sid)
