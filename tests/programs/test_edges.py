"""Edge servers (PERSPECTIVE_UPSTREAM): a hub reads TDengine, two edges copy its tables, and
page-like clients on each edge copy theirs, with the hub restarted in the middle.

Every program is a real subprocess; the clients are Python copies made as the served page makes
them (tests/perspective_client.py `PageReplica`). What these cannot prove: a page in a browser
(tests/browser/ covers the page against one server), or a hub on another machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from typing import Any

from tests.perspective_client import PageReplica, remote_client
from tests.processes import Program, free_port, server_config, taos_env, wait_for_server, wait_for_table
from tests.programs.pages import ALL_ROWS, stored_rows, until_equal, wait_for_state

PAGES_PER_EDGE = 2
# 1 s windows kept 5 s: the hub removes windows as the test runs, and the edges' copies must too.
ROLLUPS = "1s:5s,1m"


def wait_for_rollups(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    wait_for_table(port)
    while not all(rollup["ready"] for rollup in server_config(port)["rollups"]):
        assert time.monotonic() < deadline, f"the rollups of the server on {port} never got ready"
        time.sleep(0.1)


async def table_rows(port: int, name: str) -> list[dict[str, Any]]:
    async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
        view = await (await client.open_table(name)).view(sort=[["key", "asc"]])
        rows = await view.to_json()
        await view.delete()
    return rows


def connections(standin: Any) -> int:
    return int(re.search(r"connections=(\d+)", standin.status()).group(1))


def test_edges_copy_every_row_once_through_a_hub_restart(standin, db_name) -> None:
    """Guards the edge's whole promise: TDengine sees the hub's reader only (the edges open no
    connection to it), each page on an edge ends with every row exactly once, and a hub restart in
    the middle is survived: the edges say so in /healthz and their log, keep their copies on show,
    copy the hub's tables again when it is back, and their pages reconnect to the new copies. The
    rollup copies end equal to the hub's, windows the hub expired gone from them too."""
    hub_port, edge_ports = free_port(), [free_port(), free_port()]
    env = taos_env(standin.host, standin.port, database=db_name)
    hub_env = env | {"PERSPECTIVE_PORT": str(hub_port), "PERSPECTIVE_TABLE_LIMIT": str(ALL_ROWS),
                     "PERSPECTIVE_ROLLUPS": ROLLUPS}
    upstream = f"ws://127.0.0.1:{hub_port}/websocket"
    with contextlib.ExitStack() as programs:  # whatever fails, no server outlives the test
        producer = programs.enter_context(
            Program("producer.py", env | {"PRODUCER_RATE": "300", "PRODUCER_DURATION": "12"}))
        hub = programs.enter_context(Program("perspective_server.py", hub_env))
        wait_for_rollups(hub_port)  # the hub's reader and rollup process are connected by now
        before_edges = connections(standin)
        edges = [programs.enter_context(Program("perspective_server.py", env | {
            "PERSPECTIVE_PORT": str(port), "PERSPECTIVE_UPSTREAM": upstream})) for port in edge_ports]
        for port in edge_ports:
            wait_for_state(port, "live")
        assert connections(standin) == before_edges, "an edge connected to TDengine"
        pages = [PageReplica(f"ws://127.0.0.1:{port}/websocket")
                 for port in edge_ports for _ in range(PAGES_PER_EDGE)]
        hub = asyncio.run(_restart_hub_under(pages, hub, programs, hub_env, edge_ports, producer, standin,
                                             db_name))
        time.sleep(6)  # every 1 s window has expired on the hub by now
        for name in ("stock_values_1s", "stock_values_1m"):
            hub_rows = asyncio.run(table_rows(hub_port, name))
            for port in edge_ports:
                assert asyncio.run(table_rows(port, name)) == hub_rows, f"{name} differs on {port}"
        for port in edge_ports:
            wait_for_rollups(port)
        assert hub.stop() == 0, hub.output
        for edge in edges:
            assert edge.stop() == 0, edge.output
    for edge in edges:
        assert "waiting for the hub" in edge.output, edge.output
        assert edge.output.count("copying stock_values from the hub") >= 2, edge.output


async def _restart_hub_under(pages: list[PageReplica], hub: Program, programs: contextlib.ExitStack,
                             hub_env: dict[str, str], edge_ports: list[int], producer: Program, standin: Any,
                             db_name: str) -> Program:
    """Pages follow their edges while the hub stops and starts again (the new one joins
    `programs`); returns the new hub."""
    stop = asyncio.Event()
    following = [asyncio.create_task(page.run(stop)) for page in pages]
    deadline = time.monotonic() + 30
    while not all(page.connections for page in pages):
        assert time.monotonic() < deadline, [page.problems for page in pages]
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)
    assert await asyncio.to_thread(hub.stop) == 0, hub.output
    for port in edge_ports:
        said = await asyncio.to_thread(wait_for_state, port, "waiting for the hub")
        assert "hub ws://127.0.0.1" in said["detail"]
    await asyncio.sleep(1)
    hub = programs.enter_context(Program("perspective_server.py", hub_env))
    await asyncio.to_thread(wait_for_server, int(hub_env["PERSPECTIVE_PORT"]))
    for port in edge_ports:
        await asyncio.to_thread(wait_for_state, port, "live")
    assert await asyncio.to_thread(producer.wait, 60) == 0, producer.output
    await until_equal(pages, stored_rows(standin, db_name))
    assert all(page.connections >= 2 for page in pages), "the pages never saw the hub's restart"
    stop.set()
    await asyncio.gather(*following)
    return hub
