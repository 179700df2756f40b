"""The watermark reader against TDengine (the stand-in, or a real one from TDENGINE_TEST_URL).

Rows are written with SQL at chosen timestamps, so each case (late rows, paging, ties) is exact.
What this cannot prove: the visibility order of a real multi-vnode TDengine under load.
"""

from __future__ import annotations

import pytest
import taosws

from tdpersp.core import schema
from tdpersp.core.model import describe_table
from tdpersp.core.tdconn import LazyConnection, TaosConfig
from tdpersp.live.messages import FeedState, ReaderOptions
from tdpersp.live.poll import PollSource
from tdpersp.live.reader import NewRowReader
from tdpersp.live.rows import RowLayout

T0 = 1_700_000_000_000_000  # µs


@pytest.fixture
def target(td, db_name) -> TaosConfig:
    cfg = TaosConfig(td.host, td.port, td.user, td.password, db_name, "trades")
    conn = td.connect()
    conn.execute(schema.create_database_sql(db_name))
    conn.execute(schema.create_stable_sql(db_name, "trades"))
    conn.close()
    return cfg


def write(cfg: TaosConfig, ticker: str, stamps: list[int]) -> None:
    conn = taosws.connect(host=cfg.host, port=cfg.port, user=cfg.user, password=cfg.password)
    values = " ".join(f"({ts}, 'c', 1.5, 2.5, 0.5, 1.0, {ts % 100_000}, {T0})" for ts in stamps)
    sub = schema.subtable_name(cfg.table, ticker)
    conn.execute(f"INSERT INTO {cfg.database}.{sub} USING {cfg.database}.{cfg.table} TAGS ('{ticker}') "
                 f"VALUES {values}")
    conn.close()


def reader_for(cfg: TaosConfig, initial_rows: int = 1000, page_size: int = 10_000) -> NewRowReader:
    connection = LazyConnection(cfg)
    layout = RowLayout(describe_table(connection, cfg.database, cfg.table))
    return NewRowReader(connection.query, layout, initial_rows, lookback=1_000_000, page_size=page_size)


def stamps_of(rows: list[tuple]) -> list[int]:
    return [row[0] for row in rows]


def test_first_poll_takes_the_newest_rows_oldest_first(target) -> None:
    """Guards the start-up load: the table should show the newest N rows, in time order."""
    write(target, "AAPL.N", [T0 + i for i in range(10)])
    reader = reader_for(target, initial_rows=4)
    assert stamps_of(reader.poll()) == [T0 + 6, T0 + 7, T0 + 8, T0 + 9]
    assert reader.poll() == []


def test_each_row_is_delivered_once_across_polls(target) -> None:
    """Guards the original demo's overlapping windows: a row must not come back in a later poll."""
    reader = reader_for(target)
    write(target, "AAPL.N", [T0 + 1, T0 + 2])
    first = reader.poll()
    write(target, "AAPL.N", [T0 + 3])
    write(target, "MSFT.N", [T0 + 3, T0 + 4])
    second = reader.poll()
    assert stamps_of(first) == [T0 + 1, T0 + 2]
    assert sorted((row[2], row[0]) for row in second) == [("AAPL.N", T0 + 3), ("MSFT.N", T0 + 3),
                                                          ("MSFT.N", T0 + 4)]
    assert reader.poll() == []
    assert reader.stats.delivered == 5


def test_row_appearing_behind_the_watermark_is_still_delivered(target) -> None:
    """Guards against losing rows that become visible late (other subtable, slower writer), as long
    as they are within the lookback window; and against delivering them twice."""
    reader = reader_for(target)
    write(target, "AAPL.N", [T0 + 500_000])
    reader.poll()
    write(target, "MSFT.N", [T0 + 200_000])  # 0.3 s behind the newest delivered row
    late = reader.poll()
    assert [(row[2], row[0]) for row in late] == [("MSFT.N", T0 + 200_000)]
    assert reader.stats.late == 1
    assert reader.poll() == []


def test_backlog_larger_than_a_page_is_read_completely(target) -> None:
    """Guards the original demo's LIMIT per poll, which dropped rows at high rates: a backlog is paged
    through."""
    reader = reader_for(target, page_size=7)
    write(target, "AAPL.N", [T0])
    reader.poll()
    write(target, "AAPL.N", [T0 + i for i in range(1, 31)])
    write(target, "MSFT.N", [T0 + i for i in range(5, 25, 2)])
    rows = reader.poll()
    assert len(rows) == 30 + 10
    assert len({(row[1], row[0]) for row in rows}) == 40
    assert stamps_of(rows) == sorted(stamps_of(rows))


def test_more_rows_on_one_timestamp_than_a_page(target) -> None:
    """Guards the paging edge case: a page that is all one timestamp must not loop or lose rows."""
    reader = reader_for(target, page_size=3)
    write(target, "AAPL.N", [T0])
    reader.poll()
    tickers = ["AAPL.N", "MSFT.N", "TSLA.N", "NVDA.N", "QQQ.N"]
    for ticker in tickers:
        write(target, ticker, [T0 + 10])
    write(target, "AAPL.N", [T0 + 11])
    rows = reader.poll()
    assert sorted((row[2], row[0]) for row in rows) == sorted(
        [(t, T0 + 10) for t in tickers] + [("AAPL.N", T0 + 11)])


def test_reader_keeps_its_place_when_the_connection_drops(standin, db_name) -> None:
    """Guards exactly-once across a TDengine outage: after reconnecting, no row is delivered again
    and none written during the outage is missed."""
    cfg = TaosConfig(standin.host, standin.port, "root", "taosdata", db_name, "trades")
    conn = taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")
    conn.execute(schema.create_database_sql(db_name))
    conn.execute(schema.create_stable_sql(db_name, "trades"))
    reader = reader_for(cfg)
    write(cfg, "AAPL.N", [T0 + 1, T0 + 2])
    assert len(reader.poll()) == 2
    standin.stop()
    with pytest.raises(taosws.Error):
        reader.poll()
    standin.start()
    write(cfg, "AAPL.N", [T0 + 3])
    assert stamps_of(reader.poll()) == [T0 + 3]
    assert reader.stats.delivered == 3


def test_rows_written_after_the_table_appeared_are_all_delivered(target) -> None:
    """Guards against treating a producer's first rows as history: when the reader saw the table
    empty (or missing), every row written afterwards is new, even beyond `initial_rows`."""
    reader = reader_for(target, initial_rows=3)
    assert reader.poll() == []
    write(target, "AAPL.N", [T0 + i for i in range(10)])
    assert stamps_of(reader.poll()) == [T0 + i for i in range(10)]


def test_rows_written_after_a_missing_table_are_all_delivered(td, db_name) -> None:
    """Guards the start-up order of the demo: server first (table missing), producer second."""
    cfg = TaosConfig(td.host, td.port, td.user, td.password, db_name, "trades")
    source = PollSource(cfg, ReaderOptions(initial_rows=3, lookback_ms=1000, refresh=0.01))
    assert source.read().state == FeedState.WAITING_FOR_TABLE
    conn = td.connect()
    conn.execute(schema.create_database_sql(db_name))
    conn.execute(schema.create_stable_sql(db_name, "trades"))
    conn.close()
    write(cfg, "AAPL.N", [T0 + i for i in range(5)])
    update = source.read()
    assert update.table is not None and update.count == 5
