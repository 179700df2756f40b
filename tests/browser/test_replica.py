"""The served page holds a replica: one server view per page, the panels read the browser's copy.

One stack (table limit 60, so the limit is reached within seconds) and one browser for the module.
"""

from __future__ import annotations

import re
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import harness as h
from tests.browser.harness import Stack, Watched

LIMIT = 60
PAGES = 3


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with Stack(database="replica", settings={"PERSPECTIVE_TABLE_LIMIT": str(LIMIT)}) as running:
        yield running


def server_views(stack: Stack) -> int:
    """Views open on the server's live and history tables, from its /metrics."""
    with urllib.request.urlopen(f"{stack.url}metrics", timeout=10) as reply:
        text = reply.read().decode()
    return int(float(re.search(r"^tdpersp_views (\S+)$", text, re.M).group(1)))


def replica_size(page: Any) -> dict[str, Any]:
    return page.evaluate("(async () => { const r = dashboard.replica;"
                         " return {limit: r.limit, size: await r.table.size()}; })()")


def test_several_pages_are_live_with_one_server_view_each(stack: Stack, browser: Any) -> None:
    """Three served pages at once: each goes live, each trades grid shows new rows as the producer
    writes, and the server holds one view per page (not one per panel: 4 per page before).

    Guards against: panels reading the server's table again (views = 4 per page), a replica
    that stops following the server (grid never changes), pages that block each other.
    It cannot prove the browser's pivots equal the server's; test_dashboard checks the panels."""
    watched = [h.watch(browser) for _ in range(PAGES)]
    try:
        for one in watched:
            one.page.goto(stack.url)
        for one in watched:
            h.wait_live(one.page)
            assert one.page.evaluate("dashboard.replica.replicas") == 1
        for one in watched:
            before = h.wait_grid_rows(one.page, "trades", minimum=3)
            h.wait_grid_change(one.page, "trades", before)
            h.wait_grid_rows(one.page, "tickers", minimum=2)
        assert server_views(stack) == PAGES
        for one in watched:
            assert not one.unexpected_errors()
    finally:
        for one in watched:
            one.page.close()


def test_replica_keeps_the_servers_limit(stack: Stack, watched: Watched) -> None:
    """The browser's copy holds at most the server table's limit of rows while rows keep coming.

    Guards against: a local table made without {limit}, which keeps every row it is sent and
    grows without bound in a long-open page."""
    page = watched.page
    page.goto(stack.url)
    h.wait_live(page)
    page.wait_for_function(f"dashboard.replica.table.size().then((n) => (window.__size = n) >= {LIMIT})",
                           polling=500, timeout=30_000)
    first = replica_size(page)
    before = h.wait_grid_rows(page, "trades", minimum=3)
    h.wait_grid_change(page, "trades", before)
    after = replica_size(page)
    assert first["limit"] == LIMIT
    assert first["size"] == after["size"] == LIMIT, (first, after)


def test_reconnect_builds_a_fresh_replica(stack: Stack, watched: Watched) -> None:
    """After the server restarts, the page builds a new replica on the new connection, whose
    rows keep updating, in a new engine, and the server holds one view for it.

    Guards against: panels left on the dead connection's copy (frozen grid), or a reconnect
    that fails to create the new copy because the old one (same name) is still there, or old
    engines' workers piling up (one per reconnect)."""
    page = watched.page
    page.goto(stack.url)
    h.wait_live(page)
    page.evaluate("window.__old = dashboard.replica.engine")
    workers = len(page.workers)
    stack.stop_server()
    stack.start_server()
    h.wait_live(page, connections=2, timeout=60)
    assert page.evaluate("dashboard.replica.replicas") == 2
    assert page.evaluate("dashboard.replica.engine !== window.__old") is True
    assert len(page.workers) == workers, "the old replica's worker was not ended"
    before = h.wait_grid_rows(page, "trades", minimum=3)
    h.wait_grid_change(page, "trades", before)
    assert server_views(stack) == 1
    assert not watched.unexpected_errors(allow=h.NETWORK_NOISE)
