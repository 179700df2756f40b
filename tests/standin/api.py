"""The contract between the stand-in's protocol layer and its SQL engine.

The protocol layer (``protocol/``) speaks taosAdapter's WebSocket protocol and knows nothing
of SQL; the engine (``sql/``) knows TDengine SQL and nothing of frames. Everything that
crosses between them is one of these plain objects. Engine failures are raised as
:class:`tests.standin.errors.TDError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo


@dataclass
class Session:
    """Per-connection state: who is connected, the current database, the connection timezone."""

    user: str
    db: str | None = None
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))


@dataclass(frozen=True)
class Field:
    """One result column: ``length`` is what the client shows (VARCHAR(n) -> n), ``width`` the
    internal block width (VARCHAR(n) -> n+2, NCHAR(n) -> 4n+2, fixed types -> size); ``precision``
    and ``scale`` are a DECIMAL's (0 otherwise)."""

    name: str
    type: int
    length: int
    width: int
    precision: int = 0
    scale: int = 0


class RowStream(Protocol):
    """Rows handed out in chunks, so that the protocol can send the first blocks while the rest
    is still being read (the client decodes one block while the stand-in encodes the next)."""

    def take(self, n: int) -> list[tuple[Any, ...]]:
        """The next at most ``n`` rows; an empty list once all were taken."""
        ...


@dataclass
class ResultSet:
    """Rows of a query, as a list or a RowStream. Timestamps are ints in ``precision`` ("ms", "us"
    or "ns"); BOOL is bool, integers int, FLOAT/DOUBLE float, VARCHAR/NCHAR str, VARBINARY/BLOB
    bytes, DECIMAL decimal.Decimal, NULL None."""

    fields: list[Field]
    rows: list[tuple[Any, ...]] | RowStream
    precision: str = "ms"


@dataclass
class Affected:
    """Outcome of a statement without a result set (DDL, INSERT, USE)."""

    rows: int


Result = ResultSet | Affected


@dataclass(frozen=True)
class StmtField:
    """One placeholder of a prepared INSERT, as stmt2_prepare reports it.

    ``bind_type``: 1 = column, 2 = tag, 4 = table name. ``width`` is the internal width."""

    name: str
    type: int
    precision: str
    scale: int
    width: int
    bind_type: int


@dataclass
class BoundColumn:
    """Values bound to one placeholder column: ``type`` is the type code the client sent
    (None when the wire carries no type, e.g. stmt v1 ``set_tags`` JSON)."""

    type: int | None
    values: list[Any]


@dataclass
class BoundTable:
    """One table's worth of bound data: optional table name and tags, then the columns."""

    columns: list[BoundColumn]
    tbname: str | None = None
    tags: list[BoundColumn] | None = None


class Prepared(Protocol):
    """A statement prepared with ``?`` placeholders (stmt v1 or stmt2)."""

    is_insert: bool
    fields: list[StmtField]  # insert: every placeholder; query: empty
    param_count: int

    def insert(self, tables: list[BoundTable], mode: str) -> int:
        """Write the bound rows; ``mode`` is "v1" or "v2" (they differ in type checking).
        Returns the number of rows written."""
        ...

    def query(self, params: list[BoundColumn]) -> ResultSet:
        """Run a prepared SELECT with one value per parameter."""
        ...


@dataclass
class TopicMessage:
    """What one TMQ poll hands out: rows of one topic from one vgroup, one block per written table."""

    topic: str
    db: str
    vgroup: int
    offset: int  # the WAL version after the rows it covers: what committing it stores
    blocks: list[tuple[str, ResultSet]]  # (table name, its rows)


class SubscriptionsAPI(Protocol):
    """TMQ: consumers by id; offsets are WAL versions (see sql/topics.py)."""

    on_data: list[Any]  # callables run after every write, to wake waiting polls

    def subscribe(self, group: str, topics: list[str], reset: str) -> int: ...
    def close(self, consumer_id: int) -> None: ...
    def poll(self, consumer_id: int) -> TopicMessage | None: ...
    def commit(self, consumer_id: int, topic: str, vgroup_id: int, offset: int) -> None: ...
    def commit_all(self, consumer_id: int) -> None: ...
    def committed_offset(self, consumer_id: int, topic: str, vgroup_id: int) -> int: ...
    def position(self, consumer_id: int, topic: str, vgroup_id: int) -> int: ...
    def seek(self, consumer_id: int, topic: str, vgroup_id: int, offset: int) -> None: ...
    def assignment(self, consumer_id: int, topic: str) -> list[tuple[int, int, int, int]]: ...
    def trim(self) -> int: ...


class EngineAPI(Protocol):
    version: str
    tmq: SubscriptionsAPI

    def open_session(self, user: str, password: str, db: str | None, tz: str | None) -> Session:
        """Authenticate and choose the database; raises AUTH_FAILURE / DB_NOT_EXIST."""
        ...

    def execute(self, session: Session, sql: str) -> Result:
        ...

    def prepare(self, session: Session, sql: str) -> Prepared:
        ...
