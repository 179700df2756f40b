"""The websocket and HTTP guards of perspective_server.py, against the real server process.

One server (with small limits) serves a table the producer filled; each test plays a bad or
foreign client and checks both what that client gets and that a normal client still works.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import perspective
import pytest
import tornado.httpclient
import tornado.websocket

from tests.perspective_client import remote_client
from tests.processes import Program, create_trades_table, free_port, taos_env, wait_for_server, wait_for_table
from tests.standin.fixture import StandInProcess

MAX_VIEWS = 3


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Program, int]]:
    with StandInProcess() as standin:
        env = taos_env(standin.host, standin.port, database="guarded")
        with Program("producer.py", env | {"PRODUCER_COUNT": "2000", "PRODUCER_RATE": "20000"}) as prod:
            assert prod.wait() == 0, prod.output
        port = free_port()
        server_env = env | {"PERSPECTIVE_PORT": str(port), "PERSPECTIVE_MAX_VIEWS": str(MAX_VIEWS),
                            "PERSPECTIVE_MAX_QUEUE_BYTES": "200000",
                            "PERSPECTIVE_ALLOWED_HOSTS": "dash.example"}
        with Program("perspective_server.py", server_env) as program:
            wait_for_server(port)
            program.wait_for("reading rows")
            program.wait_for("rollups: ")
            yield program, port


def table_size(port: int, name: str = "stock_values") -> int:
    async def size() -> int:
        async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
            return await (await client.open_table(name)).size()
    return asyncio.run(size())


@pytest.mark.parametrize("name", ["stock_values", "stock_values_1h"])
def test_writes_and_joins_are_refused(server: tuple[Program, int], name: str) -> None:
    """Guards read-only serving, of the live table and of a rollup table: update, clear, a new
    table and a join are each answered with an error and change nothing."""
    _program, port = server
    before = table_size(port, name)

    async def attempts() -> list[str]:
        async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
            table = await client.open_table(name)
            calls = [lambda: table.update([{"ticker": "X"}]), table.clear,
                     lambda: client.table({"a": [1]}, name="mine"),
                     lambda: client.join(table, table, on="ticker")]
            errors = []
            for call in calls:
                with pytest.raises(perspective.PerspectiveError) as caught:
                    await call()
                errors.append(str(caught.value))
            return errors

    errors = asyncio.run(attempts())
    assert all("read-only server" in e for e in errors), errors
    assert "make_join_table" in errors[3]
    assert table_size(port, name) == before > 0


def test_views_are_capped_per_connection(server: tuple[Program, int]) -> None:
    """Guards the view cap: the view past PERSPECTIVE_MAX_VIEWS is refused with a message naming the
    setting, deleting one frees a place, and another connection is not affected."""
    _program, port = server

    async def scenario() -> tuple[str, int]:
        async with remote_client(f"ws://127.0.0.1:{port}/websocket") as greedy:
            table = await greedy.open_table("stock_values")
            views = [await table.view(group_by=["ticker"]) for _ in range(MAX_VIEWS)]
            with pytest.raises(perspective.PerspectiveError) as caught:
                await table.view()
            await views[0].delete()
            await table.view()  # a place is free again
            async with remote_client(f"ws://127.0.0.1:{port}/websocket") as other:
                other_view = await (await other.open_table("stock_values")).view()
                rows = await other_view.num_rows()
            return str(caught.value), rows

    message, rows = asyncio.run(scenario())
    assert "PERSPECTIVE_MAX_VIEWS" in message
    assert rows == 1000


async def connect(url: str | tornado.httpclient.HTTPRequest) -> tornado.websocket.WebSocketClientConnection:
    return await tornado.websocket.websocket_connect(url)


async def connect_and_close(url: str) -> None:
    (await connect(url)).close()


async def send_raw(port: int, frame: bytes | str, source_ip: str | None = None) -> int | None:
    """Send one frame on a fresh websocket; the close code the server answers with."""
    conn = await tornado.websocket.websocket_connect(
        tornado.httpclient.HTTPRequest(f"ws://127.0.0.1:{port}/websocket", network_interface=source_ip))
    await conn.write_message(frame, binary=isinstance(frame, bytes))
    while await asyncio.wait_for(conn.read_message(), 10) is not None:
        pass
    return conn.close_code


MALFORMED = {"bad varint": b"\xff\xff\xff", "truncated": b"\x08\x01\x12\x80", "text": "a text frame",
             "oversized": b"\x0a" * 1_500_000}


@pytest.mark.parametrize("number, name", list(enumerate(MALFORMED)))
def test_a_malformed_frame_closes_that_connection(server: tuple[Program, int], number: int,
                                                  name: str) -> None:
    """Guards against tracebacks and crashes from garbage: the connection is closed with 1008 and one
    warning line, no traceback is logged, and the table is still served to others. Each frame comes
    from its own address (the log keeps one line per address every 10 s)."""
    program, port = server
    address = f"127.0.4.{number + 1}"
    before = len(program.lines)
    assert asyncio.run(send_raw(port, MALFORMED[name], address)) == 1008
    program.wait_for(f"closing a viewer connection from {address}")
    assert not any("Traceback" in line for line in program.lines[before:])
    assert table_size(port) == 1000


def test_a_client_sending_garbage_in_a_loop_does_not_fill_the_log(server: tuple[Program, int]) -> None:
    """Guards the log against a flood: 30 malformed frames from one address in a row give one
    warning line, and each is still counted in /metrics."""
    program, port = server
    address = "127.0.5.1"

    async def flood() -> None:
        for _ in range(30):
            assert await send_raw(port, b"\xff\xff\xff", address) == 1008
    asyncio.run(flood())
    program.wait_for(f"closing a viewer connection from {address}")
    time.sleep(0.5)  # any further line would be written by now
    assert sum(f"from {address}" in line for line in program.lines) == 1
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        metrics = reply.read().decode()
    assert float(metrics.split("\ntdpersp_malformed_frames_total ")[1].split()[0]) >= 30


def test_a_viewer_that_stops_reading_is_disconnected(server: tuple[Program, int]) -> None:
    """Guards memory against a stuck browser: a client that asks for much and reads nothing is
    disconnected once its unsent answers pass PERSPECTIVE_MAX_QUEUE_BYTES (200 kB here), with a log
    line; another client is served meanwhile. It cannot tell how fast the server notices."""
    program, port = server

    async def stuck_client() -> None:
        conn = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{port}/websocket")
        sent: list[Any] = []

        async def send(message: bytes) -> None:
            sent.append(await conn.write_message(message, binary=True))

        client = perspective.AsyncClient(send)

        async def pump() -> None:
            while (message := await conn.read_message()) is not None:
                await client.handle_response(message)

        reading = asyncio.create_task(pump())
        view = await (await client.open_table("stock_values")).view()
        reading.cancel()  # from now on nothing is read: the socket's buffers fill up
        asks = [asyncio.create_task(view.to_columns_string()) for _ in range(400)]
        await asyncio.sleep(0.1)
        await asyncio.to_thread(program.wait_for, "reads too slowly", 30)
        for ask in asks:
            ask.cancel()
        conn.close()

    asyncio.run(stuck_client())
    assert table_size(port) == 1000


def get(port: int, path: str, **headers: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, dict(reply.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


@pytest.mark.parametrize("path", ["/", "/config.json", "/history.json"])
def test_a_rebound_host_name_is_refused(server: tuple[Program, int], path: str) -> None:
    """Guards against DNS rebinding: a name that is not localhost, an IP or a configured name gets
    403; the configured one and IP addresses are served."""
    _program, port = server
    assert get(port, path, Host=f"evil.example:{port}")[0] == 403
    assert get(port, path, Host=f"dash.example:{port}")[0] == 200
    assert get(port, path, Host=f"localhost:{port}")[0] == 200
    assert get(port, path)[0] == 200


def test_the_websocket_checks_the_host_too(server: tuple[Program, int]) -> None:
    """Guards the websocket handshake against the same rebinding (the browser sends the page's
    origin and the rebound name)."""
    _program, port = server
    request = tornado.httpclient.HTTPRequest(
        f"ws://127.0.0.1:{port}/websocket",
        headers={"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"})
    with pytest.raises(tornado.httpclient.HTTPClientError, match="403"):
        asyncio.run(connect(request))


def test_config_is_readable_cross_origin_only_by_the_page_from_disk(server: tuple[Program, int]) -> None:
    """Guards /config.json's CORS: a foreign site's origin gets no Access-Control-Allow-Origin,
    the page opened from disk (origin "null") does."""
    _program, port = server
    assert "Access-Control-Allow-Origin" not in get(port, "/config.json", Origin="http://evil.example")[1]
    assert get(port, "/config.json", Origin="null")[1].get("Access-Control-Allow-Origin") == "null"


def test_health_and_metrics(server: tuple[Program, int]) -> None:
    """Guards /healthz (200 and one JSON line while live) and /metrics (Prometheus text with the
    reader's counters and the guard's), as operators scrape them."""
    _program, port = server
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as reply:
        body = reply.read().decode()
    assert json.loads(body)["state"] == "live" and body.count("\n") == 1
    assert json.loads(body)["rollups"]["problem"] == ""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        metrics = reply.read().decode()
    assert "tdpersp_reader_delivered_total 1000.0" in metrics  # the newest 1,000 of 2,000
    for name in ("tdpersp_viewers", "tdpersp_views", "tdpersp_refused_requests_total",
                 "tdpersp_malformed_frames_total", "tdpersp_slow_viewers_total",
                 "tdpersp_rollup_queries_total", "tdpersp_rollup_loads_total", "tdpersp_rollup_windows"):
        assert f"\n{name} " in metrics, name


def test_health_says_what_it_waits_for(db_name: str) -> None:
    """Guards the 503 path: with no TDengine to read, /healthz answers 503 and names the wait."""
    port = free_port()
    env = taos_env("127.0.0.1", free_port(), database=db_name) | {"PERSPECTIVE_PORT": str(port)}
    with Program("perspective_server.py", env) as program:
        wait_for_server(port)
        program.wait_for("waiting for TDengine")
        status, _ = get(port, "/healthz")
        assert status == 503


def test_token_is_required_and_never_logged(db_name: str) -> None:
    """Guards PERSPECTIVE_TOKEN: without it (or with a wrong one) the page, /config.json and the
    websocket are refused; with it they are served; the token shows in no log line."""
    port, secret = free_port(), "s3cret-token-value"
    env = taos_env("127.0.0.1", free_port(), database=db_name) | {
        "PERSPECTIVE_PORT": str(port), "PERSPECTIVE_TOKEN": secret}
    with Program("perspective_server.py", env) as program:
        wait_for_server_with_token(port, secret)
        for path in ("/", "/config.json"):
            assert get(port, path)[0] == 403
            assert get(port, f"{path}?token=wrong")[0] == 403
            assert get(port, f"{path}?token={secret}")[0] == 200
        with pytest.raises(tornado.httpclient.HTTPClientError, match="403"):
            asyncio.run(connect(f"ws://127.0.0.1:{port}/websocket"))
        asyncio.run(connect_and_close(f"ws://127.0.0.1:{port}/websocket?token={secret}"))
        assert program.stop() == 0
    assert secret not in program.output
    assert "GET /config.json" in program.output  # the access log ran: the check above means something


def wait_for_server_with_token(port: int, token: str) -> None:
    for _ in range(200):
        try:
            if get(port, f"/config.json?token={token}")[0] == 200:
                return
        except urllib.error.URLError:
            pass  # not listening yet
        time.sleep(0.1)
    raise AssertionError("server did not answer")


def test_new_views_are_rate_limited_per_address(db_name: str) -> None:
    """Guards PERSPECTIVE_VIEW_RATE: a client that opens and deletes views in a loop (escaping the
    per-connection cap) gets the burst of 64, then is refused with a message naming the setting,
    and is served again once its bucket refills. The table may be empty."""
    port = free_port()

    async def loop() -> tuple[int, float, str, bool]:
        async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
            table = await client.open_table("stock_values")
            start, opened = time.monotonic(), 0
            with pytest.raises(perspective.PerspectiveError) as caught:
                for _ in range(200):
                    await (await table.view(group_by=["ticker"])).delete()
                    opened += 1
            elapsed = time.monotonic() - start
            await asyncio.sleep(1)  # two more tokens
            return opened, elapsed, str(caught.value), await table.view() is not None

    with StandInProcess() as standin:
        create_trades_table(standin.host, standin.port, db_name)
        env = taos_env(standin.host, standin.port, database=db_name) | {
            "PERSPECTIVE_PORT": str(port), "PERSPECTIVE_VIEW_RATE": "2"}
        with Program("perspective_server.py", env):
            wait_for_table(port)
            opened, elapsed, message, served_again = asyncio.run(loop())
    assert 64 <= opened <= 64 + 2 * elapsed + 1
    assert "PERSPECTIVE_VIEW_RATE" in message
    assert served_again
