"""The real stack (stand-in TDengine, producer.py, perspective_server.py) plus headless Chromium.

Used by the browser tests and by ``python -m tests.browser.screenshots``. Chromium is Debian's
(/usr/bin/chromium), driven by Playwright without ``playwright install``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tests.processes import REPO_ROOT, Program, free_port, taos_env, wait_for_server
from tests.standin.fixture import StandInProcess

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 850}
PAGE_FILE = REPO_ROOT / "prsp-viewer.html"
# The trades' live panels with the default rollups (PERSPECTIVE_ROLLUPS): candles, and the all-time
# totals in place of the live table's per-ticker pivot.
PANELS = ("candles", "trades", "totals", "prices", "clients")
CHART_PANELS = ("candles", "prices", "clients")
# Slow enough for a 2-core box shared with the browser, fast enough to see new rows every poll.
PRODUCER_RATE = 40
# What Chromium itself logs (as console errors) for each connection attempt while the server is
# down; the page cannot silence these, so the outage tests allow them and nothing else.
NETWORK_NOISE = re.compile(r"net::ERR_CONNECTION_(REFUSED|RESET)|WebSocket connection to .* failed")


class Stack:
    """Stand-in TDengine + producer.py + perspective_server.py on ``port``; stop with close().

    ``env`` is added to both programs' environment (e.g. TAOS_TABLENAME), ``producer_args`` to
    the producer's command line (e.g. another dataset)."""

    def __init__(self, database: str = "browser", port: int | None = None, env: dict[str, str] | None = None,
                 producer_args: list[str] | None = None) -> None:
        self._exit = ExitStack()
        self.standin = self._exit.enter_context(StandInProcess())
        self.env = taos_env(self.standin.host, self.standin.port, database=database) | (env or {})
        self.port = port or free_port()
        self.producer = self._exit.enter_context(
            Program("producer.py", env=self.env | {"PRODUCER_RATE": str(PRODUCER_RATE)}, args=producer_args))
        self.server: Program | None = None
        self.start_server()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}/"

    @property
    def file_url(self) -> str:
        return f"{PAGE_FILE.as_uri()}?server={self.address}"

    def start_server(self) -> None:
        self.server = Program("perspective_server.py", env=self.env | {"PERSPECTIVE_PORT": str(self.port)})
        self._exit.callback(self.server.__exit__)
        wait_for_server(self.port)

    def stop_server(self) -> None:
        assert self.server is not None
        self.server.stop(signal.SIGINT)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows from the stand-in, read the way a TDengine client would (taosws)."""
        import taosws

        conn = taosws.connect(host=self.standin.host, port=self.standin.port,
                              user=self.standin.user, password=self.standin.password)
        try:
            return [tuple(row) for row in conn.query(sql)]
        finally:
            conn.close()

    def close(self) -> None:
        for program in (self.server, self.producer):
            if program is not None:
                program.__exit__()
        self._exit.close()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright persistent context on Debian's Chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "no Chromium binary"
    with sync_playwright() as playwright, tempfile.TemporaryDirectory(prefix="prsp-browser-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport=VIEWPORT)
        try:
            yield context
        finally:
            context.close()


@dataclass
class Watched:
    """A page plus everything it logged and requested."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def unexpected_errors(self, allow: re.Pattern[str] | None = None) -> list[str]:
        return [e for e in self.errors if not (allow and allow.search(e))]

    def foreign_requests(self, address: str) -> list[str]:
        """Requests to anything but the server at ``address`` (host:port) or the page's own file."""
        foreign = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("file", "data", "blob"):
                continue
            if parts.scheme in ("http", "https", "ws", "wss") and parts.netloc == address:
                continue
            foreign.append(url)
        return foreign


def watch(context: Any) -> Watched:
    """A new page whose console errors, page errors and requests (incl. websockets) are kept."""
    page = context.new_page()
    watched = Watched(page)
    page.on("console", lambda msg: msg.type == "error" and watched.errors.append(f"console: {msg.text}"))
    page.on("pageerror", lambda err: watched.errors.append(f"pageerror: {err}"))
    page.on("request", lambda request: watched.requests.append(request.url))
    page.on("websocket", lambda socket: watched.requests.append(socket.url))
    return watched


def rewrite_config(page: Any, change: Callable[[dict[str, Any], int], None]) -> None:
    """Rewrites every /config.json the page fetches: ``change(config, n)`` edits the server's
    reply, ``n`` counting the replies from 1. What the page does with a config a real server
    would send, without running that server."""
    replies = itertools.count(1)

    def rewrite(route: Any) -> None:
        reply = route.fetch()
        config = reply.json()
        change(config, next(replies))
        route.fulfill(response=reply, body=json.dumps(config))

    page.route("**/config.json*", rewrite)


# --- reading the dashboard --------------------------------------------------------------------

