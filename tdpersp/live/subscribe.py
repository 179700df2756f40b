"""Reading new rows by TDengine data subscription (TMQ): TDengine pushes them, whatever their timestamp.

A topic over the trades supertable (created if missing) is consumed with `taosws.Consumer` in the
reader's child process. Delivery follows arrival, not timestamps, so a row written hours late is
delivered like any other, once.

Start-up handoff, with no gap and no duplicate: subscribe and pin every vgroup's position at the
end of its log first, then query the newest PERSPECTIVE_TABLE_LIMIT rows. A row written between
the two is in both; the stream skips the keys (subtable, timestamp) the query loaded until it has
caught up (a poll that finds nothing), after which no loaded row can come again.

Offsets are committed only after the server acknowledged that `table.update()` applied the rows
(tdpersp/live/feed.py). After a lost connection the consumer resumes from the committed
offset; rows applied but not committed (the commit failed with the connection) are skipped by key.
If the committed offset is gone (the topic was dropped, or TDengine trimmed its log), each
subtable's rows newer than its newest delivered one are read again by query, and a log line says
that rows written meanwhile with older timestamps cannot be recovered.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import taosws

from tdpersp.core import tdconn
from tdpersp.core.tdconn import LazyConnection, TaosConfig, is_missing_table
from tdpersp.core.tdsql import quote
from tdpersp.live.messages import FeedState, ReaderOptions, ReaderStats, Update
from tdpersp.live.reader import NewRowReader
from tdpersp.live.rows import TS, Key, Row, RowLayout, keys
from tdpersp.live.source import RETRY_SECONDS, Shape, failure

POLL_SECONDS = 0.5  # the stand-in and TDengine answer as soon as data arrives
# For the messages already waiting after the first. Not 0: taosws asks the server to wait half
# the timeout and gives up after all of it, so a poll(timeout=0) gives up before any answer, and an
# answer that carried a message was lost (taos-ws-py 0.7.0: 50-160 of 10,000 rows at 1,000 rows/s in
# bench/pipeline.py, each a message the stand-in sent and the client never fetched). With 20 ms the
# server's 10 ms wait ends well before the client stops listening.
DRAIN_SECONDS = 0.02
HEALTH_SECONDS = 1.0
BATCH_ROWS = 50_000  # at most this many rows per table.update(), so that a backlog streams in steps
# Applied rows are committed at most this often (and at once when the stream goes idle). Finding
# the positions to commit is a round trip (`assignment()`), and one per vgroup to commit them: once
# per batch, they were 50 % of the reader's time at 50,000 rows/s (py-spy, 2026-12-02).
COMMIT_SECONDS = 0.5

TDENGINE_ERRORS = (taosws.Error,)


def unwrapped(call: Any, *args: Any) -> Any:
    """Call a taosws consumer method that unwrap()s its Rust errors (seek, commit_offset, committed,
    position): a failure there is pyo3's PanicException, a BaseException that no `except Exception`
    catches. It becomes a taosws.Error, so that a lost connection is handled like any other."""
    try:
        return call(*args)
    except Exception:
        raise
    except BaseException as err:
        if type(err).__name__ != "PanicException":
            raise
        raise taosws.Error(str(err)) from None


def default_topic(database: str, table: str) -> str:
    return f"{database}_{table}_live"[:192]


def default_group(port: int) -> str:
    """One group per server (host and port): two servers each get every row, and a restarted
    server finds its own group again."""
    host = "".join(c if c.isalnum() else "_" for c in socket.gethostname().lower())
    return f"perspective_{host}"[:50] + f"_{port}"


def topic_sql(layout: RowLayout, topic: str) -> str:
    """The topic's rows are the poll reader's: same columns, same order (tdpersp/live/rows.py)."""
    return f"CREATE TOPIC IF NOT EXISTS {quote(topic)} AS {layout.select_sql()}"


class RecentKeys:
    """The keys of the last few batches streamed, so that a row the log brings twice in a row
    reaches the table once.

    The log holds a row twice when it was written twice: a writer that lost its connection after
    TDengine stored a batch writes it again (TDengine keeps one row per key; its log keeps both),
    and a consumer that reconnects by itself between a poll and its commit reads the batch again.
    Both come within moments, so a few batches suffice (seen in CI: 233 rows doubled in
    tests/live/test_subscribe.py's restart test, where the producer's connection was dropped).
    A row overwritten with other values so soon keeps its first version in the live table.

    Commits trail the batches (COMMIT_SECONDS), so a reconnect brings again every batch since the
    last commit: those are all kept too, however many."""

    BATCHES = 8

    def __init__(self) -> None:
        self._batches: deque[set[Key]] = deque()
        self._keys: set[Key] = set()
        self._uncommitted = 0  # batches since the last commit

    def committed(self) -> None:
        self._uncommitted = 0

    def new(self, rows: list[Row], key: Callable[[Row], Key]) -> list[Row]:
        """`rows` less those already streamed lately (or twice in `rows`); remembers the rest."""
        fresh, seen = [], set()
        for row in rows:
            k = key(row)
            if k not in self._keys and k not in seen:
                seen.add(k)
                fresh.append(row)
        self._batches.append(seen)
        self._keys |= seen
        self._uncommitted += 1
        while len(self._batches) > max(self.BATCHES, self._uncommitted):
            self._keys -= self._batches.popleft()
        return fresh


class SubscriptionSource:
    """The `subscribe` source; see the module's docstring for its guarantees."""

    def __init__(self, cfg: TaosConfig, options: ReaderOptions) -> None:
        self.cfg, self.options = cfg, options
        self.stats = ReaderStats()
        self.where = f"{cfg.database}.{cfg.table}"
        self._conn = LazyConnection(cfg)
        self.shape = Shape(self._conn, cfg.database, cfg.table)
        self._reshaped = False  # the schema changed while streaming: a new topic, a new table
        self._consumer: Any = None
        # Per batch sent and not yet acknowledged, oldest first: the vgroups its rows came from
        # (tdpersp/live/process.py reads the next batch while the server applies one).
        self._unacked: deque[set[int]] = deque()
        self._applied: set[int] = set()  # vgroups of rows applied but not committed yet
        self._committed_at = 0.0  # time.monotonic() of the last commit
        self._skip: set[Key] = set()  # already in the table; the stream may bring them again
        self._recent = RecentKeys()
        # Newest timestamp delivered per subtable: where a refill starts. Per subtable, because the
        # stream brings each vgroup's rows in its own order: one global newest would skip the rows
        # of a subtable whose vgroup was behind.
        self._newest: dict[str, int] = {}
        self._started = False  # the first load happened
        self._from_start = False  # the table was missing at first: every row of it is new
        self._last_rows: list[Row] = []
        self._checked = 0.0  # time.monotonic() of the last successful health check
        self._lost: taosws.Error | None = None  # a commit failed: the next read() reports that outage

    def read(self) -> Update:
        try:
            if self._lost is not None:
                lost, self._lost = self._lost, None
                raise lost
            return self._poll() if self._consumer is not None else self._connect()
        except TDENGINE_ERRORS as err:
            self._close()
            if is_missing_table(err) and not self._started:
                self._from_start = True
            update = failure(err, self.where, self.stats)
            waiting = update.state == FeedState.WAITING_FOR_TDENGINE
            time.sleep(RETRY_SECONDS if waiting else self.options.refresh)
            return update

    def applied(self) -> None:
        """The server applied the oldest batch in flight: once none is, and the last commit is
        COMMIT_SECONDS old, commit."""
        if self._unacked:
            self._applied |= self._unacked.popleft()
        if self._commit_due() and not self._unacked:
            self._commit()

    def settle(self) -> bool:
        """A commit is due: the reader should let every batch in flight be applied before reading
        on, since a commit takes the consumer's position, which must be past applied rows only."""
        return self._commit_due() and bool(self._unacked)

    def _commit_due(self) -> bool:
        waiting = bool(self._applied or self._unacked)
        return waiting and time.monotonic() - self._committed_at >= COMMIT_SECONDS

    def _commit(self) -> None:
        """Commit, per vgroup, where the consumer stands: after the rows applied, as nothing is in
        flight. If that fails, remember the last batch's keys (the earlier uncommitted ones are in
        RecentKeys) and reconnect, resuming from the last good commit."""
        vgroups, self._applied = self._applied, set()
        try:
            for vgroup, position in self._positions(vgroups).items():
                unwrapped(self._consumer.commit_offset, self.options.topic, vgroup, position)
                self.stats.commits += 1
            self._committed_at = time.monotonic()
            self._recent.committed()
        except TDENGINE_ERRORS as err:
            self._skip.update(keys(self._last_rows, self.shape.layout.key))
            self._close()
            self._lost = err  # an outage like any other: its log line, then one for the recovery

    def committed(self) -> dict[int, int]:
        """The group's committed offset per vgroup, as TDengine has it."""
        return {vgroup.vg_id(): unwrapped(self._consumer.committed, self.options.topic, vgroup.vg_id())
                for vgroup in self._vgroups()}

    # --- connecting: topic, subscription, where to start ---------------------------------------

    def _connect(self) -> Update:
        fresh = self.shape.changed(now=True) or self._reshaped
        self._reshaped = False
        if fresh and self._started:
            self._start_over()
        self._conn.query(topic_sql(self.shape.layout, self.options.topic))
        consumer = tdconn.consumer(self.cfg, self._consumer_conf())
        consumer.subscribe([self.options.topic])
        self._consumer = consumer
        notice = ""
        if not self._started:
            rows = self._first_load()
        elif self._resumable():
            rows, notice = [], "subscription resumed from its committed offsets"
        else:
            rows = self._refill()
            notice = (f"topic {self.options.topic}: no committed offset for group {self.options.group} "
                      "(topic dropped, or its log trimmed); re-read rows newer than the newest delivered "
                      "by query: rows written meanwhile with older timestamps are not recovered")
        self._started = True
        self._skip.update(keys(rows, self.shape.layout.key))  # the stream may bring these until caught up
        update = self._deliver(rows)
        update.notice = notice
        update.table = self.shape.info if fresh else None
        return update

    def _start_over(self) -> None:
        """The table's schema changed: the topic selects the old columns, so it is made again, and the
        Perspective table (made anew by the server) is loaded again as at start-up."""
        self._conn.query(f"DROP TOPIC IF EXISTS {quote(self.options.topic)}")
        self._started, self._from_start = False, False
        self._newest.clear()
        self._skip.clear()
        self._recent = RecentKeys()

    def _consumer_conf(self) -> dict[str, str]:
        return {
            "group.id": self.options.group,
            "auto.offset.reset": "earliest" if self._from_start else "latest",
            "enable.auto.commit": "false",  # we commit after the table applied the rows
        }

    def _vgroups(self) -> list[Any]:
        return [item for topic in self._consumer.assignment() or [] for item in topic.assignments()]

    def _first_load(self) -> list[Row]:
        """Pin the stream at the end of the log, then load the newest rows. When the table was
        missing at first, stream from the beginning of the log instead, and still load: rows
        written before the topic existed may not be in it (the stand-in's topics start at their
        creation); the rows in both are skipped by key."""
        for vgroup in self._vgroups():
            offset = vgroup.begin() if self._from_start else vgroup.end()
            unwrapped(self._consumer.seek, self.options.topic, vgroup.vg_id(), offset)
        return self._loader().poll()

    def _resumable(self) -> bool:
        """Every vgroup has a committed offset still in the log: resume exactly there."""
        vgroups = self._vgroups()
        for vgroup in vgroups:
            committed = unwrapped(self._consumer.committed, self.options.topic, vgroup.vg_id())
            if committed < 0 or committed < vgroup.begin():
                return False
            unwrapped(self._consumer.seek, self.options.topic, vgroup.vg_id(), committed)
        return bool(vgroups)

    def _refill(self) -> list[Row]:
        for vgroup in self._vgroups():
            unwrapped(self._consumer.seek, self.options.topic, vgroup.vg_id(), vgroup.end())
        loader = self._loader()
        if not self._newest:
            return loader.poll()
        floor = min(self._newest.values())
        subtable = self.shape.layout.subtable
        return [row for row in loader.rows_after(floor) if row[TS] > self._newest.get(subtable(row), floor)]

    def _loader(self) -> NewRowReader:
        self.stats.queries += 1
        return NewRowReader(self._conn.query, self.shape.layout, self.options.initial_rows, 0)

    # --- streaming ---------------------------------------------------------------------------

    def _poll(self) -> Update:
        if self.shape.changed():  # every SCHEMA_SECONDS; the last batch is applied and committed
            self._reshaped = True
            self._close()  # the next read() starts over with the new schema
            return Update(stats=self.stats)
        if self._applied and not self._unacked and self._commit_due():
            self._commit()  # what the last batches left, before waiting on an idle stream
            if self._consumer is None:
                return Update(stats=self.stats)  # the commit failed: read() reports it next
        message = self._consumer.poll(timeout=POLL_SECONDS)
        self.stats.polls += 1
        if message is None:
            self._skip.clear()  # caught up: nothing loaded before can come again
            if not self._topic_alive():
                self._close()  # the next read() creates the topic again and refills
                gone = f"topic {self.options.topic} no longer exists in TDengine (dropped?); creating it"
                return Update(stats=self.stats, notice=gone)
            return Update(stats=self.stats)
        rows: list[Row] = []
        vgroups: set[int] = set()
        while message is not None:  # one update, one ack and one commit for whatever is waiting
            rows += [row for block in message for row in block.fetchall()]
            vgroups.add(message.vgroup())
            if len(rows) >= BATCH_ROWS:
                break
            message = self._consumer.poll(timeout=DRAIN_SECONDS)
            self.stats.polls += 1
        key = self.shape.layout.key
        if self._skip:
            rows = [row for row in rows if key(row) not in self._skip]
        return self._deliver(self._recent.new(rows, key), vgroups)

    def _positions(self, vgroups: set[int]) -> dict[int, int]:
        """Where the consumer stands in `vgroups` after the messages read, from one `assignment()`.

        Not `position()` per vgroup: if the topic is dropped between the poll and `position()`,
        taosAdapter's error reply has no `position` field and taosws 0.7.0 waits for an answer for
        ever (the reader hung so, 1 run in 5, when tests/rollups/test_exact.py dropped the topic
        right after writing). `assignment()` of a dropped topic is an empty list: its vgroups are
        left out, nothing is committed for them, and the next empty poll finds the topic gone."""
        offsets = {vgroup.vg_id(): vgroup.offset() for vgroup in self._vgroups()}
        return {vgroup: offsets[vgroup] for vgroup in vgroups if vgroup in offsets}

    def _topic_alive(self) -> bool:
        """An empty poll looks the same whether TDengine is idle, gone (taosws's consumer reconnects by
        itself) or our topic was dropped (taosAdapter answers the polls of a dropped topic with 'no
        message'). So, at most every HEALTH_SECONDS while idle, list TDengine's topics: if that fails,
        read() reports the outage (one log line) and reconnects, resuming from the committed offset;
        if our topic is not listed, it was dropped under us."""
        if time.monotonic() - self._checked < HEALTH_SECONDS:
            return True
        topics = {row[0] for row in self._conn.query("SHOW TOPICS")}
        self._checked = time.monotonic()
        return self.options.topic in topics

    def _deliver(self, rows: list[Row], vgroups: set[int] | None = None) -> Update:
        """`rows` for the table; `vgroups`, those the stream read them from: committed once the
        server acknowledged them (at once if no row is left to send, as nothing will be)."""
        if rows:
            self._unacked.append(vgroups or set())
        else:
            self._applied |= vgroups or set()
        self._last_rows = rows
        subtable = self.shape.layout.subtable
        for row in rows:
            table = subtable(row)
            if row[TS] > self._newest.get(table, -1):
                self._newest[table] = row[TS]
        self.stats.delivered += len(rows)
        return self.shape.rows_update(rows, self.stats)

    def _close(self) -> None:
        # Batches still in flight will be acknowledged: their acks must pop entries, but commit
        # nothing of a consumer that is gone.
        self._unacked = deque(set() for _ in self._unacked)
        self._applied = set()
        if self._consumer is not None:
            with contextlib.suppress(*TDENGINE_ERRORS):
                self._consumer.close()
            self._consumer = None
        self._conn.close()

