"""The live and history websockets: Perspective's Tornado handler, hardened (see `ViewerSocket`)."""

from __future__ import annotations

import logging
from typing import Any

import perspective
import tornado.websocket
from perspective.handlers.tornado import PerspectiveTornadoHandler

from tdpersp.serve import health
from tdpersp.serve.access import Access, Checked
from tdpersp.serve.address_rate import QuietLog
from tdpersp.serve.readonly import MalformedRequest

log = logging.getLogger(__name__)
CLIENT_WARNINGS = QuietLog(log)  # a client misbehaving in a loop must not fill the log
POLICY_VIOLATION = 1008


class ViewerSocket(Checked, PerspectiveTornadoHandler):
    """Perspective's handler, hardened: only pages from this server or opened from disk, only
    read requests (ReadOnlyServer), bounded requests, and a bounded queue of answers per viewer.

    The stock handler accepts every origin, so any web site a user visits could read the
    table through the user's browser; Tornado's own check (same host) plus file:// pages
    ("null" origin) is what this demo needs. A frame that is not a Perspective request closes
    the connection with one warning line; a viewer that stops reading is disconnected before its
    unsent answers grow past PERSPECTIVE_MAX_QUEUE_BYTES, so it cannot exhaust the server."""

    def initialize(self, open_sockets: set[ViewerSocket], **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self.open_sockets = open_sockets  # so that a stopping server can say goodbye to each
        self.access: Access = self.settings["access"]
        self.queued = 0  # bytes written but not yet flushed to the socket

    @property
    def address(self) -> str:
        """The client's IP address: what the view rate and the log's throttle count by."""
        return self.request.remote_ip or ""

    def check_origin(self, origin: str) -> bool:
        return origin == "null" or tornado.websocket.WebSocketHandler.check_origin(self, origin)

    def open(self) -> None:
        # As PerspectiveTornadoHandler.open, with the answers going through the bounded writer.
        self.session = self.server.new_session(lambda msg: self.loop.add_callback(self._write, msg),
                                               self.address)
        self.open_sockets.add(self)

    def on_close(self) -> None:
        self.open_sockets.discard(self)
        self.end_session()

    def end_session(self) -> None:
        """Close the Perspective session now, and with it its views (the closing handshake would
        take a round trip; a table whose views are open cannot be deleted)."""
        session, self.session = getattr(self, "session", None), None
        if session is not None:
            session.close()

    def on_message(self, message: str | bytes) -> None:
        if self.session is None:  # ended; the closing handshake is under way
            return
        if not isinstance(message, bytes) or len(message) > self.access.max_message_bytes:
            self._violation("a text frame" if isinstance(message, str) else f"{len(message)} bytes")
            return
        try:
            self.session.handle_request(message)
        except (MalformedRequest, perspective.PerspectiveError) as err:
            self._violation(str(err).splitlines()[0][:200])

    def _violation(self, what: str) -> None:
        health.STATS.malformed_frames += 1
        CLIENT_WARNINGS.warning(self.address, "closing a viewer connection from %s: %s", self.address, what)
        self.close(POLICY_VIOLATION, "not a Perspective request")

    def _write(self, message: bytes) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        if self.queued + len(message) > self.access.max_queued_bytes:
            health.STATS.slow_viewers += 1
            CLIENT_WARNINGS.warning(self.address, "disconnecting a viewer from %s that reads too slowly "
                                    "(%d bytes unsent)", self.address, self.queued)
            self.close(POLICY_VIOLATION, "reading too slowly")
            self.ws_connection.stream.close()  # its buffers will not drain: do not wait for them
            return
        self.queued += len(message)
        try:
            flushed = self.write_message(message, binary=True)
        except tornado.websocket.WebSocketClosedError:
            return
        flushed.add_done_callback(lambda _: self._flushed(len(message)))

    def _flushed(self, size: int) -> None:
        self.queued -= size


def close_sockets(open_sockets: set[ViewerSocket], code: int = 1001, reason: str = "server stopping") -> None:
    """Close every viewer's websocket and end its session, so that pages reconnect at once: with
    "going away" (1001) when the server stops, "service restart" (1012) when the table is remade."""
    for socket in list(open_sockets):
        socket.end_session()
        socket.close(code, reason)
