"""The page, Perspective's browser code, and the JSON the page reads at start."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import perspective
import tornado.web

from tdpersp.serve.access import Checked
from tdpersp.serve.sources import LiveFeed, Rollups

PAGE = Path(__file__).resolve().parents[2] / "prsp-viewer.html"
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
    """What the page needs to know: which table to show and its columns, and the versions, for checking."""

    def initialize(self, feed: LiveFeed, table_name: str, rollups: Rollups | None = None) -> None:
        self.feed = feed
        self.table_name = table_name
        self.rollups = rollups

    def get(self) -> None:
        status = self.feed.status
        self.write_page_json({
            "table": self.table_name,
            "perspective_version": perspective.__version__,
            "feed": {"state": status.state, "detail": status.detail, "last_update": status.last_update,
                     "updates": status.updates, **dataclasses.asdict(status.reader)},
            # The live table's name (an edge's is its hub's), columns, tags and source.
            **self.feed.describe(),
            # The rollup tables (tdpersp/rollups/): name, window, retention (null: for ever), ready.
            "rollups": self.rollups.describe() if self.rollups else [],
        })


class HistoryConfigHandler(Checked):
    """The hosted history tables, so the page need not hard-code a setting's value."""

    def initialize(self, tables: list[str], websocket: str) -> None:
        self.tables = tables
        self.websocket = websocket

    def get(self) -> None:
        self.write_page_json({"tables": self.tables, "websocket": self.websocket})
