"""TMQ (data subscription) through the real ``taosws.Consumer``: topics, polling, offsets, groups.

Each ``td`` test also runs against real TDengine when TDENGINE_TEST_URL is set; the fault tests
(connections dropped, WAL trimmed) need the stand-in's fault commands.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import taosws

from tests.conftest import TDTarget

NO_COMMITTED = -2147467247  # TSDB_CODE_TMQ_NO_COMMITTED, what committed() reports before a commit


def consumer_conf(td: TDTarget, group: str, reset: str = "earliest") -> dict[str, str]:
    return {"td.connect.websocket.scheme": "ws", "td.connect.ip": td.host, "td.connect.port": str(td.port),
            "td.connect.user": td.user, "td.connect.pass": td.password, "group.id": group,
            "auto.offset.reset": reset, "enable.auto.commit": "false"}


@contextmanager
def consumer(td: TDTarget, topic: str, group: str, reset: str = "earliest") -> Iterator[Any]:
    c = taosws.Consumer(consumer_conf(td, group, reset))
    c.subscribe([topic])
    try:
        yield c
    finally:
        c.unsubscribe()
        c.close()


def read(c: Any, want: int, seconds: float = 10.0, commit: bool = False) -> list[tuple[Any, ...]]:
    """Rows from polls until ``want`` rows came or ``seconds`` passed (then what came)."""
    rows: list[tuple[Any, ...]] = []
    deadline = time.monotonic() + seconds
    while len(rows) < want and time.monotonic() < deadline:
        message = c.poll(0.5)
        if message is None:
            continue
        for block in message:
            rows.extend(block.fetchall())
        if commit:
            c.commit(message)
    return rows


@pytest.fixture
def trades(td: TDTarget, db_name: str) -> Iterator[tuple[Any, str]]:
    """A database with supertable ``st`` (tag ``tk``), two subtables with two rows each, and a
    topic over it; yields (connection, topic). The topic is dropped afterwards."""
    conn = td.connect()
    conn.execute(f"CREATE DATABASE {db_name} PRECISION 'us'")
    conn.execute(f"CREATE STABLE {db_name}.st (ts TIMESTAMP, v INT, note NCHAR(8)) TAGS (tk NCHAR(8))")
    conn.execute(f"INSERT INTO {db_name}.a USING {db_name}.st TAGS ('A') VALUES (1000, 1, 'a1')"
                 f" (2000, 2, 'a2') {db_name}.b USING {db_name}.st TAGS ('B') VALUES (1500, 3, 'b1')"
                 " (2500, 4, 'b2')")
    topic = f"tp_{db_name}"
    conn.execute(f"CREATE TOPIC {topic} AS SELECT ts, tbname, tk, v, note FROM {db_name}.st")
    yield conn, topic
    drop_topic(conn, topic)
    conn.close()


def drop_topic(conn: Any, topic: str, seconds: float = 10.0) -> None:
    """DROP TOPIC once the consumers are gone: a closed consumer leaves its group asynchronously."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            conn.execute(f"DROP TOPIC IF EXISTS {topic}")
            return
        except taosws.QueryError as err:
            if "0x03EB" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def values(rows: list[tuple[Any, ...]]) -> list[int]:
    return sorted(row[3] for row in rows)


def test_topic_ddl_and_errors(td: TDTarget, trades: tuple[Any, str], db_name: str) -> None:
    """Guards CREATE/DROP/SHOW TOPICS and TDengine's codes for a duplicate, a missing topic and a
    topic over a missing table."""
    conn, topic = trades
    assert topic in [row[0] for row in conn.query("SHOW TOPICS")]
    conn.execute(f"CREATE TOPIC IF NOT EXISTS {topic} AS SELECT ts FROM {db_name}.st")
    with pytest.raises(taosws.QueryError, match="0x03E0"):
        conn.execute(f"CREATE TOPIC {topic} AS SELECT ts FROM {db_name}.st")
    with pytest.raises(taosws.QueryError, match="does not exist"):
        conn.execute(f"CREATE TOPIC {topic}_x AS SELECT ts FROM {db_name}.nope")
    with pytest.raises(taosws.QueryError, match="0x03E1"):
        conn.execute(f"DROP TOPIC {topic}_missing")
    conn.execute(f"DROP TOPIC IF EXISTS {topic}_missing")


