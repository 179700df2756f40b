"""What many dashboards cost perspective_server.py: four server-side views each, or one replica.

Starts the stand-in TDengine, producer.py at --rate rows/s and perspective_server.py, then for each
N in --dashboards and each mode keeps N simulated dashboards connected (Perspective Python
clients over real websockets, in this process, not the server's) while it measures:

  server CPU   perspective_server.py's own process (not its reader child), % of one core
  lag p50/p99  wall time from a row's timestamp (producer.py stamps it when it writes) until
               a separate probe viewer sees it as the newest row
  connect      how long one more dashboard takes to connect and get its first answers
  RSS          perspective_server.py's resident memory at the end of the window

Modes, as prsp-viewer.html behaves:
  server   the page opened from disk: four views (the page's panels) on the server, each
           re-read (first 50 rows, as a grid would) after every update
  replica  the served page: one flat view, copied once (to_arrow), then its row deltas
           (on_update mode "row"), which the browser applies to its own table

Then a flooding case: N replicas plus one client that opens views past PERSPECTIVE_MAX_VIEWS
and sends malformed frames in a loop, to show what it costs the other viewers.

    venv/bin/python bench/viewers.py [--dashboards 5 10 20] [--rate 1000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import tornado.httpclient
import tornado.websocket

from tests.perspective_client import remote_client
from tests.processes import Program, free_port, taos_env, wait_for_server
from tests.standin.fixture import StandInProcess

TABLE = "stock_values"
# The page's four live panels (prsp-viewer.html DEFAULTS), as view arguments.
PANEL_VIEWS: list[dict[str, Any]] = [
    {"sort": [["timestamp", "desc"]]},
    {"group_by": ["ticker"], "columns": ["close", "volume"],
     "aggregates": {"close": "last", "volume": "sum"}},
    {"split_by": ["ticker"], "columns": ["timestamp", "close"]},
    {"group_by": ["client"], "columns": ["volume"], "aggregates": {"volume": "sum"},
     "sort": [["volume", "desc"]]},
]
GRID_ROWS = 50  # what a grid reads after an update (its first screen)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    dashboards: int
    mode: str
    cpu: float
    lag_p50: float
    lag_p99: float
    connect: float
    rss_mb: float


# --- one simulated dashboard --------------------------------------------------------------------

async def watch_server_views(client: Any) -> None:
    """Four views on the server, each re-read after every update (one read in flight per view)."""
    table = await client.open_table(TABLE)
    for arguments in PANEL_VIEWS:
        view = await table.view(**arguments)
        await view.to_columns(start_row=0, end_row=GRID_ROWS)
        await view.on_update(_coalesced(lambda view=view: view.to_columns(start_row=0, end_row=GRID_ROWS)))


async def watch_replica(client: Any) -> None:
    """One flat view: a full copy once, then its row deltas (what the browser's table applies)."""
    table = await client.open_table(TABLE)
    view = await table.view()
    await view.to_arrow()
    await view.on_update(lambda *delta: None, mode="row")


MODES: dict[str, Callable[[Any], Awaitable[None]]] = {"server": watch_server_views, "replica": watch_replica}


def _coalesced(read: Callable[[], Awaitable[Any]]) -> Callable[..., None]:
    """An update callback that starts `read` unless one is still running (as a grid redraws)."""
    busy = False

    async def run() -> None:
        nonlocal busy
        try:
            await read()
        finally:
            busy = False

    def on_update(*_: Any) -> None:
        nonlocal busy
        if not busy:
            busy = True
            asyncio.get_running_loop().create_task(run())
    return on_update


# --- the measuring side -------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def dashboards(url: str, mode: str, count: int) -> AsyncIterator[None]:
    async with contextlib.AsyncExitStack() as stack:
        for _ in range(count):
            client = await stack.enter_async_context(remote_client(url))
            await MODES[mode](client)
        yield


async def connect_time(url: str, mode: str) -> float:
    start = time.perf_counter()
    async with remote_client(url) as client:
        await MODES[mode](client)
        return time.perf_counter() - start


async def lags(url: str, seconds: float) -> list[float]:
    """Seconds from each newest row's timestamp until a viewer polling every 50 ms sees it."""
    seen: list[float] = []
    async with remote_client(url) as client:
        table = await client.open_table(TABLE)
        newest = await table.view(sort=[["timestamp", "desc"]], columns=["timestamp"])
        last = None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            top = (await newest.to_columns(start_row=0, end_row=1))["timestamp"]
            if top and top[0] != last:
                seen.append(time.time() - top[0] / 1000)
                last = top[0]
            await asyncio.sleep(0.05)
    return seen


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(url: str, pid: int, count: int, mode: str, seconds: float,
                  noise: Callable[[], Awaitable[None]] | None = None) -> Row:
    async with dashboards(url, mode, count):
        flood = asyncio.create_task(noise()) if noise else None
        await asyncio.sleep(1)  # let the first copies and reads settle
        cpu_before, start = cpu_seconds(pid), time.monotonic()
        seen = await lags(url, seconds)
        cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - start) * 100
        connect = await connect_time(url, mode)
        memory = rss_mb(pid)
        if flood:
            flood.cancel()
    quantiles = statistics.quantiles(seen, n=100) if len(seen) > 1 else [float("nan")] * 99
    name = mode + (" + flood" if noise else "")
    return Row(count, name, cpu, quantiles[49], quantiles[98], connect, memory)


