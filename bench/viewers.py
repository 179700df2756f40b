"""What many dashboards cost perspective_server.py: four server-side views each, or one replica.

Starts the stand-in TDengine, producer.py at --rate rows/s and perspective_server.py, then for each
N in --dashboards and each mode keeps N simulated dashboards connected (Perspective Python
clients over real websockets, in this process, not the server's) while it measures:

  rows/s       rows the server delivered into its table (its /metrics), to check the producer
               kept its rate
  server CPU   perspective_server.py's own process (not its reader child), % of one core
  machine      % of all cores busy (every process: stand-in, producer, reader, dashboards, ...);
               near 100 %, the lag measures the machine's contention more than the server
  lag p50/p99  wall time from a row's timestamp (producer.py stamps it when it writes, a batch
               every 50 ms) until a separate probe viewer (polling every 50 ms) sees it as
               the newest row
  connect      how long one more dashboard takes to connect and get its first answers
  RSS          perspective_server.py's resident memory at the end of the window

Modes, as prsp-viewer.html behaves:
  server   the page opened from disk: four views (the page's panels) on the server, each
           re-read (first 50 rows, as a grid would) after every update; three are grouped, so
           PERSPECTIVE_MAX_GROUPED_VIEWS is raised to fit N + 1 dashboards
  replica  the served page: one flat view, copied once (to_arrow), then its row deltas
           (on_update mode "row"), which the browser applies to its own table

Then a flooding case: N replicas plus one client (in a process of its own) that opens grouped
views until a cap refuses them, sends a malformed frame, and starts again, in a loop, to show
what it costs the other viewers.

With --edges K [K ...], instead: one hub (a server reading TDengine) and K edge servers copying it
(PERSPECTIVE_UPSTREAM), the N replica dashboards spread evenly over the edges (K = 0: all on the
hub), and for each K: the hub's CPU, each edge's (mean and highest), the lag p50/p99 of a probe
viewer on the hub and of one on an edge side by side (the edge's hop), and the SQL statements per
second TDengine (the stand-in) ran, which must not grow with K.

    venv/bin/python bench/viewers.py [--dashboards 5 10 20] [--rate 1000] [--seconds 10]
    venv/bin/python bench/viewers.py --edges 0 1 2 4 --dashboards 200 [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
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
GROUPED_PANELS = sum(1 for view in PANEL_VIEWS if "group_by" in view or "split_by" in view)
GRID_ROWS = 50
FLOOD_ADDRESS = "127.2.0.1"  # what a grid reads after an update (its first screen)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    dashboards: int
    mode: str
    rate: float  # rows/s the server delivered while measuring
    cpu: float
    machine: float  # % of all cores busy, every process included
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

# The dashboards and the flooding client run in processes of their own, as their browsers would
# be on other machines: in this one, their callbacks would delay the probe viewer and inflate the
# lag it measures.

@contextlib.contextmanager
def child(target: Callable[..., None], *args: Any) -> Iterator[BaseProcess]:
    process = multiprocessing.get_context("spawn").Process(target=target, args=args, daemon=True)
    process.start()
    try:
        yield process
    finally:
        process.terminate()
        process.join()


@contextlib.asynccontextmanager
async def dashboards(url: str, mode: str, count: int) -> AsyncIterator[None]:
    """`count` dashboards connected (and their first answers in) for the duration."""
    ready = multiprocessing.get_context("spawn").Event()
    with child(hold_dashboards, url, mode, count, ready) as process:
        deadline = time.monotonic() + 120
        while not ready.is_set():
            if not process.is_alive():
                raise RuntimeError("the dashboards' process ended (its traceback is above)")
            if time.monotonic() > deadline:
                raise TimeoutError("the dashboards did not connect within 120 s")
            await asyncio.sleep(0.1)
        yield


def hold_dashboards(url: str, mode: str, count: int, ready: Any) -> None:
    async def hold() -> None:
        async with contextlib.AsyncExitStack() as stack:
            for number in range(count):
                client = await stack.enter_async_context(remote_client(url, dashboard_address(number)))
                await MODES[mode](client)
            ready.set()
            await asyncio.Event().wait()  # until terminated
    asyncio.run(hold())


def dashboard_address(number: int) -> str:
    """Each dashboard connects from its own loopback address, as from its own machine (the server
    limits new views per address); the probe viewer uses 127.0.0.1, the flooding client 127.2.0.1."""
    return f"127.1.{number // 250}.{number % 250 + 1}"


async def connect_time(url: str, mode: str, count: int) -> float:
    start = time.perf_counter()
    async with remote_client(url, dashboard_address(count)) as client:
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


def machine_ticks() -> tuple[int, int]:
    """(busy, all) clock ticks of every core so far, from /proc/stat."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return sum(ticks) - idle, sum(ticks)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def measure(url: str, pid: int, count: int, mode: str, seconds: float, flooded: bool) -> Row:
    async with dashboards(url, mode, count):
        flooding = child(run_flood, url) if flooded else contextlib.nullcontext()
        with flooding:
            row = await measure_window(url, pid, count, mode, seconds)
    return dataclasses.replace(row, mode=mode + (" + flood" if flooded else ""))


