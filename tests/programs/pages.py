"""Checking what pages hold: a page-like copy (tests/perspective_client.py `PageReplica`) against
every row TDengine holds, each as often."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

import taosws

from tests.perspective_client import PageReplica
from tests.programs.test_end_to_end import key, tdengine_newest

ALL_ROWS = 100_000  # a live table limit above what these tests write: the table holds every row


def health(port: int) -> dict[str, Any]:
    """/healthz, whatever its status code (503 carries the reason too); not yet listening is a state."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return json.loads(err.read())
    except OSError as err:
        return {"state": "not answering", "detail": str(err)}


def wait_for_state(port: int, state: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (body := health(port))["state"] != state:
        assert time.monotonic() < deadline, f"server on {port} never said {state!r}: {body}"
        time.sleep(0.1)
    return body


def stored_rows(standin: Any, database: str) -> Counter[tuple]:
    """Every row TDengine holds, as the keys the end-to-end tests compare by."""
    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    return Counter(tdengine_newest(conn, database, ALL_ROWS))


def held_rows(page: PageReplica) -> Counter[tuple]:
    return Counter(key(row["timestamp"], row["ticker"], row["client"], row["volume"], row["open"])
                   for row in page.rows())


async def until_equal(pages: list[PageReplica], expected: Counter[tuple], timeout: float = 30.0) -> None:
    """Each page's copy holds exactly the rows of `expected`, each as often, or the test fails."""
    deadline = time.monotonic() + timeout
    while True:
        held = [held_rows(page) for page in pages]
        if all(rows == expected for rows in held) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    wrong = [f"{page.hub}: {(rows - expected).total()} rows too many, {(expected - rows).total()} "
             f"missing (newest {max(expected - rows, default=None)}); {page.problems}"
             for page, rows in zip(pages, held, strict=True) if rows != expected]
    assert not wrong, f"of {expected.total()} rows: {wrong}"
