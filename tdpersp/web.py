"""The Tornado application: the viewer page, Perspective's browser code, the live websocket."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import perspective
import tornado.web
import tornado.websocket
from perspective.handlers.tornado import PerspectiveTornadoHandler

from tdpersp.feed import TableFeed
from tdpersp.readonly import ReadOnlyServer

PAGE = Path(__file__).resolve().parent.parent / "prsp-viewer.html"
# The browser half of Perspective ships inside the perspective-python wheel, so serving it from
# here makes the browser and server versions match by construction (no CDN, no internet).
ASSETS = Path(perspective.__file__).resolve().parent / "widget" / "static"


class PageHandler(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.write(PAGE.read_bytes())


class CorsStaticHandler(tornado.web.StaticFileHandler):
    """Perspective's JS/CSS, importable by the page opened from disk (its origin is "null")."""

    def set_default_headers(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")


class ConfigHandler(tornado.web.RequestHandler):
    """What the page needs to know: which table to show, and the versions, for checking."""

    def initialize(self, feed: TableFeed, table_name: str) -> None:
        self.feed = feed
        self.table_name = table_name

    def get(self) -> None:
        self.set_header("Access-Control-Allow-Origin", "*")
        self.set_header("Content-Type", "application/json")
        status = self.feed.status
        self.write(json.dumps({
            "table": self.table_name,
            "perspective_version": perspective.__version__,
            "feed": {"state": status.state, "detail": status.detail, "last_update": status.last_update,
                     "updates": status.updates, **dataclasses.asdict(status.reader)},
        }))


class ViewerSocket(PerspectiveTornadoHandler):
    """Perspective's handler, accepting only pages from this server or opened from disk.

    The stock handler accepts every origin, so any web site a user visits could read the
    table through the user's browser; Tornado's own check (same host) plus file:// pages
    ("null" origin) is what this demo needs."""

    def initialize(self, open_sockets: set[ViewerSocket], **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self.open_sockets = open_sockets  # so that a stopping server can say goodbye to each

    def check_origin(self, origin: str) -> bool:
        return origin == "null" or tornado.websocket.WebSocketHandler.check_origin(self, origin)

    def open(self) -> None:
        super().open()
        self.open_sockets.add(self)

    def on_close(self) -> None:
        self.open_sockets.discard(self)
        super().on_close()


def close_sockets(open_sockets: set[ViewerSocket]) -> None:
    """Close every viewer's websocket with "going away" (1001), so pages reconnect at once."""
    for socket in list(open_sockets):
        socket.close(1001, "server stopping")


def make_app(
    server: perspective.Server, feed: TableFeed, table_name: str, open_sockets: set[ViewerSocket],
    **settings: Any,
) -> tornado.web.Application:
    return tornado.web.Application(
        [
            (r"/", PageHandler),
            (r"/config\.json", ConfigHandler, {"feed": feed, "table_name": table_name}),
            (r"/perspective/(.*)", CorsStaticHandler, {"path": os.fspath(ASSETS)}),
            (r"/websocket", ViewerSocket,
             {"perspective_server": ReadOnlyServer(server), "open_sockets": open_sockets}),
        ],
        websocket_ping_interval=20,  # keeps idle connections (and their grids) from going stale
        **settings,
    )
