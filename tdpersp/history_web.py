"""The history's routes on the Tornado application: its websocket and what the page must know."""

from __future__ import annotations

import json
from typing import Any

import tornado.web

from tdpersp.access import Checked
from tdpersp.history_process import HistoryServer
from tdpersp.readonly import ReadOnlyServer
from tdpersp.web import ViewerSocket


class HistoryConfigHandler(Checked):
    """The hosted history tables, so the page need not hard-code a setting's value."""

    def initialize(self, tables: list[str]) -> None:
        self.tables = tables

    def get(self) -> None:
        self.allow_file_page()
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps({"tables": self.tables, "websocket": "/websocket/history"}))


def add_routes(app: tornado.web.Application, server: HistoryServer, tables: list[str],
               open_sockets: set[Any]) -> None:
    """`/websocket/history` is guarded like the live `/websocket` (read-only, view cap and rate, Host,
    token); grouped views are not capped, as the history computes them in TDengine."""
    access = app.settings["access"]
    guarded = ReadOnlyServer(server, access.max_views, view_rate=access.view_rate())
    app.settings["guarded_servers"].append(guarded)
    app.add_handlers(r".*", [
        (r"/history\.json", HistoryConfigHandler, {"tables": tables}),
        (r"/websocket/history", ViewerSocket,
         {"perspective_server": guarded, "open_sockets": open_sockets}),
    ])
