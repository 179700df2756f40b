"""TableFeed (tdpersp/live/feed.py): rows from the reader's pipe into a real Perspective table, on an
IOLoop."""

from __future__ import annotations

import asyncio
import multiprocessing
from typing import Any

import perspective

from tdpersp.core.model import Column, TableInfo
from tdpersp.live.feed import TableFeed
from tdpersp.live.messages import Update

TRADES = TableInfo("db", "t", (Column("ts", "TIMESTAMP", "datetime"), Column("close", "FLOAT", "float"),
                               Column("ticker", "NCHAR", "string", is_tag=True)), "us", True)


def feed(*updates: Update) -> tuple[list[str], TableFeed, bool, list[str]]:
    """Sends `updates` as the reader process would; returns the failures reported, the feed, whether
    the reader got an acknowledgement for the last one, and the times the table was about to be made
    anew (viewers closed)."""
    server_end, reader_end = multiprocessing.Pipe()
    failures: list[str] = []
    renewed: list[str] = []
    client = perspective.Server().new_local_client()
    table_feed = TableFeed(lambda schema: client.table(schema, limit=10, name="live"), server_end,
                           on_failure=failures.append, on_new_table=lambda: renewed.append("renewed"))

    async def run() -> None:
        table_feed.start()
        for update in updates:
            while reader_end.poll():
                reader_end.recv()
            reader_end.send(update)
            for _ in range(50):
                if failures or reader_end.poll():
                    break
                await asyncio.sleep(0.02)

    asyncio.run(run())
    return failures, table_feed, reader_end.poll(), renewed


def feed_once(update: Update) -> tuple[list[str], Any, bool]:
    """One batch of rows, after the model of the table they belong to."""
    update.table = TRADES
    failures, table_feed, acknowledged, _ = feed(update)
    return failures, table_feed.table, acknowledged


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


def test_a_changed_schema_makes_the_table_anew_after_closing_viewers(caplog) -> None:
    """Guards the schema change at run time: the same model keeps the table (and its rows); a model
    with a column added makes a new table with that column, after the viewers (whose views hold the
    old one) were told to go, and one log line says what changed. It cannot show that pages
    reconnect (tests/live/test_any_table.py does, with real processes)."""
    rows = Update(columns='{"ticker": ["AAPL"], "close": [1.5]}', count=1, table=TRADES)
    again = Update(columns='{"ticker": ["MSFT"], "close": [2.5]}', count=1, table=TRADES)
    wider = TableInfo("db", "t", (*TRADES.columns, Column("volume", "BIGINT", "float")), "us", True)
    renew = Update(columns='{"ticker": ["TSLA"], "close": [3.5], "volume": [7]}', count=1, table=wider)
    failures, table_feed, acknowledged, renewed = feed(rows, again)
    assert failures == [] and renewed == [] and table_feed.table.size() == 2
    failures, table_feed, acknowledged, renewed = feed(rows, renew)
    assert failures == [] and acknowledged and renewed == ["renewed"]
    assert table_feed.table.schema() == {"ts": "datetime", "close": "float", "ticker": "string",
                                         "volume": "float"}
    assert table_feed.table.view().to_columns()["ticker"] == ["TSLA"]
    assert "db.t changed: added volume (float)" in caplog.text


def test_columns_perspective_cannot_hold_are_named_once(caplog) -> None:
    """Guards the warning for a left-out type (VARBINARY, GEOMETRY, BLOB): one line naming each."""
    odd = TableInfo("db", "t", TRADES.columns, "us", True, skipped=(("shape", "GEOMETRY(64)"),))
    failures, table_feed, _, _ = feed(Update(table=odd))
    assert failures == [] and table_feed.table is not None
    assert caplog.text.count("column shape (GEOMETRY(64)) of db.t is left out") == 1
