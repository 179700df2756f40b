"""The page opened before perspective_server.py runs (its own module: it needs its own stack)."""

from __future__ import annotations

from tests.browser import harness as h
from tests.processes import REPO_ROOT, free_port


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
