"""Writing trade batches into TDengine with one prepared statement (stmt2) per producer."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable

import taosws

from tdpersp.core import schema
from tdpersp.core.tdconn import TaosConfig, error_text, is_connection_error, precision_of
from tdpersp.core.trades import Batch

log = logging.getLogger(__name__)


class SchemaError(RuntimeError):
    """The database exists but cannot hold our rows as they are (e.g. millisecond precision)."""


def ensure_schema(conn: taosws.Connection, cfg: TaosConfig) -> None:
    """Create the database and supertable when missing; refuse a database of another precision."""
    conn.execute(schema.create_database_sql(cfg.database))
    precision = database_precision(conn, cfg.database)
    if precision != schema.PRECISION:
        raise SchemaError(
            f"database {cfg.database!r} has precision {precision!r}, but the producer writes "
            f"'{schema.PRECISION}' timestamps: choose another TAOS_DATABASE or drop this one"
        )
    conn.execute(schema.create_stable_sql(cfg.database, cfg.table))


def database_precision(conn: taosws.Connection, database: str) -> str:
    precision = precision_of(conn, database)
    if precision is None:
        raise SchemaError(f"database {database!r} is missing right after CREATE DATABASE")
    return precision


class TradeWriter:
    """Binds a whole batch, every ticker's subtable at once, and executes it: one round trip.

    stmt2 checks bound types against the table: `volume` is INT UNSIGNED, so it is bound with
    the unsigned helper (the original demo used the signed one, which stmt2 rejects)."""

    def __init__(self, conn: taosws.Connection, cfg: TaosConfig) -> None:
        self._table = cfg.table
        self._conn = conn
        self._stmt = conn.stmt2_statement()
        self._stmt.prepare(schema.insert_sql(cfg.database, cfg.table))

    def write(self, batch: Batch) -> int:
        params = [self._bind(batch, ticker, rows) for ticker, rows in batch.by_ticker().items()]
        self._stmt.bind(params)
        return self._stmt.execute()

    def close(self) -> None:
        with contextlib.suppress(taosws.Error):  # a broken connection has nothing left to close
            self._conn.close()

    def _bind(self, batch: Batch, ticker: str, rows: list[int]) -> object:
        def pick(values: list) -> list:
            return [values[i] for i in rows]

        return taosws.stmt2_bind_param_view(
            table_name=schema.subtable_name(self._table, ticker),
            tags=[taosws.nchar_to_tag(ticker)],
            columns=[
                taosws.micros_timestamps_to_column(pick(batch.timestamp)),
                taosws.nchar_to_column(pick(batch.client)),
                taosws.floats_to_column(pick(batch.open)),
                taosws.floats_to_column(pick(batch.high)),
                taosws.floats_to_column(pick(batch.low)),
                taosws.floats_to_column(pick(batch.close)),
                taosws.unsigned_ints_to_column(pick(batch.volume)),
                taosws.micros_timestamps_to_column(pick(batch.date)),
            ],
        )


class ResilientWriter:
    """Survives TDengine restarts: on a failed write it reconnects and writes the same batch again.

    Rewriting is safe because the batch keeps its timestamps: rows that did land are overwritten
    by identical rows (same primary key), so a retry can neither lose nor duplicate a row. A write
    that fails again on a fresh connection is a real error (not an outage) and is raised.
    """

    def __init__(self, open_writer: Callable[[], TradeWriter], should_stop: Callable[[], bool],
                 retry_every: float = 1.0) -> None:
        self._open = open_writer
        self._should_stop = should_stop
        self._retry_every = retry_every
        self._writer: TradeWriter | None = None

    def write(self, batch: Batch) -> int:
        while True:
            fresh = self._writer is None
            try:
                if self._writer is None:
                    self._writer = self._open()
                return self._writer.write(batch)
            except taosws.Error as err:
                if self._writer is not None:
                    self._writer.close()
                    self._writer = None
                if self._should_stop() or (fresh and not is_connection_error(err)):
                    raise
                log.warning("TDengine write failed (%s); retrying the same %d rows", error_text(err),
                            len(batch))
                if fresh:  # TDengine is unreachable: wait; a stale connection is replaced at once
                    time.sleep(self._retry_every)

