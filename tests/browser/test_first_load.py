"""Pages whose stack is not all there: no server yet, or a server that cannot reach TDengine (own stacks)."""

from __future__ import annotations

from tests.browser import harness as h
from tests.processes import REPO_ROOT, Program, free_port, taos_env, wait_for_server


def test_page_from_disk_waits_for_a_server_that_is_not_there_yet() -> None:
    """Opened from disk while nothing listens on the server's port, the page says the server is
    unreachable and keeps retrying the import of Perspective's code; once the stack starts on
    that port it goes live without a reload. The server address comes from ?server=, and the
    address typed in last is remembered.

    Guards against: a page that gives up (or throws) when its first import fails, and a browser
    that caches the failed module import. It cannot tell how long a user would wait: the retry
    interval is the page's (1 s)."""
    port = free_port()
    with h.chromium() as browser:
        watched = h.watch(browser)
        page = watched.page
        page.goto(f"{(REPO_ROOT / 'prsp-viewer.html').as_uri()}?server=127.0.0.1:{port}")
        page.wait_for_function("window.dashboard ? dashboard.state === 'offline'"
                               " : document.getElementById('status').dataset.state === 'offline'",
                               timeout=10_000)
        assert "retrying" in h.status(page)["text"]
        with h.Stack(port=port):
            h.wait_live(page, timeout=30)
            h.wait_grid_rows(page, "trades", minimum=1)
            page.goto((REPO_ROOT / "prsp-viewer.html").as_uri())  # no ?server=: the remembered one
            h.wait_live(page, timeout=30)
            assert page.input_value("#server") == f"127.0.0.1:{port}"
        assert not watched.unexpected_errors(allow=h.NETWORK_NOISE)


def test_the_status_line_says_what_the_feed_waits_for() -> None:
    """Guards the status line's feed state (issue 8 §3): a server that runs but cannot reach
    TDengine serves the page and its (empty) table, so the page is connected; the status line
    must still say, in words, that the feed waits for TDengine, from /config.json as /healthz
    reports it. It does not check how the state reads once TDengine comes back."""
    port = free_port()
    env = taos_env("127.0.0.1", free_port(), database="nowhere") | {"PERSPECTIVE_PORT": str(port)}
    with Program("perspective_server.py", env) as server, h.chromium() as browser:
        wait_for_server(port)
        server.wait_for("waiting for TDengine")
        watched = h.watch(browser)
        watched.page.goto(f"http://127.0.0.1:{port}/")
        h.wait_live(watched.page, timeout=30)
        watched.page.wait_for_function(
            "document.getElementById('status').textContent.includes('TDengine feed: waiting for TDengine')",
            timeout=15_000)
        feed = watched.page.evaluate("document.getElementById('status').dataset.feed")
        assert feed == "waiting for TDengine"
        assert not watched.unexpected_errors()
