"""prsp-viewer.html over a table that is not the trades table: panels built from /config.json's schema.

Two kinds of test:
- against a meters stack (the stand-in, `producer.py --producer-dataset meters`, the server with
  TAOS_TABLENAME=meters, taosBenchmark's schema: ts, current, voltage, phase; tags groupid,
  location; one subtable per device). Skipped while producer.py has no --producer-dataset, as the
  generic server and that producer land separately;
- against the trades stack with its /config.json rewritten in the browser to describe another
  schema (a column left out, so the page does not take it for trades): the page's side of the
  contract (wait while the schema is null, panels from the schema, storage keys per table),
  runnable before the generic server exists. It cannot show that a real server sends that.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import harness as h
from tests.browser.test_history_panel import open_history
from tests.browser.test_history_panel import rows as history_rows
from tests.processes import server_config

# The live table's four, then per minute over the day from the 1-minute rollup table.
GENERIC_PANELS = ("latest", "groups", "over_time", "counts", "minutes", "minute_stats")
GENERIC_CHARTS = ("over_time", "counts", "minutes")
# Charts with marks from the first rows on (a per-minute line needs two minutes of rows).
DRAWN_AT_ONCE = ("over_time", "counts")


@pytest.fixture(scope="module")
def meters() -> Iterator[h.Stack]:
    env = {"TAOS_TABLENAME": "meters"}
    with h.Stack(database="anytable", env=env, producer_args=["--producer-dataset", "meters"]) as running:
        yield running


# --- reading the page ---------------------------------------------------------------------------

def open_page(watched: h.Watched, url: str, panels: tuple[str, ...] = GENERIC_PANELS) -> Any:
    """The page at ``url``, live, every panel's plugin drawn."""
    page = watched.page
    page.goto(url)
    h.wait_live(page)
    for panel in panels:
        page.wait_for_function(
            "(panel) => { const v = document.querySelector(`[data-panel=${panel}] perspective-viewer`);"
            " return v && [...v.children].some((c) =>"
            " /^PERSPECTIVE-VIEWER-(DATAGRID|CHARTS)/.test(c.tagName)); }",
            arg=panel, timeout=20_000)
    h.wait_shown(page)
    return page


def panel_names(page: Any) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('[data-panel]')].map((s) => s.dataset.panel)")


def columns_named(layout: dict[str, Any]) -> set[str]:
    """Every table column a layout refers to: directly, or inside its expressions ("col")."""
    expressions = layout.get("expressions") or {}
    names = {c for c in layout.get("columns") or [] if c} | set(layout.get("group_by") or [])
    names |= set(layout.get("split_by") or []) | {s[0] for s in layout.get("sort") or []}
    names |= {f[0] for f in layout.get("filter") or []} | set(layout.get("aggregates") or {})
    names -= set(expressions)
    for expression in expressions.values():
        names |= set(re.findall(r'"([^"]+)"', expression))
    return names


def assert_panels_fit(page: Any, panels: tuple[str, ...]) -> None:
    """Every column a panel's layout names is in the table its viewer reads (the live table, or
    a rollup table)."""
    for panel in panels:
        missing = columns_named(h.layout(page, panel)) - set(h.viewer_schema(page, panel))
        assert not missing, f"{panel} refers to columns the table lacks: {missing}"


def storage_keys(page: Any) -> list[str]:
    return page.evaluate("Object.keys(localStorage)")


# --- the meters stack (skipped until the generic server and the meters producer are merged) -----

def test_meters_served_page_builds_its_panels_from_the_schema(meters: h.Stack, watched: h.Watched) -> None:
    """Served over a meters table: the six generic panels (latest rows, per device, current over
    time, rows by location; per minute: average current per location, every measure's average,
    min and max) render, the charts draw, every layout names only columns the table it reads
    has, and the title names the table.

    Guards against: the trades layouts applied to another table (unknown columns: empty panels,
    console errors), a schema the page misreads, a title that still says trades. It cannot judge
    whether the panels are the most useful ones for meters."""
    config = server_config(meters.port)
    assert config["schema"] and "tbname" in config["schema"], config
    page = open_page(watched, meters.url)
    assert panel_names(page) == list(GENERIC_PANELS)
    h.wait_grid_rows(page, "latest", minimum=3)
    h.wait_grid_rows(page, "groups", minimum=2)
    assert h.plugin_name(page, "over_time").startswith("perspective-viewer-charts-")
    assert h.plugin_name(page, "counts") == "perspective-viewer-charts-y-bar"
    page.wait_for_timeout(1500)  # the charts draw after their data arrives
    for panel in DRAWN_AT_ONCE:
        assert h.coloured_pixels(page, panel) > 500, f"{panel}: the chart drew nothing"
    assert_panels_fit(page, GENERIC_PANELS)
    assert config["source"] in page.title() and config["source"] in page.text_content("h1")
    assert not watched.unexpected_errors()


