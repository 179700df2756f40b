"""Topics, the write-ahead log they read, and consumer groups: TDengine's data subscription (TMQ).

TDengine keeps a WAL per vgroup; a topic is a query applied to the WAL's entries, so a consumer
sees every write (old timestamps and overwrites included) in write order, whatever the rows'
timestamps. Offsets are WAL versions: one per write request per vgroup, counting from 0. A
consumer's *position* and a group's *committed* offset are the version of the next entry to read.

Tables are spread over ``VGROUPS`` vgroups by a hash of their name, as TDengine does, so a
subscriber sees several independent offsets. Everything here runs on the stand-in's one thread.
"""

from __future__ import annotations

import itertools
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..api import ResultSet, TopicMessage
from ..errors import ADAPTER_ERROR, TDError
from . import ast as A
from .catalog import Catalog, Column, Table

VGROUPS = 2  # TDengine's default for CREATE DATABASE
FIRST_VGROUP_ID = 2  # vgroup ids start after the mnode's
# The WAL is kept in memory: past this many rows per vgroup the oldest entries go (README).
WAL_RETENTION_ROWS = 2_000_000
MESSAGE_ROWS = 4096  # a poll answers with at most about this many rows (several WAL entries)
# TDengine reports "no committed offset" as the error code itself, TSDB_CODE_TMQ_NO_COMMITTED.
NO_COMMITTED = -2147467247

TOPIC_ALREADY_EXIST = 0x03E0  # TSDB_CODE_MND_TOPIC_ALREADY_EXIST "Topic already exists"
TOPIC_NOT_EXIST = 0x03E1  # TSDB_CODE_MND_TOPIC_NOT_EXIST "Topic not exist"
TOPIC_SUBSCRIBED = 0x03EB  # TSDB_CODE_MND_TOPIC_SUBSCRIBED "Topic subscribed cannot be dropped"
INVALID_TOPIC_QUERY = 0x03E4  # TSDB_CODE_MND_INVALID_TOPIC_QUERY "Topic with invalid query"
PAR_INVALID_TOPIC_QUERY = 0x2639  # TSDB_CODE_PAR_INVALID_TOPIC_QUERY "Invalid topic query" (DISTINCT)
TOPIC_MUST_BE_DELETED = 0x03ED  # TSDB_CODE_MND_TOPIC_MUST_BE_DELETED "Topic must be dropped first"
# taosAdapter leaves an empty group.id unset, so tmq_consumer_new fails ("group is empty") and the
# adapter answers 0xFFFF; TDengine's tmq_conf_set refuses a group.id holding ':' (newer versions).
GROUP_SEPARATOR = ":"
TMQ_INVALID_VGID = 0x4008  # TSDB_CODE_TMQ_INVALID_VGID "VgId does not belong to this consumer"
TMQ_INVALID_TOPIC = 0x4009  # TSDB_CODE_TMQ_INVALID_TOPIC "Topic does not belong to this consumer"
TMQ_VERSION_OUT_OF_RANGE = 0x4007  # TSDB_CODE_TMQ_VERSION_OUT_OF_RANGE "Offset out of range"


@dataclass
class Entry:
    """One write request to one table: rows in the order of ``columns``, the table's columns when
    it was written (None = not written); the schema may change later (ALTER TABLE)."""

    version: int
    table: Table
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]


@dataclass
class Vgroup:
    id: int
    entries: list[Entry] = field(default_factory=list)
    begin: int = 0  # the oldest version still kept (raised by trim and retention)
    rows: int = 0

    @property
    def end(self) -> int:
        return self.begin + len(self.entries)

    def since(self, version: int) -> Iterator[Entry]:
        """Entries from ``version`` on, without copying the tail (a backlog can be long)."""
        return itertools.islice(self.entries, max(0, version - self.begin), None)


