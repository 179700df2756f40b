"""Connecting to TDengine over taosAdapter's WebSocket API with the `taosws` client.

`taosws` needs no native library (unlike taospy's `taos` module, which needs `libtaos.so`).
"""

from __future__ import annotations

import argparse
import contextlib
from dataclasses import dataclass

import taosws

from tdpersp.core import endpoints

# Fail a connection attempt quickly and let our own loops decide how to wait: taosws holds
# the GIL while it blocks, so its built-in retries (5 by default) would freeze a web server.
_DSN_OPTIONS = "conn_retries=0"


@dataclass(frozen=True)
class TaosConfig:
    host: str  # one host, or several `host[:port]` separated by commas (see endpoints.py)
    port: int  # the port of each host that names none
    user: str
    password: str
    database: str
    table: str

    @classmethod
    def from_settings(cls, values: argparse.Namespace) -> TaosConfig:
        return cls(
            host=values.taos_host,
            port=values.taos_port,
            user=values.taos_user,
            password=values.taos_password,
            database=values.taos_database,
            table=values.taos_tablename,
        )

    @property
    def endpoints(self) -> tuple[endpoints.Endpoint, ...]:
        return endpoints.resolve(self.host, self.port)

    def describe(self) -> str:
        """Where we connect, for logs: never includes the password."""
        return f"taosws://{self.user}@{endpoints.joined(self.endpoints)}/{self.database}"


def connect(cfg: TaosConfig, *, use_database: bool = True) -> taosws.Connection:
    """Open one WebSocket connection to any of the endpoints; raises taosws.Error when none answers."""
    first, *others = cfg.endpoints
    database = cfg.database if use_database else ""
    dsn = f"taosws://{endpoints.joined(tuple(others))}/{database}?{_DSN_OPTIONS}"
    # The first endpoint goes in as host=/port=: taosws adds those keywords' address to the DSN's,
    # and without them it adds an empty one, which costs every other connect a 200 ms back-off.
    return taosws.connect(dsn, host=first[0], port=first[1], user=cfg.user, password=cfg.password)


def consumer(cfg: TaosConfig, conf: dict[str, str]) -> taosws.Consumer:
    """A TMQ consumer that may connect to any of the endpoints (``conf``: group, offsets...)."""
    first, *others = cfg.endpoints
    conf = conf | {"td.connect.websocket.scheme": "ws", "td.connect.ip": first[0],
                   "td.connect.port": str(first[1]), "td.connect.user": cfg.user,
                   "td.connect.pass": cfg.password}
    # As in connect(): conf's address joins the DSN's; the DSN is only needed for more of them.
    dsn = f"taosws://{endpoints.joined(tuple(others))}" if others else None
    return taosws.Consumer(conf=conf, dsn=dsn)


def precision_of(conn: taosws.Connection, database: str) -> str | None:
    """The database's timestamp precision ('ms', 'us' or 'ns'), None when it does not exist."""
    row = database_row(conn, database)
    return None if row is None else str(row["precision"])


def database_row(conn: taosws.Connection, database: str) -> dict[str, object] | None:
    """The database's SHOW DATABASES row by column name (precision, replica...), None when missing."""
    result = conn.query("SHOW DATABASES")
    names = [field.name() for field in result.fields]
    for row in result:
        if row[names.index("name")] == database:
            return dict(zip(names, row, strict=True))
    return None


def error_text(err: BaseException) -> str:
    """taosws messages look like "[0x2662] Internal error: `Table does not exist`"."""
    return str(err).replace("Internal error: ", "").replace("`", "")


def is_connection_error(err: BaseException) -> bool:
    """Unreachable or dropped (worth waiting for), as opposed to refused (e.g. a bad password)."""
    text = str(err).lower()
    return "0xe001" in text or "0xe002" in text or "closed" in text or (
        "connection" in text and "0x0357" not in text)


def is_missing_table(err: BaseException) -> bool:
    text = str(err)
    return "0x2662" in text or "0x2603" in text or "0x0388" in text


class LazyConnection:
    """A connection that opens on first use and is dropped when it breaks, to be reopened later.

    Readers keep their state (watermark, seen keys) across TDengine restarts by holding one of
    these instead of a raw connection."""

    def __init__(self, cfg: TaosConfig) -> None:
        self._cfg = cfg
        self._conn: taosws.Connection | None = None

    def connection(self) -> taosws.Connection:
        """The connection, opened if it is not."""
        if self._conn is None:
            # No database in the DSN: queries name it, and a missing database is then a query
            # error (0x0388) rather than a failed connect, which taosws reports less reliably.
            self._conn = connect(self._cfg, use_database=False)
        return self._conn

    def query(self, sql: str) -> list[tuple]:
        try:
            return list(self.connection().query(sql))
        except taosws.Error as err:
            if is_connection_error(err):  # a SQL error (e.g. no such table) keeps the connection
                self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(taosws.Error):  # already broken: nothing left to close
                self._conn.close()
            self._conn = None
