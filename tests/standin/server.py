"""StandIn: one in-memory engine behind a restartable WebSocket listener.

The data lives in the engine object, not in the listener, so ``stop()``/``start()`` behave like a
taosAdapter restart (clients lose their connections, rows survive) and ``drop_connections()``
like a network failure. Everything here runs on the tornado IOLoop thread.
"""

from __future__ import annotations

import socket

import tornado.httpserver
import tornado.netutil
import tornado.web

from tests.standin.api import EngineAPI, Session
from tests.standin.errors import AUTH_FAILURE, TDError
from tests.standin.protocol.handler import ProtocolHandler
from tests.standin.protocol.tmq import TmqHandler

# Big enough for a large stmt bind; tornado's default (10 MiB) is below what a producer may send.
MAX_MESSAGE_BYTES = 512 * 1024 * 1024


class StandIn:
    def __init__(self, engine: EngineAPI, host: str = "127.0.0.1", port: int = 6041,
                 user: str = "root", password: str = "taosdata") -> None:
        self.engine = engine
        self.host = host
        self.port = port  # 0 until start() picks a free port; then kept for restarts
        self.user = user
        self.password = password
        self.delay = 0.0
        self.statements = 0  # SQL statements run, for benchmarks counting what a server asks
        self._server: tornado.httpserver.HTTPServer | None = None
        self._connections: set[ProtocolHandler | TmqHandler] = set()
        self._app = tornado.web.Application(
            [(r"/ws", ProtocolHandler, {"standin": self}),
             (r"/rest/ws", ProtocolHandler, {"standin": self}),
             (r"/rest/tmq", TmqHandler, {"standin": self})],
            websocket_max_message_size=MAX_MESSAGE_BYTES,
        )

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    def start(self) -> None:
        if self._server is not None:
            return
        sockets = tornado.netutil.bind_sockets(self.port, address=self.host, family=socket.AF_INET
                                               if _is_ipv4(self.host) else socket.AF_UNSPEC)
        self.port = sockets[0].getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(self._app, max_buffer_size=MAX_MESSAGE_BYTES)
        self._server.add_sockets(sockets)

    def stop(self) -> None:
        """Close the listener and every client connection; the engine (the data) is kept."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.drop_connections()

    def drop_connections(self) -> int:
        """Abort every client connection (no Close frame) and keep listening."""
        handlers = list(self._connections)
        for handler in handlers:
            handler.abort()
        self._connections.clear()
        return len(handlers)

    def set_delay(self, seconds: float) -> None:
        self.delay = max(0.0, seconds)

    # ---- called by the protocol handler -------------------------------------------------

    def register(self, handler: ProtocolHandler | TmqHandler) -> None:
        self._connections.add(handler)

    def unregister(self, handler: ProtocolHandler | TmqHandler) -> None:
        self._connections.discard(handler)

    def open_session(self, user: str, password: str, db: str | None, tz: str | None) -> Session:
        # The credentials belong to the server (CLI --user/--password), so they are checked
        # here; the engine then authenticates nothing and only resolves the database.
        if user != self.user or password != self.password:
            raise TDError(AUTH_FAILURE, "Authentication failure")
        return self.engine.open_session(user, password, db, tz)


def _is_ipv4(host: str) -> bool:
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True
