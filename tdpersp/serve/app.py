"""The Tornado application, assembled in one place from its parts: every route, websocket and
metrics source is made here from what the caller hands in, and nothing is added afterwards."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import tornado.web

from tdpersp.serve import health
from tdpersp.serve.access import Access, log_request
from tdpersp.serve.pages import ASSETS, ConfigHandler, CorsStaticHandler, HistoryConfigHandler, PageHandler
from tdpersp.serve.readonly import ReadOnlyServer
from tdpersp.serve.sockets import ViewerSocket
from tdpersp.serve.sources import LiveFeed, Rollups

LIVE_SOCKET, HISTORY_SOCKET = "/websocket", "/websocket/history"


@dataclass(frozen=True)
class History:
    """All of history: the server answering its views (tdpersp/history/process.py) and its tables."""

    server: Any  # anything with new_session(send), as perspective.Server has
    tables: list[str]


def make_app(server: Any, feed: LiveFeed, table_name: str, open_sockets: set[ViewerSocket],
             access: Access | None = None, history: History | None = None, rollups: Rollups | None = None,
             **settings: Any) -> tornado.web.Application:
    """`server` hosts the live table that `feed` fills, and the rollup tables of `rollups` (on an
    edge, `server` and `feed` are the EdgeFeed, and `rollups` its EdgeRollups);
    `open_sockets` collects every open websocket (the caller closes them on shutdown)."""
    access = access or Access()
    live = ReadOnlyServer(server, access.max_views, access.max_grouped_views, access.view_rate())
    guarded = [live]
    routes: list[Any] = [
        (r"/", PageHandler),
        (r"/config\.json", ConfigHandler, {"feed": feed, "table_name": table_name, "rollups": rollups}),
        (r"/perspective/(.*)", CorsStaticHandler, {"path": os.fspath(ASSETS)}),
        (LIVE_SOCKET, ViewerSocket, {"perspective_server": live, "open_sockets": open_sockets}),
        (r"/healthz", health.HealthHandler, {"feed": feed, "rollups": rollups}),
    ]
    if history is not None:
        # Guarded like the live websocket, but grouped views are not capped: TDengine computes them.
        past = ReadOnlyServer(history.server, access.max_views, view_rate=access.view_rate())
        guarded.append(past)
        routes += [
            (r"/history\.json", HistoryConfigHandler,
             {"tables": history.tables, "websocket": HISTORY_SOCKET}),
            (HISTORY_SOCKET, ViewerSocket, {"perspective_server": past, "open_sockets": open_sockets}),
        ]
    metrics = health.registry(feed, open_sockets, guarded, rollups)
    routes.append((r"/metrics", health.MetricsHandler, {"registry": metrics}))
    return tornado.web.Application(
        routes,
        websocket_ping_interval=20,  # keeps idle connections (and their grids) from going stale
        # Tornado refuses (1009) anything bigger outright; up to here on_message says why.
        websocket_max_message_size=2 * access.max_message_bytes,
        access=access,
        log_function=log_request,
        **settings,
    )