def test_meters_per_minute_panels_read_the_minute_rollup(meters: h.Stack, watched: h.Watched) -> None:
    """Over meters, the per-minute panels read the 1-minute rollup table: a line per location of
    the average current per minute, and a grid of every measure's average, min and max per
    minute and location, the newest minute first, minute-aligned, with min <= average <= max in
    every row and only locations TDengine has; both titles say "Last 24 hours, per minute".

    Guards against: no per-minute panels for a table that is not trades, an average from the
    wrong columns (outside its window's min and max), a split by something else than a tag. It
    cannot show the averages equal TDengine's (rows keep landing in the current minute): the
    trades' totals test compares the same weighted mean with SQL."""
    page = open_page(watched, meters.url)
    assert h.plugin_name(page, "minutes") == "perspective-viewer-charts-y-line"
    for panel in ("minutes", "minute_stats"):
        assert h.layout(page, panel)["title"].startswith("Last 24 hours, per minute"), panel
    locations = {location for (location,) in
                 meters.query("SELECT location FROM anytable.meters PARTITION BY location")}
    chart = h.view_columns(page, "minutes")
    assert chart["__ROW_PATH__"], "no minute in the chart"
    assert {name.split("|")[0] for name in chart if "|" in name} <= locations
    grid = h.view_columns(page, "minute_stats")
    rows = [(path, i) for i, path in enumerate(grid["__ROW_PATH__"]) if len(path) == 2]  # minute, location
    starts = [start for (start, _), _ in rows]
    assert rows and all(start % 60_000 == 0 for start in starts) and starts == sorted(starts, reverse=True)
    assert {location for (_, location), _ in rows} <= locations
    for measure in ("current", "voltage", "phase"):
        for path, i in rows:
            low, average, high = (grid[f"{stat} {measure}"][i] for stat in ("min", "avg", "max"))
            assert low - 1e-9 <= average <= high + 1e-9, (measure, path, low, average, high)
    assert not watched.unexpected_errors()


def test_meters_rows_are_tdengine_rows_and_move(meters: h.Stack, watched: h.Watched) -> None:
    """The latest-rows grid shows rows the producer wrote (matched by device and voltage, read
    back from the stand-in), newest first, and its top row changes as rows arrive; the
    per-device panel has one row per device.

    Guards against: a page that renders but shows nothing live, or made-up rows."""
    page = open_page(watched, meters.url)
    first = h.wait_grid_rows(page, "latest", minimum=3)
    columns = h.layout(page, "latest")["columns"]
    device, voltage = columns.index("tbname"), columns.index("voltage")
    written = {(name, str(volts))
               for name, volts in meters.query("SELECT tbname, voltage FROM anytable.meters")}
    shown = {(row[device], row[voltage].replace(",", "")) for row in first}
    assert shown & written, f"no grid row is a row in TDengine: {first[:3]}"
    devices = {name for name, _ in written}
    groups = h.wait_grid_rows(page, "groups", minimum=2)
    assert any(cell in devices for row in groups for cell in row), groups[:3]
    later = h.wait_grid_change(page, "latest", first)
    assert later[0] != first[0]
    assert not watched.unexpected_errors()


def test_meters_layouts_are_saved_under_the_table(meters: h.Stack, watched: h.Watched) -> None:
    """A change to a meters panel is saved under a key naming the table, survives a reload, and
    Reset forgets it; no trades key (prsp-viewer:panel:…) is written or read.

    Guards against: a trades layout saved on the same origin being restored into a meters table
    (and the reverse) when TAOS_TABLENAME changes."""
    source = server_config(meters.port)["source"]
    key = f"prsp-viewer:{source}:panel:groups"
    page = open_page(watched, meters.url)
    page.evaluate("document.querySelector('[data-panel=groups] perspective-viewer')"
                  ".restore({filter: [['voltage', '>', 0]]})")
    page.wait_for_function("(key) => localStorage.getItem(key) !== null", arg=key, timeout=10_000)
    assert not [k for k in storage_keys(page) if k.startswith("prsp-viewer:panel:")]
    page.reload()
    h.wait_live(page)
    restored = h.wait_until(lambda: h.layout(page, "groups")["filter"], bool)
    assert restored == [["voltage", ">", 0]]
    page.click("[data-panel=groups] button.reset")
    page.wait_for_function("(key) => localStorage.getItem(key) === null", arg=key, timeout=10_000)
    assert h.layout(page, "groups")["filter"] == []
    assert not watched.unexpected_errors()


