"""The Tornado application: the viewer page, Perspective's browser code, the live websocket."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Any

import perspective
import tornado.web
import tornado.websocket
from perspective.handlers.tornado import PerspectiveTornadoHandler

from tdpersp import health
from tdpersp.access import Access, Checked, log_request
from tdpersp.address_rate import QuietLog
from tdpersp.feed import TableFeed
from tdpersp.readonly import MalformedRequest, ReadOnlyServer

log = logging.getLogger("perspective_server")
CLIENT_WARNINGS = QuietLog(log)  # a client misbehaving in a loop must not fill the log
POLICY_VIOLATION = 1008

PAGE = Path(__file__).resolve().parent.parent / "prsp-viewer.html"
# The browser half of Perspective ships inside the perspective-python wheel, so serving it from
# here makes the browser and server versions match by construction (no CDN, no internet).
ASSETS = Path(perspective.__file__).resolve().parent / "widget" / "static"


class PageHandler(Checked):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.write(PAGE.read_bytes())


class CorsStaticHandler(tornado.web.StaticFileHandler):
    """Perspective's JS/CSS, importable by the page opened from disk (its origin is "null")."""

    def set_default_headers(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")


class ConfigHandler(Checked):
    """What the page needs to know: which table to show, and the versions, for checking."""

    def initialize(self, feed: TableFeed, table_name: str) -> None:
        self.feed = feed
        self.table_name = table_name

    def get(self) -> None:
        self.allow_file_page()
        self.set_header("Content-Type", "application/json")
        status = self.feed.status
        self.write(json.dumps({
            "table": self.table_name,
            "perspective_version": perspective.__version__,
            "feed": {"state": status.state, "detail": status.detail, "last_update": status.last_update,
                     "updates": status.updates, **dataclasses.asdict(status.reader)},
        }))


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
        super().on_close()

    def on_message(self, message: str | bytes) -> None:
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


def close_sockets(open_sockets: set[ViewerSocket]) -> None:
    """Close every viewer's websocket with "going away" (1001), so pages reconnect at once."""
    for socket in list(open_sockets):
        socket.close(1001, "server stopping")


def make_app(
    server: perspective.Server, feed: TableFeed, table_name: str, open_sockets: set[ViewerSocket],
    access: Access | None = None, **settings: Any,
) -> tornado.web.Application:
    access = access or Access()
    guarded = ReadOnlyServer(server, access.max_views, access.max_grouped_views, access.view_rate())
    servers = [guarded]  # every guarded server, for the metrics; the history adds its own
    return tornado.web.Application(
        [
            (r"/", PageHandler),
            (r"/config\.json", ConfigHandler, {"feed": feed, "table_name": table_name}),
            (r"/perspective/(.*)", CorsStaticHandler, {"path": os.fspath(ASSETS)}),
            (r"/websocket", ViewerSocket, {"perspective_server": guarded, "open_sockets": open_sockets}),
            (r"/healthz", health.HealthHandler, {"feed": feed}),
            (r"/metrics", health.MetricsHandler, {"registry": health.registry(feed, open_sockets, servers)}),
        ],
        websocket_ping_interval=20,  # keeps idle connections (and their grids) from going stale
        # Tornado refuses (1009) anything bigger outright; up to here on_message says why.
        websocket_max_message_size=2 * access.max_message_bytes,
        access=access,
        guarded_servers=servers,
        log_function=log_request,
        **settings,
    )