def test_earliest_reads_every_row_once_with_tags_and_names(td: TDTarget, trades: tuple[Any, str]) -> None:
    """Guards the raw data format: every written row arrives once, with the selected columns,
    the tag and tbname decoded by the real client, and nothing more after the end."""
    _conn, topic = trades
    with consumer(td, topic, "g_earliest") as c:
        rows = read(c, 4)
        assert values(rows) == [1, 2, 3, 4]
        assert {(row[1], row[2], row[4]) for row in rows} == {
            ("a", "A", "a1"), ("a", "A", "a2"), ("b", "B", "b1"), ("b", "B", "b2")}
        assert read(c, 1, seconds=1.5) == []


def test_latest_skips_what_was_written_before(td: TDTarget, trades: tuple[Any, str], db_name: str) -> None:
    """Guards auto.offset.reset=latest: only rows written after subscribing arrive."""
    conn, topic = trades
    with consumer(td, topic, "g_latest", reset="latest") as c:
        assert read(c, 1, seconds=1.5) == []
        conn.execute(f"INSERT INTO {db_name}.a VALUES (9000, 9, 'a9')")
        assert values(read(c, 1)) == [9]


def test_late_and_overwriting_rows_are_streamed(td: TDTarget, trades: tuple[Any, str], db_name: str) -> None:
    """Guards the WAL semantics the subscription source relies on: a row stamped far in the past
    and a row overwriting an existing key are both delivered, in write order."""
    conn, topic = trades
    with consumer(td, topic, "g_late", reset="latest") as c:
        conn.execute(f"INSERT INTO {db_name}.a VALUES (5, 50, 'old')")
        conn.execute(f"INSERT INTO {db_name}.a VALUES (1000, 10, 'again')")
        assert [row[3] for row in read(c, 2)] == [50, 10]


def test_poll_answers_when_data_arrives(td: TDTarget, trades: tuple[Any, str], db_name: str) -> None:
    """Guards the long poll: a poll waiting for data answers when a write lands, not at the end
    of its blocking time (poll(20) waits up to 10 s; the write comes after 0.5 s). The bound is
    generous for a loaded machine; it cannot measure the latency itself."""
    _conn, topic = trades
    writer = (f"import time, taosws; time.sleep(0.5); "
              f"taosws.connect(host={td.host!r}, port={td.port}, user={td.user!r}, password={td.password!r})"
              f".execute(\"INSERT INTO {db_name}.b VALUES (7000, 7, 'b7')\")")
    with consumer(td, topic, "g_wait", reset="latest") as c:
        assert read(c, 1, seconds=1.0) == []
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-c", writer])
        message = c.poll(20.0)
        waited = time.monotonic() - started
        proc.wait(timeout=30)
        assert message is not None
        assert [row[3] for block in message for row in block.fetchall()] == [7]
        assert waited < 8.0


def test_groups_keep_their_own_committed_offsets(td: TDTarget, trades: tuple[Any, str], db_name: str) -> None:
    """Guards commit and resume: a new consumer of the same group starts after what its group
    committed; another group still gets every row; committed() is 'none' before a commit."""
    conn, topic = trades
    with consumer(td, topic, "g_one") as c:
        assignment = [(a.vg_id(), a.begin(), a.end()) for t in c.assignment() for a in t.assignments()]
        assert assignment and all(begin <= end for _, begin, end in assignment)
        assert {c.committed(topic, vg) for vg, _, _ in assignment} == {NO_COMMITTED}
        assert values(read(c, 4, commit=True)) == [1, 2, 3, 4]
        written = [vg for vg, begin, end in assignment if end > begin]  # vgroups that hold rows
        assert [c.committed(topic, vg) for vg in written] == [c.position(topic, vg) for vg in written]
    conn.execute(f"INSERT INTO {db_name}.a VALUES (8000, 8, 'a8')")
    with consumer(td, topic, "g_one") as c:
        assert values(read(c, 1)) == [8]
        assert read(c, 1, seconds=1.5) == []
    with consumer(td, topic, "g_two") as c:
        assert values(read(c, 5)) == [1, 2, 3, 4, 8]