async def flood(url: str) -> None:
    """A bad client: views until the cap refuses them, then junk frames; reconnects when cut off."""
    while True:
        with contextlib.suppress(Exception):
            async with remote_client(url) as client:
                table = await client.open_table(TABLE)
                for _ in range(200):
                    await table.view(group_by=["ticker"])
        with contextlib.suppress(Exception):
            conn = await tornado.websocket.websocket_connect(url)
            await conn.write_message(b"\xff" * 64, binary=True)
            await conn.read_message()
            conn.close()
        await asyncio.sleep(0)


# --- running it ---------------------------------------------------------------------------------

HEADER = f"{'N':>3}  {'mode':<16} {'server CPU':>10} {'lag p50':>8} {'lag p99':>8} {'connect':>8} {'RSS':>7}"


def print_row(r: Row | str) -> None:
    if isinstance(r, str):
        print(r, flush=True)
        return
    print(f"{r.dashboards:>3}  {r.mode:<16} {r.cpu:>9.0f}% {r.lag_p50:>7.2f}s {r.lag_p99:>7.2f}s"
          f" {r.connect:>7.2f}s {r.rss_mb:>5.0f}MB", flush=True)


def one_row(env: dict[str, str], count: int, mode: str, seconds: float, flooded: bool) -> Row | str:
    """A fresh perspective_server.py per row, so that rows do not inherit each other's state."""
    port = free_port()
    url = f"ws://127.0.0.1:{port}/websocket"
    with Program("perspective_server.py", env=env | {"PERSPECTIVE_PORT": str(port)}) as server:
        wait_for_server(port)
        noise = (lambda: flood(url)) if flooded else None
        try:
            return asyncio.run(asyncio.wait_for(
                measure(url, server.proc.pid, count, mode, seconds, noise), seconds + 60))
        except (TimeoutError, tornado.httpclient.HTTPClientError, OSError) as err:
            name = mode + (" + flood" if flooded else "")
            return f"{count:>3}  {name:<16} server stopped answering ({type(err).__name__})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dashboards", type=int, nargs="+", default=[5, 10, 20], help="N values")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--rate", type=int, default=1000, help="producer rows/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per row")
    arguments = parser.parse_args()
    plan = [(count, mode, False) for count in arguments.dashboards for mode in arguments.modes]
    plan.append((max(arguments.dashboards), "replica", True))
    with StandInProcess() as standin:
        env = taos_env(standin.host, standin.port, database="bench_viewers")
        with Program("producer.py", env=env | {"PRODUCER_RATE": str(arguments.rate)}):
            print(f"producer {arguments.rate} rows/s; {arguments.seconds:g} s per row; "
                  f"load average {os.getloadavg()[0]:.1f}\n{HEADER}", flush=True)
            for count, mode, flooded in plan:
                print_row(one_row(env, count, mode, arguments.seconds, flooded))


if __name__ == "__main__":
    main()
