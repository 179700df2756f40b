"""The History tab's picture for the README: ``./venv/bin/python -m tests.browser.history_screenshot``.

Starts the stand-in, producer.py and perspective_server.py (tests.browser.harness.Stack), writes
six hours of past trades through the real client (stmt2, tdpersp.writer), opens the served page
in headless Chromium, shows History by hour and writes imgs/history.png (``--out DIR`` to change).
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from tdpersp.core import trades
from tdpersp.core.tdconn import TaosConfig, connect
from tdpersp.core.writer import BatchWriter, ensure_schema
from tests.browser import harness as h
from tests.processes import REPO_ROOT

HOURS = 6
ROWS = 30_000


class PastClock:
    """Timestamps spread evenly over the last HOURS hours (the producer's clock is 'now')."""

    def __init__(self) -> None:
        self._step = HOURS * 3_600_000_000 // ROWS
        self._last = time.time_ns() // 1_000 - HOURS * 3_600_000_000

    def next(self) -> int:
        self._last += self._step
        return self._last


def write_past(stack: h.Stack) -> None:
    cfg = TaosConfig(stack.standin.host, stack.standin.port, stack.standin.user, stack.standin.password,
                     "screenshots", "stocks_values")
    conn = connect(cfg, use_database=False)
    precision = ensure_schema(conn, cfg, trades.TRADES)  # the producer may not have created it yet
    writer, clock, rng = BatchWriter(conn, cfg, trades.TRADES, precision), PastClock(), random.Random(1)
    for _ in range(ROWS // 1_000):
        writer.write(trades.make_batch(1_000, clock, rng))  # type: ignore[arg-type]
    writer.close()


def take(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with h.Stack(database="screenshots") as stack, h.chromium() as browser:
        write_past(stack)
        page = browser.new_page()
        page.goto(stack.url)
        h.wait_live(page)
        page.click("#history-tab")
        page.wait_for_function("dashboard.history.state === 'shown'", timeout=30_000)
        page.select_option("[data-history=ohlc] .bucket", "h")
        page.wait_for_timeout(3000)  # the chart's first frame
        path = out / "history.png"
        page.locator("#history").screenshot(path=str(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "imgs")
    print(take(parser.parse_args().out))


if __name__ == "__main__":
    main()