@dataclass
class Topic:
    name: str
    db: str
    query: A.Select
    sql: str
    created: int = field(default_factory=lambda: time.time_ns() // 1_000_000)


@dataclass
class Consumer:
    id: int
    group: str
    topics: list[str]
    reset: str  # earliest | latest | none
    positions: dict[tuple[str, int], int] = field(default_factory=dict)  # (topic, vgroup) -> version
    turn: int = 0  # round-robin over the assigned (topic, vgroup) pairs


# The topic's rows of one entry: (topic, table, the entry's columns, its rows).
Evaluate = Callable[[Topic, Table, Sequence[Column], list[tuple[Any, ...]]], ResultSet]


class Subscriptions:
    """The WAL of every database, the topics, the groups' committed offsets and live consumers."""

    def __init__(self, catalog: Catalog, evaluate: Evaluate) -> None:
        self.catalog = catalog
        self.evaluate = evaluate
        self.topics: dict[str, Topic] = {}
        self.wal: dict[str, list[Vgroup]] = {}
        self.committed: dict[tuple[str, str, int], int] = {}  # (group, topic, vgroup) -> version
        self.consumers: dict[int, Consumer] = {}
        self.on_data: list[Callable[[], None]] = []  # wakes polls waiting for data
        self._ids = itertools.count(1)

    # ------------------------------------------------------------ WAL

    def vgroups(self, db: str) -> list[Vgroup]:
        if db not in self.wal:
            self.wal[db] = [Vgroup(FIRST_VGROUP_ID + i) for i in range(VGROUPS)]
        return self.wal[db]

    def vgroup_of(self, table: Table) -> Vgroup:
        groups = self.vgroups(table.db)
        return groups[zlib.crc32(table.name.encode()) % len(groups)]

    def record(self, table: Table, columns: list[Column], rows: Sequence[tuple[Any, ...]]) -> None:
        """Store listener: append one write to its vgroup's WAL, in the table's column order."""
        if table.kind == "super":
            return
        if columns == table.columns:
            full = list(rows)  # the usual case: no per-row work on the write path
        else:
            where = [columns.index(c) if c in columns else None for c in table.columns]
            full = [tuple(None if i is None else row[i] for i in where) for row in rows]
        vgroup = self.vgroup_of(table)
        vgroup.entries.append(Entry(vgroup.end, table, tuple(table.columns), full))
        vgroup.rows += len(full)
        while vgroup.rows > WAL_RETENTION_ROWS and len(vgroup.entries) > 1:
            vgroup.rows -= len(vgroup.entries.pop(0).rows)
            vgroup.begin += 1
        for wake in list(self.on_data):
            wake()

    def forget_database(self, db: str) -> None:
        self.wal.pop(db, None)

    def trim(self) -> int:
        """Drop every WAL entry but the newest of each vgroup (as WAL retention expiry would)."""
        dropped = 0
        for vgroup in itertools.chain.from_iterable(self.wal.values()):
            keep = vgroup.entries[-1:]
            dropped += len(vgroup.entries) - len(keep)
            vgroup.begin = vgroup.end - len(keep)
            vgroup.entries = keep
            vgroup.rows = sum(len(e.rows) for e in keep)
        return dropped

    # ------------------------------------------------------------ topics

    def create_topic(self, stmt: A.CreateTopic, db: str) -> None:
        if stmt.name in self.topics:
            if stmt.if_not_exists:
                return
            raise TDError(TOPIC_ALREADY_EXIST, "Topic already exists")
        self.topics[stmt.name] = Topic(stmt.name, db, stmt.query, stmt.sql)

    def drop_topic(self, stmt: A.DropTopic) -> None:
        if stmt.name not in self.topics:
            if stmt.if_exists:
                return
            raise TDError(TOPIC_NOT_EXIST, "Topic not exist")
        if not stmt.force and any(stmt.name in c.topics for c in self.consumers.values()):
            raise TDError(TOPIC_SUBSCRIBED, "Topic subscribed cannot be dropped")
        del self.topics[stmt.name]
        for key in [k for k in self.committed if k[1] == stmt.name]:
            del self.committed[key]

    # ------------------------------------------------------------ consumers

    def subscribe(self, group: str, topics: list[str], reset: str) -> int:
        if not group:
            raise TDError(ADAPTER_ERROR, "group is empty")
        if GROUP_SEPARATOR in group:
            raise TDError(ADAPTER_ERROR, "fail")  # tmq_err2str(TMQ_CONF_INVALID)
        for name in topics:
            if name not in self.topics:
                raise TDError(TOPIC_NOT_EXIST, "Topic not exist")
        consumer = Consumer(next(self._ids), group, list(topics), reset or "latest")
        for name in topics:
            for vgroup in self.vgroups(self.topics[name].db):
                consumer.positions[(name, vgroup.id)] = self._start(consumer, name, vgroup)
        self.consumers[consumer.id] = consumer
        return consumer.id

    def _start(self, consumer: Consumer, topic: str, vgroup: Vgroup) -> int:
        """Where a new consumer starts: its group's committed offset, else the reset rule. A
        committed offset the WAL no longer holds resumes at the oldest entry kept."""
        committed = self.committed.get((consumer.group, topic, vgroup.id))
        if committed is not None:
            return max(committed, vgroup.begin)
        return vgroup.begin if consumer.reset == "earliest" else vgroup.end

    def close(self, consumer_id: int) -> None:
        self.consumers.pop(consumer_id, None)

    def consumer(self, consumer_id: int) -> Consumer:
        consumer = self.consumers.get(consumer_id)
        if consumer is None:
            raise TDError(TMQ_INVALID_TOPIC, "Topic does not belong to this consumer")
        return consumer

    def poll(self, consumer_id: int) -> TopicMessage | None:
        """The next rows for this consumer, or None when it has read everything written. A topic
        dropped (FORCE) under the consumer just stops bringing rows: taosAdapter's poll answers
        "no message" whatever tmq_consumer_poll's error was."""
        consumer = self.consumer(consumer_id)
        keys = [key for key in consumer.positions if key[0] in self.topics]
        for step in range(len(keys)):
            topic_name, vgroup_id = keys[(consumer.turn + step) % len(keys)]
            message = self._read(consumer, self.topics[topic_name], vgroup_id)
            if message is not None:
                consumer.turn = (consumer.turn + step + 1) % len(keys)
                return message
        return None

    def _read(self, consumer: Consumer, topic: Topic, vgroup_id: int) -> TopicMessage | None:
        vgroup = self._vgroup(topic.db, vgroup_id)
        key = (topic.name, vgroup_id)
        position = max(consumer.positions[key], vgroup.begin)
        blocks: list[tuple[str, ResultSet]] = []
        rows = 0
        for entry in vgroup.since(position):
            if rows >= MESSAGE_ROWS:
                break
            position = entry.version + 1
            if not self._feeds(topic, entry.table):
                continue
            result = self.evaluate(topic, entry.table, entry.columns, entry.rows)
            if result.rows:
                blocks.append((entry.table.name, result))
                rows += len(result.rows)
        consumer.positions[key] = position
        if not blocks:
            return None
        return TopicMessage(topic.name, topic.db, vgroup_id, position, blocks)

    def _feeds(self, topic: Topic, table: Table) -> bool:
        source = topic.query.source
        assert isinstance(source, A.Name)
        name = source.name
        return table.db == (source.db or topic.db) and (
            table.name == name or (table.stable is not None and table.stable.name == name))

    def topics_reading(self, table: Table) -> list[Topic]:
        """The topics whose query reads ``table``: over it, or (for a supertable) over one of its
        subtables, as mndStb.c's topic check counts a topic over a child of the supertable."""
        found = []
        for topic in self.topics.values():
            source = topic.query.source
            assert isinstance(source, A.Name)
            target = self.catalog.find(source.db or topic.db, source.name)
            if target is not None and (target is table or target.stable is table):
                found.append(topic)
        return found

    def _vgroup(self, db: str, vgroup_id: int) -> Vgroup:
        for vgroup in self.vgroups(db):
            if vgroup.id == vgroup_id:
                return vgroup
        raise TDError(TMQ_INVALID_VGID, "VgId does not belong to this consumer")

    # ------------------------------------------------------------ offsets

    def _key(self, consumer: Consumer, topic: str, vgroup_id: int) -> tuple[str, int]:
        if topic not in consumer.topics or topic not in self.topics:
            raise TDError(TMQ_INVALID_TOPIC, "Topic does not belong to this consumer")
        if (topic, vgroup_id) not in consumer.positions:
            raise TDError(TMQ_INVALID_VGID, "VgId does not belong to this consumer")
        return topic, vgroup_id

    def commit(self, consumer_id: int, topic: str, vgroup_id: int, offset: int) -> None:
        consumer = self.consumer(consumer_id)
        self._key(consumer, topic, vgroup_id)
        self.committed[(consumer.group, topic, vgroup_id)] = offset

    def commit_all(self, consumer_id: int) -> None:
        """What taosAdapter's ``commit`` does (tmq_commit_sync with no message): the consumer's
        position in every vgroup of every live topic becomes its group's committed offset."""
        consumer = self.consumer(consumer_id)
        for (topic, vgroup_id), position in consumer.positions.items():
            if topic in self.topics:
                self.committed[(consumer.group, topic, vgroup_id)] = position

    def committed_offset(self, consumer_id: int, topic: str, vgroup_id: int) -> int:
        consumer = self.consumer(consumer_id)
        self._key(consumer, topic, vgroup_id)
        return self.committed.get((consumer.group, topic, vgroup_id), NO_COMMITTED)

    def position(self, consumer_id: int, topic: str, vgroup_id: int) -> int:
        consumer = self.consumer(consumer_id)
        return consumer.positions[self._key(consumer, topic, vgroup_id)]

    def seek(self, consumer_id: int, topic: str, vgroup_id: int, offset: int) -> None:
        consumer = self.consumer(consumer_id)
        key = self._key(consumer, topic, vgroup_id)
        vgroup = self._vgroup(self.topics[topic].db, vgroup_id)
        if not vgroup.begin <= offset <= vgroup.end:
            raise TDError(TMQ_VERSION_OUT_OF_RANGE, "Offset out of range")
        consumer.positions[key] = offset

    def assignment(self, consumer_id: int, topic: str) -> list[tuple[int, int, int, int]]:
        """(vgroup id, position, begin, end) of each vgroup of ``topic``."""
        consumer = self.consumer(consumer_id)
        if topic not in consumer.topics or topic not in self.topics:
            raise TDError(TMQ_INVALID_TOPIC, "Topic does not belong to this consumer")
        return [(v.id, consumer.positions[(topic, v.id)], v.begin, v.end)
                for v in self.vgroups(self.topics[topic].db)]
