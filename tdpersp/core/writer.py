"""Writing a dataset's batches into TDengine with one prepared statement (stmt2) per producer."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import taosws

from tdpersp.core import schema
from tdpersp.core.dataset import Dataset
from tdpersp.core.tdconn import TaosConfig, database_row, error_text, is_connection_error, precision_of
from tdpersp.core.tdsql import table_ref

Batch = Any  # whatever the dataset's maker makes and its `bind` takes
T = TypeVar("T")

log = logging.getLogger(__name__)


class SchemaError(RuntimeError):
    """The database or the supertable exists but cannot hold our rows as they are (e.g. a
    millisecond database for trades, or another dataset's table)."""


def ensure_schema(conn: taosws.Connection, cfg: TaosConfig, dataset: Dataset,
                  replica: int | None = None) -> str:
    """Create the database (with ``replica`` copies, if given) and supertable when missing; refuse a
    database of a precision the dataset cannot stamp, or a supertable that is not the dataset's.
    Returns the precision."""
    conn.execute(schema.create_database_sql(cfg.database, replica))
    precision = database_precision(conn, cfg.database)
    if replica is not None:
        warn_other_replica(conn, cfg.database, replica)
    if precision not in dataset.precisions:
        raise SchemaError(
            f"database {cfg.database!r} has precision {precision!r}, but the producer writes "
            f"'{dataset.precisions[0]}' timestamps: choose another TAOS_DATABASE or drop this one"
        )
    conn.execute(dataset.create_stable_sql(cfg.database, cfg.table))
    problems = dataset.mismatch(conn.query(f"DESCRIBE {table_ref(cfg.database, cfg.table)}"))
    if problems:
        raise SchemaError(
            f"TAOS_TABLENAME {cfg.table!r}: {cfg.database}.{cfg.table} exists but is not the "
            f"{dataset.name} dataset's supertable: {'; '.join(problems)}. Choose another "
            "TAOS_TABLENAME (or the dataset that table holds), or drop it"
        )
    return precision


def database_precision(conn: taosws.Connection, database: str) -> str:
    precision = precision_of(conn, database)
    if precision is None:
        raise SchemaError(f"database {database!r} is missing right after CREATE DATABASE")
    return precision


def warn_other_replica(conn: taosws.Connection, database: str, replica: int) -> None:
    """A database that existed keeps its replicas (IF NOT EXISTS): say so rather than stop, as
    writing works all the same; only losing a dnode is then not survived."""
    row = database_row(conn, database) or {}
    if row.get("replica") != replica:
        log.warning("database %r has %s replica(s), not the %d TAOS_REPLICA asks: it existed already. "
                    "ALTER DATABASE %s REPLICA %d changes it", database, row.get("replica"), replica,
                    database, replica)


class BatchWriter:
    """Binds a whole batch, every subtable of it at once, and executes it: one round trip.

    stmt2 checks bound types against the table, so each column is bound with the taosws helper
    of its SQL type (trades' `volume` is INT UNSIGNED: the original demo bound it as signed,
    which stmt2 rejects) and timestamps with the helper of the database's precision."""

    def __init__(self, conn: taosws.Connection, cfg: TaosConfig, dataset: Dataset, precision: str) -> None:
        self.precision = precision
        self._table = cfg.table
        self._dataset = dataset
        self._conn = conn
        self._stmt = conn.stmt2_statement()
        self._stmt.prepare(dataset.insert_sql(cfg.database, cfg.table))

    def write(self, batch: Batch) -> int:
        self._stmt.bind(self._dataset.bind(batch, self._table, self.precision))
        return self._stmt.execute()

    def close(self) -> None:
        with contextlib.suppress(taosws.Error):  # a broken connection has nothing left to close
            self._conn.close()


class ResilientWriter:
    """Survives TDengine restarts: on a failed write it reconnects and writes the same batch again.

    Rewriting is safe because the batch keeps its timestamps: rows that did land are overwritten
    by identical rows (same primary key), so a retry can neither lose nor duplicate a row. A write
    that fails again on a fresh connection is a real error (not an outage) and is raised.
    """

    def __init__(self, open_writer: Callable[[], BatchWriter], should_stop: Callable[[], bool],
                 retry_every: float = 1.0) -> None:
        self._open = open_writer
        self._should_stop = should_stop
        self._retry_every = retry_every
        self._writer: BatchWriter | None = None
        self._precision: str | None = None

    def precision(self) -> str:
        """The database's timestamp precision, connecting first (and waiting for TDengine)."""
        return self._attempt(lambda writer: writer.precision, "TDengine not ready (%s); retrying")

    def write(self, batch: Batch) -> int:
        return self._attempt(lambda writer: writer.write(batch),
                             f"TDengine write failed (%s); retrying the same {len(batch)} rows")

    def _attempt(self, action: Callable[[BatchWriter], T], retrying: str) -> T:
        while True:
            fresh = self._writer is None
            try:
                if self._writer is None:
                    self._writer = self._opened()
                return action(self._writer)
            except taosws.Error as err:
                if self._writer is not None:
                    self._writer.close()
                    self._writer = None
                if self._should_stop() or (fresh and not is_connection_error(err)):
                    raise
                log.warning(retrying, error_text(err))
                if fresh:  # TDengine is unreachable: wait; a stale connection is replaced at once
                    time.sleep(self._retry_every)

    def _opened(self) -> BatchWriter:
        """A new writer, on a database of the precision the rows so far were stamped in."""
        writer = self._open()
        if self._precision is None:
            self._precision = writer.precision
        elif writer.precision != self._precision:
            writer.close()
            raise SchemaError(f"database precision changed from {self._precision!r} to "
                              f"{writer.precision!r} while writing: the producer stops")
        return writer