async def measure_window(url: str, pid: int, count: int, mode: str, seconds: float) -> Row:
    await asyncio.sleep(1)  # let the first copies and reads settle
    cpu_before, rows_before, start = cpu_seconds(pid), await delivered(url), time.monotonic()
    machine_before = machine_ticks()
    seen = await lags(url, seconds)
    elapsed = time.monotonic() - start
    cpu = (cpu_seconds(pid) - cpu_before) / elapsed * 100
    busy, total = (after - before for after, before in zip(machine_ticks(), machine_before, strict=True))
    machine = busy / total * 100
    rate = (await delivered(url) - rows_before) / elapsed
    connect = await connect_time(url, mode, count)
    memory = rss_mb(pid)
    quantiles = statistics.quantiles(seen, n=100) if len(seen) > 1 else [float("nan")] * 99
    return Row(count, mode, rate, cpu, machine, quantiles[49], quantiles[98], connect, memory)


async def delivered(url: str) -> float:
    """Rows the server has put in its table so far (its /metrics)."""
    metrics_url = url.replace("ws://", "http://").replace("/websocket", "/metrics")
    text = (await tornado.httpclient.AsyncHTTPClient().fetch(metrics_url, request_timeout=10)).body.decode()
    return next(float(line.split()[1]) for line in text.splitlines()
                if line.startswith("tdpersp_reader_delivered_total "))


def run_flood(url: str) -> None:
    asyncio.run(flood(url))


async def flood(url: str) -> None:
    """A bad client: views until the cap refuses them, then junk frames; reconnects when cut off."""
    while True:
        with contextlib.suppress(Exception):
            async with remote_client(url, FLOOD_ADDRESS) as client:
                table = await client.open_table(TABLE)
                for _ in range(200):
                    await table.view(group_by=["ticker"])
        with contextlib.suppress(Exception):
            conn = await tornado.websocket.websocket_connect(
                tornado.httpclient.HTTPRequest(url, network_interface=FLOOD_ADDRESS))
            await conn.write_message(b"\xff" * 64, binary=True)
            await conn.read_message()
            conn.close()
        await asyncio.sleep(0)


# --- edges: one hub, K servers copying it --------------------------------------------------------

@dataclass
class EdgeRow:
    dashboards: int
    edges: int
    rate: float  # rows/s the hub delivered while measuring
    hub_cpu: float
    edge_cpu: float  # mean over the edges, % of one core
    edge_cpu_max: float
    machine: float
    hub_lag: tuple[float, float]  # p50, p99 of a probe viewer on the hub
    edge_lag: tuple[float, float]  # the same on the first edge
    statements: float  # SQL statements per second TDengine ran