def test_meters_from_disk_shows_tables_instead_of_charts(meters: h.Stack, watched: h.Watched) -> None:
    """From disk the two chart panels are pivots with the note linking to the served page, and
    the grid updates live.

    Guards against: a generic chart chosen from disk (blank, with worker errors logged)."""
    page = open_page(watched, meters.file_url)
    first = h.wait_grid_rows(page, "latest", minimum=3)
    h.assert_charts_are_tables(page, GENERIC_PANELS, GENERIC_CHARTS, meters.url)
    h.wait_grid_change(page, "latest", first)
    assert not watched.unexpected_errors()


def test_meters_history_has_buckets_and_every_row(meters: h.Stack, watched: h.Watched) -> None:
    """The History tab over meters: averages per device per minute, and every row in a grid; the
    trades' volume-by-client panel is not there.

    Guards against: the trades history layouts (ticker, client, OHLC columns) sent to a meters
    history, which the history server refuses with an error."""
    page = open_page(watched, meters.url)
    open_history(page)
    names = page.evaluate("[...document.querySelectorAll('[data-history]')].map((s) => s.dataset.history)")
    assert names == ["buckets", "rows"]
    devices = {row[0] for row in meters.query("SELECT tbname FROM anytable.meters")}
    for name in names:
        shown = history_rows(page, name, minimum=2)
        assert any(cell in devices for row in shown for cell in row), (name, shown[:3])
    assert not watched.unexpected_errors()


def test_meters_requests_go_only_to_the_server(meters: h.Stack, watched: h.Watched) -> None:
    """Served and from disk, every request goes to the server (or is file:, data:, blob:).

    Guards against: a generic layout pulling in something from elsewhere (a plugin, a font)."""
    for url in (meters.url, meters.file_url):
        watched.requests.clear()
        h.wait_grid_rows(open_page(watched, url), "latest", minimum=1)
        assert watched.requests, "no request recorded"
        assert not watched.foreign_requests(meters.address), url
    assert not watched.unexpected_errors()


# --- the page's side of the contract, on the trades stack (runs now) ----------------------------

# The trades table without `client`: not the trades table to the page, and every column real.
OTHER_SCHEMA = {"timestamp": "datetime", "ticker": "string", "open": "float", "high": "float", "low": "float",
                "close": "float", "volume": "integer", "date": "datetime"}
OTHER_SOURCE = "browser.other"


def describe_another_table(page: Any, waits: int) -> None:
    """Rewrites the page's /config.json: `schema: null` for the first ``waits`` requests (a server
    that has not found its table yet), then OTHER_SCHEMA, tagged by ticker."""
    def describe(config: dict[str, Any], reply: int) -> None:
        config.update(schema=None if reply <= waits else OTHER_SCHEMA, tags=["ticker"], source=OTHER_SOURCE)

    h.rewrite_config(page, describe)


def test_page_waits_for_the_schema_then_fits_its_panels_to_it(stack: h.Stack, watched: h.Watched) -> None:
    """While /config.json's schema is null the status line says the page waits for the table;
    then the panels are the generic ones, fitted to the schema (no column it lacks), the title
    names the table, layouts are saved under keys naming it, and nothing logs an error.

    Guards against: a page that gives up or shows trades panels before the server knows its
    table, generic layouts naming a missing column, layouts saved under the trades keys. The
    schema is rewritten in the browser, so this tests the page, not the server's discovery."""
    page = watched.page
    describe_another_table(page, waits=3)
    page.goto(stack.url)
    page.wait_for_function("document.getElementById('status').textContent.includes('waiting for')",
                           timeout=20_000)
    assert OTHER_SOURCE in h.status(page)["text"]
    h.wait_live(page)  # connected while it waits (the status line says for what)
    page.wait_for_function("Object.keys(dashboard.panels).length > 0", timeout=20_000)  # by itself
    assert panel_names(page) == list(GENERIC_PANELS)
    h.wait_grid_rows(page, "latest", minimum=3)
    h.wait_grid_rows(page, "groups", minimum=2)
    h.wait_shown(page)  # the rollup panels too
    assert_panels_fit(page, GENERIC_PANELS)
    assert OTHER_SOURCE in page.title() and OTHER_SOURCE in page.text_content("h1")
    page.evaluate("document.querySelector('[data-panel=latest] perspective-viewer')"
                  ".restore({filter: [['volume', '>', 0]]})")
    key = f"prsp-viewer:{OTHER_SOURCE}:panel:latest"
    page.wait_for_function("(key) => localStorage.getItem(key) !== null", arg=key, timeout=10_000)
    assert not [k for k in storage_keys(page) if k.startswith("prsp-viewer:panel:")]
    page.click("#reset-all")
    page.wait_for_function("(key) => localStorage.getItem(key) === null", arg=key, timeout=10_000)
    assert not watched.unexpected_errors()
