"""prsp-viewer.html against the real stack, served over http and opened from disk.

The tests share one stack and one browser and run in file order; the last one restarts the
server.
"""

from __future__ import annotations

import re
from typing import Any

from tests.browser import harness as h
from tests.browser.harness import Stack, Watched


def open_dashboard(watched: Watched, url: str) -> Any:
    page = watched.page
    page.goto(url)
    h.wait_live(page)
    for panel in h.PANELS:
        page.wait_for_function(
            "(panel) => { const v = document.querySelector(`[data-panel=${panel}] perspective-viewer`);"
            " return [...v.children].some((c) => /^PERSPECTIVE-VIEWER-(DATAGRID|CHARTS)/.test(c.tagName)); }",
            arg=panel, timeout=20_000)
    h.wait_shown(page)
    return page


def test_served_page_renders_every_panel(stack: Stack, watched: Watched) -> None:
    """Served over http, every panel shows its default view: two grids with rows, candles, a line
    chart and a bar chart with drawn marks, the "Pro Dark" theme, titles that say what span each
    covers, status "live", and no console or page error.

    Guards against: a broken import of the wheel's bundle or of `__wasm_module__.Client`, a
    wrong table name, a plugin name that no longer exists (the viewer silently falls back to
    the grid), charts that stay blank, errors logged by the page. It cannot prove the charts
    are *correct*, only that they drew coloured marks."""
    page = open_dashboard(watched, stack.url)
    h.wait_grid_rows(page, "trades", minimum=3)
    h.wait_grid_rows(page, "totals", minimum=2)
    assert h.plugin_name(page, "trades") == "perspective-viewer-datagrid"
    assert h.plugin_name(page, "totals") == "perspective-viewer-datagrid"
    assert h.plugin_name(page, "candles") == "perspective-viewer-charts-candlestick"
    assert h.plugin_name(page, "prices").startswith("perspective-viewer-charts-")
    assert h.plugin_name(page, "clients") == "perspective-viewer-charts-y-bar"
    titles = {panel: h.layout(page, panel)["title"] for panel in h.PANELS}
    for panel in ("trades", "prices", "clients"):
        assert titles[panel].startswith("Last 1,000 trades"), titles
    assert titles["totals"].startswith("All time, per ticker"), titles
    assert re.fullmatch(r"Last 4 minutes: \S+ in 1-second candles", titles["candles"]), titles
    for panel in h.CHART_PANELS:
        page.wait_for_function("() => true")  # let the next frame render
        assert h.coloured_pixels(page, panel) > 500, f"{panel}: the chart drew nothing"
        assert h.layout(page, panel)["theme"] == "Pro Dark"
    assert h.status(page)["state"] == "live"
    assert not watched.unexpected_errors()


def test_grid_shows_producer_rows_and_updates(stack: Stack, watched: Watched) -> None:
    """The trades grid shows rows the producer wrote into TDengine, newest first, and its top
    row changes as new rows arrive (no reload).

    Guards against: the websocket transport, the server's reader or the grid's sort breaking, so
    that the page shows nothing, stale rows or made-up rows. A row is matched by (ticker,
    client, volume) read back from the stand-in, not by its exact timestamp or price text
    (the grid formats those)."""
    page = open_dashboard(watched, stack.url)
    first = h.wait_grid_rows(page, "trades", minimum=3)
    written = {(ticker, client, volume) for ticker, client, volume in
               stack.query("SELECT ticker, client, volume FROM browser.stocks_values")}
    shown = {(row[1], row[2], int(row[7].replace(",", ""))) for row in first}
    assert shown & written, f"no grid row is a row in TDengine: {first[:3]}"
    later = h.wait_grid_change(page, "trades", first)
    assert later[0] != first[0]
    assert not watched.unexpected_errors()


