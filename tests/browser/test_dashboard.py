"""prsp-viewer.html against the real stack, served over http and opened from disk.

The tests share one stack and one browser and run in file order; the last two restart the
server, then stop the producer.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser import harness as h
from tests.browser.harness import Stack, Watched

CANDLE_COLUMNS = ("open_first", "close_last", "high_max", "low_min")
CANDLES_SELECT = "[data-panel=candles] select"


def candles(page: Any) -> list[tuple[Any, ...]]:
    """The candles panel's candles as its view holds them: (window start in ms, open, close,
    high, low), oldest first (the total row of a grid, from disk, left out)."""
    columns = h.view_columns(page, "candles")
    rows = zip(columns["__ROW_PATH__"], *(columns[name] for name in CANDLE_COLUMNS))
    return [(path[0], *values) for path, *values in rows if path]


def candle_filter(page: Any) -> tuple[str, int]:
    """The candles' ticker and the start of their range, from the panel's filter."""
    filters = {(column, op): value for column, op, value in h.layout(page, "candles")["filter"]}
    return filters[("ticker", "==")], filters[("window_start", ">=")]


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


def test_candles_show_one_ticker_and_move(stack: Stack, watched: Watched) -> None:
    """The candles panel shows 1-second candles of one ticker (the one its selector says) over the
    1-second rollup table, in the plugin's column order (open, close, high, low), and they move
    as rows land: a new candle, or the last one changed, without a reload; the chart draws
    coloured marks.

    Guards against: the rollup table not replicated or not followed (candles that never move),
    the columns in another order, a selector that says another ticker than the one shown. That
    the numbers equal TDengine's is the last test's (the producer's random trades do not keep
    low <= open <= high, so the candles cannot be checked against themselves)."""
    page = open_dashboard(watched, stack.url)
    layout = h.layout(page, "candles")
    assert layout["plugin"] == "Candlestick" and layout["group_by"] == ["window_start"]
    assert layout["columns"] == list(CANDLE_COLUMNS)
    ticker, _since = candle_filter(page)
    assert page.input_value(f"{CANDLES_SELECT}.ticker") == ticker
    assert page.input_value(f"{CANDLES_SELECT}.window") == "stock_values_1s"
    assert h.viewer_schema(page, "candles")["ticker"] == "string"  # the rollup table, not the live one
    first = h.wait_until(lambda: candles(page), bool)
    assert first, "no candle"
    assert all(isinstance(value, float) for candle in first for value in candle[1:]), first[-1]
    later = h.wait_until(lambda: candles(page), lambda shown: shown[-1] != first[-1])
    assert later[-1] != first[-1], "the candles did not move"
    assert later[-1][0] >= first[-1][0]
    assert h.coloured_pixels(page, "candles") > 500, "the candles drew nothing"
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


def test_candle_window_and_ticker_survive_reload(stack: Stack, watched: Watched) -> None:
    """The candles' window selector (1-minute) and ticker selector (another ticker) are saved
    with the panel's layout, as is a change to the all-time totals (a sort): after a reload the
    selectors, the table shown and the title say the same, and the totals are still sorted;
    Reset brings back 1-second candles and forgets the saved layout.

    Guards against: a window choice kept in memory only, a saved layout whose table is dropped
    (the live panels' tables are not saved), a restore that puts the default back over the
    saved choice. The selectors are set as a user would (select_option), the totals' sort
    through viewer.restore()."""
    page = open_dashboard(watched, stack.url)
    tickers = page.eval_on_selector_all(f"{CANDLES_SELECT}.ticker option",
                                        "(options) => options.map((o) => o.value)")
    chosen = tickers[1]
    page.select_option(f"{CANDLES_SELECT}.window", "stock_values_1m")
    page.select_option(f"{CANDLES_SELECT}.ticker", chosen)
    page.wait_for_function("(ticker) => { const saved = localStorage.getItem(`prsp-viewer:panel:candles`);"
                           " return (saved || '').includes('stock_values_1m')"
                           " && saved.includes(`${ticker} in 1-minute`); }", arg=chosen, timeout=20_000)
    page.evaluate("document.querySelector('[data-panel=totals] perspective-viewer')"
                  ".restore({sort: [['trades', 'desc']]})")
    page.wait_for_function("(localStorage.getItem('prsp-viewer:panel:totals') || '').includes('desc')",
                           timeout=10_000)
    page.reload()
    h.wait_live(page)
    h.wait_shown(page)
    assert page.input_value(f"{CANDLES_SELECT}.window") == "stock_values_1m"
    assert page.input_value(f"{CANDLES_SELECT}.ticker") == chosen
    assert h.layout(page, "candles")["title"] == f"Last 4 hours: {chosen} in 1-minute candles"
    assert h.viewer_schema(page, "candles") and candles(page), "no 1-minute candle"
    assert h.layout(page, "totals")["sort"] == [["trades", "desc"]]
    page.click("[data-panel=candles] button.reset")
    page.wait_for_function("document.querySelector('[data-panel=candles] select.window').value"
                           " === 'stock_values_1s'"
                           " && localStorage.getItem('prsp-viewer:panel:candles') === null", timeout=20_000)
    assert h.layout(page, "candles")["title"].endswith("in 1-second candles")
    page.click("[data-panel=totals] button.reset")
    page.wait_for_function("localStorage.getItem('prsp-viewer:panel:totals') === null", timeout=10_000)
    assert not watched.unexpected_errors()


def test_without_rollups_the_page_keeps_the_live_panels(stack: Stack, watched: Watched) -> None:
    """/config.json listing no rollup tables (as PERSPECTIVE_ROLLUPS="" makes it): the four live
    panels, the per-ticker pivot over the live table and its title saying so, no candles, no
    note saying the page waits for anything, status "live", no error.

    Guards against: a page that waits for rollup tables no one makes, names them in its
    layouts, or says something is wrong. The config is rewritten in the browser: the server
    here has rollups (tests/serve checks what a server without them sends)."""
    page = watched.page
    h.rewrite_config(page, lambda config, _reply: config.update(rollups=[]))
    page.goto(stack.url)
    h.wait_live(page)
    h.wait_shown(page)
    names = page.evaluate("[...document.querySelectorAll('[data-panel]')].map((s) => s.dataset.panel)")
    assert names == ["trades", "tickers", "prices", "clients"]
    h.wait_grid_rows(page, "tickers", minimum=2)
    assert h.layout(page, "tickers")["title"].startswith("Last 1,000 trades, per ticker")
    assert page.locator(".panel .note:visible, .panel .wait:visible").count() == 0
    assert h.status(page)["state"] == "live" and "waiting" not in h.status(page)["text"]
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


def totals(page: Any) -> dict[str, dict[str, float]]:
    """ticker -> the all-time totals panel's numbers (trades, total volume, …)."""
    columns = h.view_columns(page, "totals")
    names = [name for name in columns if name != "__ROW_PATH__"]
    return {path[0]: {name: columns[name][i] for name in names}
            for i, path in enumerate(columns["__ROW_PATH__"]) if path}


def test_totals_and_candles_equal_sql_once_the_producer_stops(stack: Stack, watched: Watched) -> None:
    """The all-time totals grow while rows land; once the producer stopped and the page caught
    up, they equal TDengine's answer over every trade ever written (`SELECT ticker, COUNT(*),
    SUM(volume), AVG(close), MIN(low), MAX(high) … PARTITION BY ticker`, through taosws), and every
    candle shown equals TDengine's FIRST(open), LAST(close), MAX(high), MIN(low) of its second.

    Guards against: totals over part of history (the live table's 1,000 rows, or a rollup
    table that expires windows), an average of averages (a plain mean of the windows'
    averages), a candle column mapped to the wrong aggregate. The rollups' own exactness under
    late rows and restarts is tests/rollups' to show. Stops the producer: the module's last test."""
    page = open_dashboard(watched, stack.url)
    first = h.wait_until(lambda: totals(page), bool)
    grown = h.wait_until(lambda: totals(page), lambda now: sum(t["trades"] for t in now.values())
                     > sum(t["trades"] for t in first.values()))
    assert sum(t["trades"] for t in grown.values()) > sum(t["trades"] for t in first.values())
    stack.producer.stop()
    sql = {ticker: {"trades": count, "total volume": volume, "avg price": avg, "low": low, "high": high}
           for ticker, count, volume, avg, low, high in stack.query(
               "SELECT ticker, COUNT(*), SUM(volume), AVG(`close`), MIN(low), MAX(high)"
               " FROM browser.stocks_values PARTITION BY ticker")}
    shown = h.wait_until(lambda: totals(page), lambda now: {t: v["trades"] for t, v in now.items()}
                     == {t: v["trades"] for t, v in sql.items()})
    assert {t: (v["trades"], v["total volume"]) for t, v in shown.items()} == {
        t: (v["trades"], v["total volume"]) for t, v in sql.items()}
    for ticker, values in sql.items():
        assert shown[ticker] == pytest.approx(values, rel=1e-9), ticker
    ticker, since = candle_filter(page)
    windows = [(start // 1000, *values) for name, start, *values in stack.query(
        "SELECT ticker, CAST(_wstart AS BIGINT), FIRST(`open`), LAST(`close`), MAX(high), MIN(low)"
        " FROM browser.stocks_values PARTITION BY ticker INTERVAL(1000a)")
        if name == ticker and start // 1000 >= since]
    # Wait for every candle, not only their count: the page's replica of the 1 s table gets its
    # last update on its own, possibly after the totals' (seen in CI: the newest second's candle
    # read before its last rows).
    shown_candles = h.wait_until(lambda: candles(page), lambda now: len(now) == len(windows) and all(
        candle == pytest.approx(window, rel=1e-6) for candle, window in zip(now, windows)))
    assert [c[0] for c in shown_candles] == [w[0] for w in windows]
    for candle, window in zip(shown_candles, windows):
        assert candle == pytest.approx(window, rel=1e-6), candle[0]
    assert not watched.unexpected_errors()
