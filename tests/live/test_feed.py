"""TableFeed (tdpersp/live/feed.py): rows from the reader's pipe into a real Perspective table, on an
IOLoop."""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any

import perspective

from tdpersp.core import schema
from tdpersp.live.feed import TableFeed
from tdpersp.live.messages import Update


def feed_once(update: Update) -> tuple[list[str], Any, bool]:
    """Sends `update` as the reader process would; returns the failures reported, the table, and
    whether the reader got its acknowledgement."""
    table = perspective.Server().new_local_client().table(schema.PERSPECTIVE_SCHEMA, limit=10)
    server_end, reader_end = multiprocessing.Pipe()
    failures: list[str] = []

    async def run() -> None:
        TableFeed(table, server_end, on_failure=failures.append).start()
        reader_end.send(update)
        for _ in range(50):
            if failures or reader_end.poll():
                return
            await asyncio.sleep(0.02)

    asyncio.run(run())
    return failures, table, reader_end.poll()


def test_rows_are_applied_then_acknowledged() -> None:
    """Guards the ack after table.update: the subscription commits only what the table holds."""
    failures, table, acknowledged = feed_once(Update(columns='{"ticker": ["AAPL"], "close": [1.5]}', count=1))
    assert failures == []
    assert table.view().to_columns()["ticker"] == ["AAPL"]
    assert acknowledged


def test_a_batch_perspective_refuses_stops_the_feed_saying_why() -> None:
    """Guards against the silent stall: a batch table.update() refuses is not acknowledged (so a
    subscription keeps it uncommitted) and the server is told to stop, with Perspective's reason;
    before, the exception escaped the IOLoop handler and the reader waited for an ack forever."""
    failures, table, acknowledged = feed_once(Update(columns="not json", count=1))
    assert len(failures) == 1 and failures[0].startswith("Perspective refused a batch of rows: ")
    assert table.size() == 0
    assert not acknowledged
