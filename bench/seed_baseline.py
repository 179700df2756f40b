"""The original demo's reading algorithm, run as its own process: bench/pipeline.py's baseline
(its `seed` rows).

As the original demo did it: every 250 ms, read "the last second" newest first with LIMIT 1000,
build a list of dicts, `table.update()` it into a Perspective table. Differences, kept small on
purpose: timestamps come back as integers (CAST) so that rows can be matched exactly, and the table
has no limit so that nothing it received is dropped before it is counted.
"""

from __future__ import annotations

import time
from collections import Counter
from multiprocessing.connection import Connection

import perspective

from tdpersp.core import schema
from tdpersp.core.tdconn import LazyConnection, TaosConfig
from tdpersp.core.tdsql import TICKS_PER_MS, table_ref

_SQL = ("SELECT CAST(`timestamp` AS BIGINT), ticker, client, `open`, high, low, `close`, volume, "
        "CAST(`date` AS BIGINT) FROM {table} WHERE `timestamp` >= NOW() - 1s "
        "ORDER BY `timestamp` DESC LIMIT 1000")
# The original demo's Perspective table (ticker back among the columns; volume an integer).
PERSPECTIVE_SCHEMA: dict[str, str] = {
    "timestamp": "datetime",
    "ticker": "string",
    "client": "string",
    "open": "float",
    "high": "float",
    "low": "float",
    "close": "float",
    "volume": "integer",
    "date": "datetime",
}
FIELDS = tuple(PERSPECTIVE_SCHEMA)  # the order the SELECT above returns them in


def run(cfg: TaosConfig, pipe: Connection) -> None:
    """Poll until the pipe says stop; then send back (rows received per timestamp key, CPU seconds
    spent polling: start-up, i.e. imports and the first connection, left out)."""
    table = perspective.Server().new_local_client().table(PERSPECTIVE_SCHEMA)
    conn = LazyConnection(cfg)
    sql = _SQL.format(table=table_ref(cfg.database, cfg.table))
    ticks_per_ms = TICKS_PER_MS[schema.PRECISION]
    seen: Counter[int] = Counter()
    started = time.process_time()
    while not pipe.poll(0.25):
        try:
            rows = conn.query(sql)
        except Exception:  # e.g. the table does not exist yet: try again next period, as the original did
            continue
        seen.update(row[0] for row in rows)
        data = [dict(zip(FIELDS, row, strict=True)) for row in rows]
        for item in data:
            item["timestamp"] //= ticks_per_ms
            item["date"] //= ticks_per_ms
        if data:
            table.update(data)
    pipe.send((seen, time.process_time() - started))
