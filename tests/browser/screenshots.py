"""Pictures of the dashboard for the README: ``./venv/bin/python -m tests.browser.screenshots``.

Starts the stand-in TDengine, producer.py and perspective_server.py (as the browser tests do),
opens prsp-viewer.html in headless Chromium (/usr/bin/chromium), waits for data and writes:

  imgs/dashboard.png            the served page (http://127.0.0.1:PORT/): grids and charts
  imgs/dashboard-candles.png    its candlestick panel alone, once it has CANDLES candles
  imgs/dashboard-from-disk.png  the same file opened from disk: charts shown as pivots
  imgs/panel-prices.png         the price-over-time chart alone
  imgs/panel-totals.png         the all-time per-ticker totals alone
  imgs/reconnecting.png         the status line while perspective_server.py is down
  imgs/dashboard-meters.png     the served page for taosBenchmark's `meters` (another table), once
                                its per-minute chart has MINUTES minutes (up to 3 minutes' wait)

Everything runs locally and is stopped at the end. Options: ``--out DIR``, ``--seconds N``
(how long the producer writes before the pictures; default 12).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tests.browser import harness as h
from tests.processes import REPO_ROOT, server_config

# 1-second candles in the candlestick picture: enough to look like a chart, about 40 s of trades.
CANDLES = 40
# Minutes in the meters picture's per-minute chart: a line needs two points, so up to 3 minutes.
MINUTES = 3


def wait_for_rows(stack: h.Stack, rows: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while server_config(stack.port)["feed"]["delivered"] < rows:
        if time.monotonic() > deadline:
            raise SystemExit(f"the server delivered fewer than {rows} rows in {timeout} s")
        time.sleep(0.25)


def served_page(browser: object, stack: h.Stack, seconds: float, grid: str) -> object:
    """The served page, live, once the producer has written for `seconds` and `grid` shows rows."""
    wait_for_rows(stack, int(seconds * h.PRODUCER_RATE), timeout=seconds * 3 + 20)
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(stack.url)
    h.wait_live(page)
    h.wait_grid_rows(page, grid, minimum=5)
    h.wait_shown(page)
    page.wait_for_timeout(1500)  # let the charts finish their first frame
    return page


def wait_for_windows(page: object, panel: str, count: int, timeout: float) -> None:
    """Until the chart `panel` (over a rollup table) shows `count` windows: candles, or minutes."""
    shown = h.wait_until(lambda: len(h.view_columns(page, panel)["__ROW_PATH__"]),
                         lambda windows: windows >= count, timeout)
    if shown < count:
        raise SystemExit(f"the {panel} panel showed {shown} windows in {timeout} s, not {count}")
    page.wait_for_timeout(1500)  # type: ignore[attr-defined]  # its next frame


def take(out: Path, seconds: float) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def shot(target: object, name: str) -> None:
        path = out / name
        target.screenshot(path=str(path))  # type: ignore[attr-defined]
        written.append(path)

    with h.Stack(database="screenshots") as stack, h.chromium() as browser:
        page = served_page(browser, stack, seconds, "trades")
        shot(page, "dashboard.png")
        shot(page.locator("[data-panel=prices]"), "panel-prices.png")
        shot(page.locator("[data-panel=totals]"), "panel-totals.png")
        wait_for_windows(page, "candles", CANDLES, timeout=CANDLES * 3 + 20)
        shot(page.locator("[data-panel=candles]"), "dashboard-candles.png")

        stack.stop_server()
        page.wait_for_function("dashboard.state !== 'live'", timeout=10_000)
        shot(page.locator("header"), "reconnecting.png")
        stack.start_server()
        h.wait_live(page, connections=2)

        disk = browser.new_page()
        disk.goto(stack.file_url)
        h.wait_live(disk)
        h.wait_grid_rows(disk, "prices", minimum=2)
        disk.wait_for_timeout(500)
        shot(disk, "dashboard-from-disk.png")
    meters = h.Stack(database="screenshots", env={"TAOS_TABLENAME": "meters"},
                     producer_args=["--producer-dataset", "meters"])
    with meters as stack, h.chromium() as browser:
        waited = served_page(browser, stack, seconds, "latest")
        wait_for_windows(waited, "minutes", MINUTES, timeout=MINUTES * 60 + 30)
        # A fresh page: the live charts' time axes only ever widen, so after minutes of rows those
        # on the page that waited span minutes while holding the last 25 seconds.
        shot(served_page(browser, stack, seconds, "latest"), "dashboard-meters.png")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "imgs", help="folder for the PNGs")
    parser.add_argument("--seconds", type=float, default=12.0, help="seconds of data before the pictures")
    args = parser.parse_args(argv)
    if h.CHROMIUM is None:
        print("no Chromium binary found (apt-get install chromium)", file=sys.stderr)
        return 1
    for path in take(args.out, args.seconds):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