EDGE_HEADER = (f"{'N':>4} {'K':>2} {'rows/s':>7} {'hub CPU':>8} {'edge CPU':>9} {'max':>5} {'machine':>7}"
               f" {'hub p50/p99':>12} {'edge p50/p99':>13} {'SQL/s':>6}")


def edge_line(r: EdgeRow) -> str:
    edge = f"{r.edge_lag[0]:.2f}/{r.edge_lag[1]:.2f}s" if r.edges else "-"
    return (f"{r.dashboards:>4} {r.edges:>2} {r.rate:>7.0f} {r.hub_cpu:>7.0f}% {r.edge_cpu:>8.0f}% "
            f"{r.edge_cpu_max:>4.0f}% {r.machine:>6.0f}% {r.hub_lag[0]:>6.2f}/{r.hub_lag[1]:.2f}s "
            f"{edge:>13} {r.statements:>6.1f}")


def statements(standin: StandInProcess) -> int:
    return int(standin.status().split("statements=")[1].split()[0])


def p50_p99(seen: list[float]) -> tuple[float, float]:
    quantiles = statistics.quantiles(seen, n=100) if len(seen) > 1 else [float("nan")] * 99
    return quantiles[49], quantiles[98]


async def measure_edges(standin: StandInProcess, hub: Program, edges: list[Program], urls: list[str],
                        count: int, seconds: float) -> EdgeRow:
    """`urls[0]` is the hub's, the rest its edges'; the dashboards go to the edges (or the hub)."""
    targets = urls[1:] or urls[:1]
    async with contextlib.AsyncExitStack() as stack:
        for number, url in enumerate(targets):
            share = count // len(targets) + (number < count % len(targets))
            await stack.enter_async_context(dashboards(url, "replica", share))
        await asyncio.sleep(1)
        pids = [hub.proc.pid, *(edge.proc.pid for edge in edges)]
        cpu_before, sql_before = [cpu_seconds(pid) for pid in pids], statements(standin)
        rows_before, machine_before, start = await delivered(urls[0]), machine_ticks(), time.monotonic()
        hub_seen, edge_seen = await asyncio.gather(lags(urls[0], seconds), lags(urls[-1], seconds))
        elapsed = time.monotonic() - start
        cpu = [(cpu_seconds(pid) - before) / elapsed * 100
               for pid, before in zip(pids, cpu_before, strict=True)]
        busy, total = (after - before for after, before in zip(machine_ticks(), machine_before, strict=True))
        rate = (await delivered(urls[0]) - rows_before) / elapsed
    edge_cpu = cpu[1:] or [0.0]
    edge_lag = p50_p99(edge_seen) if edges else (float("nan"), float("nan"))
    return EdgeRow(count, len(edges), rate, cpu[0], statistics.mean(edge_cpu), max(edge_cpu),
                   busy / total * 100, p50_p99(hub_seen), edge_lag,
                   (statements(standin) - sql_before) / elapsed)


def edges_row(standin: StandInProcess, env: dict[str, str], count: int, k: int,
              seconds: float) -> EdgeRow | str:
    """A fresh hub and K fresh edges per row."""
    ports = [free_port() for _ in range(k + 1)]
    urls = [f"ws://127.0.0.1:{port}/websocket" for port in ports]
    with contextlib.ExitStack() as stack:
        hub = stack.enter_context(Program("perspective_server.py",
                                          env=env | {"PERSPECTIVE_PORT": str(ports[0])}))
        wait_for_server(ports[0])
        edges = [stack.enter_context(Program("perspective_server.py", env=env | {
            "PERSPECTIVE_PORT": str(port), "PERSPECTIVE_UPSTREAM": urls[0]})) for port in ports[1:]]
        try:
            for port in ports:
                wait_until_live(port)
            return asyncio.run(asyncio.wait_for(measure_edges(standin, hub, edges, urls, count, seconds),
                                                seconds + 120))
        except (TimeoutError, RuntimeError, tornado.httpclient.HTTPClientError, OSError) as err:
            return f"{count:>4} {k:>2} failed: {type(err).__name__}: {err}"


