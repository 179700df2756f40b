"""Two servers behind Debian's nginx with the checked-in deploy/nginx/tdpersp.conf, each reading
TDengine by subscription in a consumer group of its own; page-like clients connect through nginx.

nginx is started by the test (installed by .ci/run); the servers, the producer and the stand-in are
real subprocesses. What these cannot prove: a browser's own reconnecting through nginx
(tests/browser/ covers the page's reconnecting against one server), or nginx on another machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.perspective_client import PageReplica
from tests.processes import REPO_ROOT, Program, free_port, taos_env, wait_for_server, wait_for_table
from tests.programs.pages import ALL_ROWS, stored_rows, until_equal

CONFIG = REPO_ROOT / "deploy" / "nginx" / "tdpersp.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PAGES = 4

pytestmark = pytest.mark.skipif(not os.access(NGINX, os.X_OK),
                                reason="nginx is not installed (apt-get install nginx; .ci/run does)")


def site_config(listen: int, servers: list[int]) -> str:
    """deploy/nginx/tdpersp.conf as checked in, on this test's ports instead of 8080 and 8081-8082."""
    text = CONFIG.read_text()
    assert text.count("listen 8080;") == 1 and len(re.findall(r"server 127\.0\.0\.1:\d+ ", text)) == 2
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{listen};")
    lines = iter(servers)
    return re.sub(r"server 127\.0\.0\.1:\d+ ", lambda _: f"server 127.0.0.1:{next(lines)} ", text)


@contextlib.contextmanager
def nginx(listen: int, servers: list[int], folder: Path) -> Iterator[subprocess.Popen]:
    """nginx in the foreground, everything it writes under `folder`, the site included as a user would."""
    (folder / "tdpersp.conf").write_text(site_config(listen, servers))
    user = "user root;" if os.geteuid() == 0 else ""  # its workers must write its temp folders
    (folder / "nginx.conf").write_text(f"""
        {user} daemon off; worker_processes 1; pid {folder}/nginx.pid; error_log {folder}/error.log info;
        events {{ worker_connections 256; }}
        http {{
            access_log {folder}/access.log;
            client_body_temp_path {folder}/body; proxy_temp_path {folder}/proxy;
            fastcgi_temp_path {folder}/fastcgi; uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;
            include {folder}/tdpersp.conf;
        }}
    """)
    proc = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for_server(listen)
        yield proc
    finally:
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def viewers(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as reply:
        return int(float(re.search(r"^tdpersp_viewers (\S+)$", reply.read().decode(), re.M).group(1)))


def test_pages_through_nginx_lose_nothing_when_a_server_dies(standin, db_name, tmp_path) -> None:
    """Guards the load-balanced setup end to end: nginx spreads the pages over both servers; both
    servers, subscribed in different consumer groups, each hold every row written (each group gets
    the whole topic); then one server is killed (SIGKILL), its pages reconnect through nginx to the
    other, and after more rows every page holds every row exactly once."""
    lb, servers = free_port(), [free_port(), free_port()]
    env = taos_env(standin.host, standin.port, database=db_name)
    produce = env | {"PRODUCER_RATE": "300", "PRODUCER_DURATION": "4"}
    with Program("producer.py", produce) as first_rows:
        assert first_rows.wait(timeout=60) == 0, first_rows.output
    programs = [Program("perspective_server.py", env | {
        "PERSPECTIVE_PORT": str(port), "PERSPECTIVE_SOURCE": "subscribe", "PERSPECTIVE_ROLLUPS": "",
        "PERSPECTIVE_TABLE_LIMIT": str(ALL_ROWS)}) for port in servers]
    try:
        for port in servers:
            wait_for_table(port)
        with nginx(lb, servers, tmp_path):
            asyncio.run(_kill_one_under(lb, servers, programs, produce, standin, db_name))
    finally:
        for program in programs:
            program.stop(signal.SIGKILL)


async def _kill_one_under(lb: int, servers: list[int], programs: list[Program], produce: dict[str, str],
                          standin: object, db_name: str) -> None:
    stop = asyncio.Event()
    pages = [PageReplica(f"ws://127.0.0.1:{lb}/websocket") for _ in range(PAGES)]
    following = [asyncio.create_task(page.run(stop)) for page in pages]
    await until_equal(pages, stored_rows(standin, db_name))
    spread = [viewers(port) for port in servers]
    assert all(spread), f"nginx sent every page to one server: {spread} viewers"
    programs[0].stop(signal.SIGKILL)
    with Program("producer.py", produce) as more_rows:
        assert await asyncio.to_thread(more_rows.wait, 60) == 0, more_rows.output
    await until_equal(pages, stored_rows(standin, db_name))
    moved = [page for page in pages if page.connections >= 2]
    assert len(moved) == spread[0], f"{len(moved)} pages reconnected, {spread[0]} were on the killed server"
    assert viewers(servers[1]) == PAGES
    stop.set()
    await asyncio.gather(*following)