def test_seek_rereads(td: TDTarget, trades: tuple[Any, str]) -> None:
    """Guards seek and assignment: seeking every vgroup back to its begin reads the rows again."""
    _conn, topic = trades
    with consumer(td, topic, "g_seek") as c:
        assert len(read(c, 4)) == 4
        for t in c.assignment():
            for a in t.assignments():
                c.seek(topic, a.vg_id(), a.begin())
        assert values(read(c, 4)) == [1, 2, 3, 4]


def test_a_backlog_comes_in_several_messages(td: TDTarget, trades: tuple[Any, str], db_name: str) -> None:
    """Guards bounded messages: 20,000 rows written in 5 requests are all delivered once, over
    more than one poll."""
    conn, topic = trades
    for batch in range(5):
        first = batch * 4000
        values_sql = " ".join(f"({10_000 + first + i}, {100 + first + i}, 'x')" for i in range(4000))
        conn.execute(f"INSERT INTO {db_name}.a VALUES {values_sql}")
    with consumer(td, topic, "g_backlog") as c:
        polls, rows = 0, []
        deadline = time.monotonic() + 30
        while len(rows) < 20_004 and time.monotonic() < deadline:
            message = c.poll(0.5)
            if message is not None:
                polls += 1
                rows += [row for block in message for row in block.fetchall()]
        assert len(rows) == 20_004 and len({row[3] for row in rows}) == 20_004
        assert polls > 1


def test_dropping_a_topic_in_use_is_refused(td: TDTarget, trades: tuple[Any, str]) -> None:
    """Guards TSDB_CODE_MND_TOPIC_SUBSCRIBED while a consumer holds the topic, and the drop once
    it is gone."""
    conn, topic = trades
    with consumer(td, topic, "g_drop"), pytest.raises(taosws.QueryError, match="0x03EB"):
        conn.execute(f"DROP TOPIC {topic}")
    drop_topic(conn, topic)
    assert topic not in [row[0] for row in conn.query("SHOW TOPICS")]


def test_subscribing_to_a_missing_topic_fails(td: TDTarget) -> None:
    """Guards the error a consumer gets for a topic that does not exist."""
    c = taosws.Consumer(consumer_conf(td, "g_missing"))
    with pytest.raises(taosws.ConsumerException, match=r"0x03E1|not exist"):
        c.subscribe(["no_such_topic_here"])
    c.close()


def standin_target(standin: Any) -> TDTarget:
    return TDTarget("standin", standin.host, standin.port, standin.user, standin.password)


def make_trades(td: TDTarget) -> tuple[Any, str]:
    conn = td.connect()
    conn.execute("CREATE DATABASE d PRECISION 'us'")
    conn.execute("CREATE STABLE d.st (ts TIMESTAMP, v INT) TAGS (tk NCHAR(8))")
    conn.execute("CREATE TOPIC tp AS SELECT ts, tbname, tk, v FROM d.st")
    return conn, "tp"


def test_a_trimmed_wal_resumes_at_the_oldest_entry_kept(standin: Any) -> None:
    """Guards the 'committed offset gone' case the server must survive: after wal-trim the
    group's committed offset is below the WAL's begin; a consumer resumes at the oldest entry
    kept (the newest write), and committed() still reports the stale offset."""
    td = standin_target(standin)
    conn, topic = make_trades(td)
    conn.execute("INSERT INTO d.a USING d.st TAGS ('A') VALUES (1, 1)")
    with consumer(td, topic, "g") as c:
        assert [row[3] for row in read(c, 1, commit=True)] == [1]
    for v in (2, 3, 4):
        conn.execute(f"INSERT INTO d.a VALUES ({v}, {v})")
    standin.trim_wal()
    with consumer(td, topic, "g") as c:
        assert [row[3] for row in read(c, 3, seconds=2)] == [4]
        begins = {a.vg_id(): a.begin() for t in c.assignment() for a in t.assignments()}
        assert any(c.committed(topic, vg) < begin for vg, begin in begins.items())