def wait_until_live(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while wait_for_server(port)["feed"]["state"] != "live" or not all(
            rollup["ready"] for rollup in wait_for_server(port)["rollups"]):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server on port {port} did not go live")
        time.sleep(0.2)


# --- running it ---------------------------------------------------------------------------------

HEADER = (f"{'N':>3}  {'mode':<16} {'rows/s':>7} {'server CPU':>10} {'machine':>7}"
          f" {'lag p50':>8} {'lag p99':>8} {'connect':>8} {'RSS':>7}")


def row_line(r: Row) -> str:
    return (f"{r.dashboards:>3}  {r.mode:<16} {r.rate:>7.0f} {r.cpu:>9.0f}% {r.machine:>6.0f}%"
            f" {r.lag_p50:>7.2f}s {r.lag_p99:>7.2f}s {r.connect:>7.2f}s {r.rss_mb:>5.0f}MB")


def show(result: Any, line: Callable[[Any], str]) -> None:
    """A measured row as `line` writes it, or why it failed."""
    print(result if isinstance(result, str) else line(result), flush=True)


def one_row(env: dict[str, str], count: int, mode: str, seconds: float, flooded: bool) -> Row | str:
    """A fresh perspective_server.py per row, so that rows do not inherit each other's state."""
    port = free_port()
    url = f"ws://127.0.0.1:{port}/websocket"
    env = env | {"PERSPECTIVE_PORT": str(port)}
    if mode == "server":
        env["PERSPECTIVE_MAX_GROUPED_VIEWS"] = str(max(32, GROUPED_PANELS * (count + 1)))
    with Program("perspective_server.py", env=env) as server:
        wait_for_server(port)
        try:
            return asyncio.run(asyncio.wait_for(
                measure(url, server.proc.pid, count, mode, seconds, flooded), seconds + 60))
        except (TimeoutError, RuntimeError, tornado.httpclient.HTTPClientError, OSError) as err:
            name = mode + (" + flood" if flooded else "")
            return f"{count:>3}  {name:<16} failed: {type(err).__name__}: {err}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dashboards", type=int, nargs="+", default=[5, 10, 20], help="N values")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--rate", type=int, default=1000, help="producer rows/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring window per row")
    parser.add_argument("--edges", type=int, nargs="+", metavar="K",
                        help="instead: one hub and K edges per row, the dashboards on the edges "
                        "(0: on the hub)")
    arguments = parser.parse_args()
    if arguments.edges and min(arguments.edges) < 0:
        parser.error("--edges: K must be 0 or more")
    plan = [(count, mode, False) for count in arguments.dashboards for mode in arguments.modes]
    plan.append((max(arguments.dashboards), "replica", True))
    with StandInProcess() as standin:
        env = taos_env(standin.host, standin.port, database="bench_viewers")
        # Batches every 50 ms: with the producer's default 250 ms, the same as the server's refresh,
        # each run would keep one phase between writes and reads, and its lag with it (0-250 ms).
        producer_env = env | {"PRODUCER_RATE": str(arguments.rate), "PRODUCER_INTERVAL": "0.05"}
        with Program("producer.py", env=producer_env):
            print(f"producer {arguments.rate} rows/s; {arguments.seconds:g} s per row; "
                  f"load average {os.getloadavg()[0]:.1f}\n{EDGE_HEADER if arguments.edges else HEADER}",
                  flush=True)
            for count, k in [(count, k) for count in arguments.dashboards for k in arguments.edges or []]:
                show(edges_row(standin, env, count, k, arguments.seconds), edge_line)
            for count, mode, flooded in [] if arguments.edges else plan:
                show(one_row(env, count, mode, arguments.seconds, flooded), row_line)


if __name__ == "__main__":
    main()