def wait_live(page: Any, connections: int = 1, timeout: float = 30.0) -> None:
    """Waits until the status says live on the ``connections``-th websocket of this page."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"window.dashboard && dashboard.state === 'live' && dashboard.connections >= {connections}",
            timeout=timeout * 1000)
    except PlaywrightTimeout:
        seen = page.evaluate("window.dashboard && [dashboard.state, dashboard.connections,"
                             " Object.values(dashboard.panels).map((p) => p.name + ':' + p.state)]")
        raise AssertionError(f"not live on connection {connections} within {timeout} s: "
                             f"{status(page)} {seen}") from None


def wait_until(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 20.0) -> Any:
    """Reads until ``done(value)``, polling from Python; returns the last value read, done or not
    (the caller asserts, so a failure shows what was there). For what only an async call in the
    page can read (a viewer's save(), its view): Playwright's wait_for_function takes the promise
    an async predicate returns for a truthy value, and returns at once."""
    deadline = time.monotonic() + timeout
    while not done(value := read()) and time.monotonic() < deadline:
        time.sleep(0.3)
    return value


def wait_shown(page: Any, timeout: float = 30.0) -> None:
    """Waits until every live panel is shown, the rollup panels too (they are shown on their own,
    once their rollup table is there, so the page can be live before they are)."""
    page.wait_for_function("Object.keys(dashboard.panels).length > 0 &&"
                           " Object.values(dashboard.panels).every((p) => p.state === 'shown')",
                           timeout=timeout * 1000)


def status(page: Any) -> dict[str, str]:
    return page.evaluate("(() => { const s = document.getElementById('status');"
                         " return {state: s.dataset.state, text: s.textContent}; })()")


_GRID_ROWS = """(panel) => {
  const grid = document.querySelector(`[data-panel=${panel}] perspective-viewer perspective-viewer-datagrid`);
  const table = grid && grid.shadowRoot && grid.shadowRoot.querySelector('regular-table');
  if (!table) return [];
  return [...table.querySelectorAll('tbody tr')].map(
    (tr) => [...tr.querySelectorAll('th, td')].map((cell) => cell.textContent.trim()));
}"""


def grid_rows(page: Any, panel: str) -> list[list[str]]:
    """The rendered rows of a panel's datagrid (row headers then cells), read in its shadow DOM."""
    return page.evaluate(_GRID_ROWS, panel)


def wait_grid_rows(page: Any, panel: str, minimum: int = 1, timeout: float = 20.0) -> list[list[str]]:
    page.wait_for_function(f"(panel) => ({_GRID_ROWS})(panel).length >= {minimum}", arg=panel,
                           timeout=timeout * 1000)
    return grid_rows(page, panel)


def wait_grid_change(page: Any, panel: str, before: list[list[str]], timeout: float = 20.0) -> list[Any]:
    """Waits until the panel's first row differs from ``before``'s (new rows arrived)."""
    page.wait_for_function(
        f"([panel, first]) => {{ const rows = ({_GRID_ROWS})(panel);"
        " return rows.length > 0 && JSON.stringify(rows[0]) !== JSON.stringify(first); }",
        arg=[panel, before[0] if before else []], timeout=timeout * 1000)
    return grid_rows(page, panel)


def assert_charts_are_tables(page: Any, panels: tuple[str, ...], charts: tuple[str, ...],
                             served: str) -> None:
    """From disk: every panel a datagrid, and each chart panel a pivot with rows and a visible
    note linking to the ``served`` page (where the charts work)."""
    for panel in panels:
        assert plugin_name(page, panel) == "perspective-viewer-datagrid", panel
    for panel in charts:
        wait_grid_rows(page, panel, minimum=2)
        note = page.locator(f"[data-panel={panel}] .note")
        assert note.is_visible(), panel
        assert note.locator("a").get_attribute("href") == served, panel


def plugin_name(page: Any, panel: str) -> str:
    """Tag name of the plugin element a panel's viewer shows (e.g. perspective-viewer-charts-y-bar)."""
    return page.evaluate(
        "(panel) => { const v = document.querySelector(`[data-panel=${panel}] perspective-viewer`);"
        " const p = [...v.children].find((c) => c.tagName.startsWith('PERSPECTIVE-VIEWER-')"
        " && !c.tagName.endsWith('-TAB') && !c.tagName.endsWith('-TOOLBAR'));"
        " return p ? p.tagName.toLowerCase() : ''; }", panel)


def view_columns(page: Any, panel: str) -> dict[str, list[Any]]:
    """What a panel's viewer shows, as its view's columns (``__ROW_PATH__`` first when pivoted):
    the numbers themselves, not the grid's or the chart's formatting of them."""
    return page.evaluate(
        "async (panel) => await (await document.querySelector(`[data-panel=${panel}] perspective-viewer`)"
        ".getView()).to_columns()", panel)


def viewer_schema(page: Any, panel: str) -> dict[str, str]:
    """The schema of the table a panel's viewer reads (the live table, or a rollup table)."""
    return page.evaluate(
        "async (panel) => await (await document.querySelector(`[data-panel=${panel}] perspective-viewer`)"
        ".getTable()).schema()", panel)


def layout(page: Any, panel: str) -> dict[str, Any]:
    """The panel viewer's current configuration (viewer.save()), without the table it reads:
    the page saves layouts without it (the table's name comes from the server)."""
    saved = page.evaluate(
        "async (panel) => await document.querySelector(`[data-panel=${panel}] perspective-viewer`).save()",
        panel)
    saved.pop("table", None)
    return saved


_COLOURED_PIXELS = """async (png) => {
  const image = new Image();
  image.src = 'data:image/png;base64,' + png;
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = image.width; canvas.height = image.height;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0);
  const data = context.getImageData(0, 0, image.width, image.height).data;
  let coloured = 0;
  for (let i = 0; i < data.length; i += 4) {
    const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
  }
  return coloured;
}"""


def coloured_pixels(page: Any, panel: str) -> int:
    """Saturated pixels in a panel's screenshot: Pro Dark's chrome and text are grey, so these
    are the chart's lines and bars (or the grid's blue numbers)."""
    png = page.locator(f"[data-panel={panel}] perspective-viewer").screenshot()
    return page.evaluate(_COLOURED_PIXELS, base64.b64encode(png).decode())