def test_panel_change_survives_reload_and_reset_restores_default(stack: Stack, watched: Watched) -> None:
    """A change to a panel (group by ticker instead of client, a filter) is saved on the
    viewer's config-update event and restored after a page reload; the panel's Reset button
    brings back the default layout and forgets the saved one.

    Guards against: layouts not saved, saved in a form restore() refuses, or overwritten by the
    page's own restore on load. The change is made through viewer.restore(), which fires the
    same event as the viewer's settings panel; clicking through that panel is not tested."""
    page = open_dashboard(watched, stack.url)
    page.evaluate("""async () => {
        const viewer = document.querySelector('[data-panel=clients] perspective-viewer');
        await viewer.restore({group_by: ['ticker'], filter: [['volume', '>', 0]]});
    }""")
    page.wait_for_function("() => (localStorage.getItem('prsp-viewer:panel:clients') || '')"
                           ".includes('ticker')",
                           timeout=10_000)
    page.reload()
    h.wait_live(page)
    restored = h.wait_until(lambda: h.layout(page, "clients"),
                            lambda layout: layout["group_by"] == ["ticker"])
    assert restored["group_by"] == ["ticker"] and restored["filter"] == [["volume", ">", 0]]
    page.click("[data-panel=clients] button.reset")
    reset = h.wait_until(lambda: h.layout(page, "clients"), lambda layout: layout["group_by"] == ["client"])
    assert reset["group_by"] == ["client"] and reset["filter"] == []
    assert page.evaluate("localStorage.getItem('prsp-viewer:panel:clients')") is None
    assert not watched.unexpected_errors()


def test_page_from_disk_renders_every_panel(stack: Stack, watched: Watched) -> None:
    """Opened from disk (file://, ?server=host:port) the page connects to the server, the grids
    update live, and the chart panels are datagrid pivots with a visible note linking to the
    served page, all without console errors (charts cannot start their worker from file://).

    Guards against: assets or the websocket refused for the "null" origin (CORS,
    check_origin), a chart plugin chosen from disk (it logs errors and stays blank), the note
    going missing. It cannot show that the link's page has charts (the first test does)."""
    page = open_dashboard(watched, stack.file_url)
    first = h.wait_grid_rows(page, "trades", minimum=3)
    h.assert_charts_are_tables(page, h.PANELS, h.CHART_PANELS, stack.url)
    h.wait_grid_change(page, "trades", first)
    assert not watched.unexpected_errors()


def test_requests_go_only_to_the_server(stack: Stack, watched: Watched) -> None:
    """Served and from disk, every request the page makes (scripts, CSS, config, websocket)
    goes to the server's host:port, or is file:, data: or blob:.

    Guards against: a CDN import, a web font, or a hard-coded address creeping into the page.
    It records only what this Chromium requested in these few seconds; requests made later (for
    example by a plugin the user picks) are not covered."""
    for url in (stack.url, stack.file_url):
        watched.requests.clear()
        page = open_dashboard(watched, url)
        h.wait_grid_rows(page, "trades", minimum=1)
        assert watched.requests, "no request recorded"
        assert not watched.foreign_requests(stack.address), url
    assert any(u.startswith("ws://") for u in watched.requests), "websocket not recorded"
    assert not watched.unexpected_errors()


def test_server_restart_reconnects_and_keeps_layouts(stack: Stack, watched: Watched) -> None:
    """perspective_server.py stopped with SIGINT and started again on the same port: the page
    says it lost the connection, reconnects by itself (status "reconnected"), shows new rows
    again, and every panel keeps its layout, including a user change made before the restart.

    Guards against: a page that needs a manual reload after a server restart, viewers stuck on
    the dead connection, layouts lost on reconnect. While the server is down Chromium logs its
    own "connection refused" errors for each attempt; those (and only those) are allowed."""
    page = open_dashboard(watched, stack.url)
    page.evaluate("""async () => {
        const viewer = document.querySelector('[data-panel=trades] perspective-viewer');
        await viewer.restore({filter: [['volume', '>', 0]]});
    }""")
    before = {panel: steady(h.layout(page, panel)) for panel in h.PANELS}
    stack.stop_server()
    page.wait_for_function("dashboard.state !== 'live'", timeout=10_000)
    assert h.status(page)["state"] in ("reconnecting", "offline")
    stack.start_server()
    h.wait_live(page, connections=2, timeout=20)
    assert "reconnected" in h.status(page)["text"]
    rows = h.wait_grid_rows(page, "trades", minimum=1)
    h.wait_grid_change(page, "trades", rows)
    h.wait_shown(page)
    for panel in h.PANELS:
        assert steady(h.layout(page, panel)) == before[panel], panel
    assert not watched.unexpected_errors(allow=h.NETWORK_NOISE)
    page.click("#reset-all")
    page.wait_for_function("() => localStorage.getItem('prsp-viewer:panel:trades') === null")


def steady(layout: dict[str, Any]) -> dict[str, Any]:
    """A layout without the candles' range, which the page moves on with the newest candle."""
    return {**layout, "filter": [f for f in layout["filter"] if f[:2] != ["window_start", ">="]]}