def test_a_topic_dropped_with_force_goes_quiet(standin: Any) -> None:
    """Guards what a consumer sees when its topic is dropped under it (DROP TOPIC ... FORCE):
    taosAdapter's poll never reports tmq_consumer_poll's error, so polls just bring nothing;
    the server refuses the topic's assignment (0x4009), which taosws 0.7.0 shows as the topic
    with no vgroups: that is how a subscriber can notice. (committed() on it would hang that
    client, which never answers an error reply to committed.)"""
    td = standin_target(standin)
    conn, topic = make_trades(td)
    conn.execute("INSERT INTO d.a USING d.st TAGS ('A') VALUES (1, 1)")
    with consumer(td, topic, "g") as c:
        conn.execute(f"DROP TOPIC FORCE {topic}")
        conn.execute("INSERT INTO d.a VALUES (2, 2)")
        assert read(c, 1, seconds=1.5) == []
        assert [len(t.assignments()) for t in c.assignment()] == [0]


@pytest.mark.parametrize(("group", "error"), [("", "group is empty"), ("a:b", "fail")])
def test_an_invalid_group_id_is_refused(td: TDTarget, trades: tuple[Any, str], group: str,
                                        error: str) -> None:
    """Guards the refusal of an empty group id (taosAdapter leaves it unset, so the consumer is not
    created: "group is empty") and of one holding ':' (refused by tmq_conf_set in recent TDengine;
    the adapter answers tmq_err2str(-1), "fail"). Both come with code 0xFFFF, which taosws 0.7.0
    leaves out of the exception's text."""
    _conn, topic = trades
    c = taosws.Consumer(consumer_conf(td, group))
    with pytest.raises(taosws.ConsumerException, match=f"`{error}`"):
        c.subscribe([topic])
    c.close()


def test_commit_covers_every_vgroup_read(td: TDTarget, trades: tuple[Any, str], db_name: str) -> None:
    """Guards commit as the current taosAdapter does it (tmq_commit_sync without a message):
    committing one message commits the consumer's position in every vgroup, also those whose
    messages were read before and not committed."""
    conn, topic = trades
    for name, tag in (("c", "C"), ("e", "E"), ("f", "F"), ("g", "G")):  # rows in both vgroups
        conn.execute(f"INSERT INTO {db_name}.{name} USING {db_name}.st TAGS ('{tag}') VALUES (3000, 5, 'x')")
    with consumer(td, topic, "g_commit_all") as c:
        messages = []
        deadline = time.monotonic() + 10
        while sum(len(m[1]) for m in messages) < 8 and time.monotonic() < deadline:
            message = c.poll(0.5)
            if message is not None:
                messages.append((message, [row for block in message for row in block.fetchall()]))
        vgroups = {m.vgroup() for m, _ in messages}
        assert len(vgroups) == 2, "the rows should have come from both vgroups"
        c.commit(messages[-1][0])
        assert {vg: c.committed(topic, vg) for vg in vgroups} == {vg: c.position(topic, vg) for vg in vgroups}


@pytest.mark.parametrize("fault", ["drop", "restart"])
def test_topics_and_offsets_survive_outages(standin: Any, fault: str) -> None:
    """Guards resuming after a network failure (`drop`) and a TDengine restart (`stop`/`start`):
    topics, the WAL and the groups' committed offsets are kept, so a consumer of the group
    continues after its commit and a new group still reads everything."""
    td = standin_target(standin)
    conn, topic = make_trades(td)
    conn.execute("INSERT INTO d.a USING d.st TAGS ('A') VALUES (1, 1) (2, 2)")
    with consumer(td, topic, "g") as c:
        assert sorted(row[3] for row in read(c, 2, commit=True)) == [1, 2]
    if fault == "drop":
        standin.drop_connections()
    else:
        standin.stop()
        standin.start()
    conn = td.connect()
    assert topic in [row[0] for row in conn.query("SHOW TOPICS")]
    conn.execute("INSERT INTO d.a VALUES (3, 3)")
    with consumer(td, topic, "g") as c:
        assert [row[3] for row in read(c, 1)] == [3]
        assert read(c, 1, seconds=1.0) == []
    with consumer(td, topic, "g_new") as c:
        assert sorted(row[3] for row in read(c, 3)) == [1, 2, 3]
