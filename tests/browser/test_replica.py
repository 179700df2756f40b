"""The served page holds replicas: one server view per table it shows, every panel computed in the browser.

Real Chromium against the real server, stand-in and producer. What the server holds for each
page is read from its /metrics (tdpersp_views, tdpersp_viewers), as an operator would.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import harness as h
from tests.processes import Program, free_port, taos_env, wait_for_server
from tests.standin.fixture import StandInProcess


def metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        for line in reply.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


@pytest.fixture
def served() -> Iterator[tuple[StandInProcess, dict[str, str], int]]:
    """A stand-in and a server on it (no producer yet)."""
    with StandInProcess() as standin:
        env = taos_env(standin.host, standin.port, database="replica")
        port = free_port()
        with Program("perspective_server.py", env | {"PERSPECTIVE_PORT": str(port)}):
            wait_for_server(port)
            yield standin, env, port


# Until TDengine has the table, the server hosts none, and the page (connected) has no replica yet.
REPLICA = """async () => (dashboard.replica ? {size: await dashboard.replica.size(),
  newest: (await (await dashboard.replica.view({sort: [['timestamp', 'desc']]})).to_columns(
           {start_row: 0, end_row: 1})).timestamp[0]} : {size: 0, newest: null})"""


def test_pages_hold_a_bounded_replica_and_ask_the_server_for_one_view_each(served: Any) -> None:
    """Guards the replicas: three served pages go live together, each asks the server for exactly
    one view per table it shows (the live table, and the rollup tables its candles and totals
    read: not one per panel), and each page's replica keeps the server table's 1,000-row limit
    while 4,000 rows flow, ending with the server's newest row. It cannot prove the panels'
    pivots are right (the dashboard tests check what they show)."""
    standin, env, port = served
    with h.chromium() as browser:
        pages = [h.watch(browser).page for _ in range(3)]
        for page in pages:
            page.goto(f"http://127.0.0.1:{port}/")
        for page in pages:
            h.wait_live(page)  # connected before the table exists; the replica comes with it
        with Program("producer.py", env | {"PRODUCER_RATE": "1000", "PRODUCER_COUNT": "4000"}) as producer:
            sizes = []
            while producer.proc.poll() is None:
                sizes += [page.evaluate(REPLICA)["size"] for page in pages]
                time.sleep(0.3)
        for page in pages:
            h.wait_shown(page)
        assert metric(port, "tdpersp_viewers") == 3
        # Per page: the live table, stock_values_1s (the candles) and stock_values_1h (the totals).
        assert metric(port, "tdpersp_views") == 3 * 3
        assert sizes and max(sizes) <= 1000
        time.sleep(1.5)  # the last rows reach the server table and the replicas
        server_newest = newest_in_tdengine(standin)
        for page in pages:
            replica = page.evaluate(REPLICA)
            assert replica == {"size": 1000, "newest": server_newest}


def tdengine_value(standin: StandInProcess, sql: str) -> Any:
    """The one value `sql` selects, from the stand-in."""
    import taosws

    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    try:
        ((value,),) = conn.query(sql)
    finally:
        conn.close()
    return value


def newest_in_tdengine(standin: StandInProcess) -> float:
    """The newest trade's timestamp in epoch milliseconds, as the replica holds timestamps."""
    newest = tdengine_value(standin, "SELECT CAST(MAX(`timestamp`) AS BIGINT) FROM replica.stocks_values")
    return newest // 1000


def test_the_page_from_disk_keeps_server_side_panels(served: Any) -> None:
    """Guards the file:// fallback: a module worker cannot start there, so the page from disk has
    no replica and each of its five panels holds its own view on the server."""
    _standin, env, port = served
    with h.chromium() as browser, Program("producer.py", env | {"PRODUCER_COUNT": "500"}) as producer:
        producer.wait()
        page = h.watch(browser).page
        page.goto(f"{h.PAGE_FILE.as_uri()}?server=127.0.0.1:{port}")
        h.wait_live(page)
        h.wait_shown(page)
        assert page.evaluate("dashboard.replica === undefined")
        assert metric(port, "tdpersp_views") == len(h.PANELS)


def test_a_page_that_connects_mid_stream_copies_every_row_once() -> None:
    """Guards the page's copy against the moment it is made: pages open while 1,000 rows/s flow into
    a live table that keeps every row, and each page's replica must end with exactly the rows
    TDengine holds. Perspective's own table(view) loads the view and only then follows its
    updates, so whatever the server applied in between was missing (the edge server's copy,
    tdpersp/edge/copy.py, measured it); the count catches a row missing or held twice."""
    with StandInProcess() as standin:
        env = taos_env(standin.host, standin.port, database="replica")
        port = free_port()
        server_env = env | {"PERSPECTIVE_PORT": str(port), "PERSPECTIVE_TABLE_LIMIT": "100000",
                            "PERSPECTIVE_ROLLUPS": ""}
        with Program("perspective_server.py", server_env), h.chromium() as browser, \
                Program("producer.py", env | {"PRODUCER_RATE": "1000", "PRODUCER_DURATION": "6",
                                              "PRODUCER_INTERVAL": "0.02"}) as producer:
            wait_for_server(port)
            time.sleep(2)
            pages = []
            for _ in range(3):
                page = h.watch(browser).page
                page.goto(f"http://127.0.0.1:{port}/")
                pages.append(page)
                time.sleep(0.7)
            assert producer.wait(timeout=60) == 0, producer.output
            stored = tdengine_value(standin, "SELECT COUNT(*) FROM replica.stocks_values")
            held = [h.wait_until(lambda page=page: page.evaluate(REPLICA)["size"],
                                 lambda size: size >= stored, timeout=60) for page in pages]
            time.sleep(1)  # anything held twice would have come by now
            assert [page.evaluate(REPLICA)["size"] for page in pages] == [stored] * len(pages), held
