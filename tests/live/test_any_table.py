"""The live path for any table: the guarantees of the trades table, over other schemas, both sources.

Each schema is written by SQL as another client would (no producer knows them): a taosBenchmark-
shaped `meters` (ms precision), a table with every type the live table takes plus two it leaves
out, keyword tags that need backticks and a ns-precision database, and a normal (untagged) table.
Real processes: the stand-in, perspective_server.py, a Perspective client on its websocket.
Rows are compared as multisets of (table, timestamp in ms, one value): what this cannot prove is
that two rows of one millisecond (ns precision) are told apart by more than that value.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
import taosws

from tests.live.subscribe_support import difference
from tests.perspective_client import remote_client
from tests.processes import Program, free_port, server_config, taos_env, wait_for_server

TABLE = "stock_values"  # PERSPECTIVE_TABLE_NAME's default: the live table's name, whatever it holds
T0_MS = 1_790_000_000_000


@dataclass(frozen=True)
class Schema:
    name: str  # TAOS_TABLENAME
    precision: str
    ddl: str  # after CREATE STABLE / TABLE <db>.<name>
    columns: str  # the INSERT's column values after the timestamp, {i} the row number
    tags: str = ""  # the subtables' tag values, {s} the subtable number; empty: a normal table
    value: str = ""  # one column whose value (with table and time) identifies a row
    expected: tuple[tuple[str, str], ...] = ()  # part of the Perspective schema, as it must be
    left_out: tuple[str, ...] = ()

    @property
    def ticks_per_ms(self) -> int:
        return {"ms": 1, "us": 1_000, "ns": 1_000_000}[self.precision]


SCHEMAS = [
    Schema("meters", "ms", "(ts TIMESTAMP, current FLOAT, voltage INT, phase FLOAT) "
           "TAGS (groupid INT, location VARCHAR(24))", "{i}.5, 220, 0.25", "{s}, 'California.SanJose'",
           "current", (("ts", "datetime"), ("tbname", "string"), ("current", "float"),
                       ("voltage", "integer"), ("groupid", "integer"), ("location", "string"))),
    Schema("everything", "ns", "(ts TIMESTAMP, b BOOL, ti TINYINT, si SMALLINT, i INT, bi BIGINT, "
           "uti TINYINT UNSIGNED, usi SMALLINT UNSIGNED, ui INT UNSIGNED, ubi BIGINT UNSIGNED, f FLOAT, "
           "d DOUBLE, `dec` DECIMAL(10, 2), vc VARCHAR(20), nc NCHAR(20), t2 TIMESTAMP, vb VARBINARY(8), "
           "`select` INT) TAGS (`order` NCHAR(10), `group` BOOL)",
           "true, -1, -2, -3, 9007199254740993, 1, 2, 4000000000, 5, 1.5, {i}.25, 1.25, 'v', 'ñ', "
           f"{T0_MS}000000, 'ab', 7", "'o{s}', true", "d",
           (("b", "boolean"), ("ti", "integer"), ("bi", "float"), ("ui", "float"), ("ubi", "float"),
            ("dec", "float"), ("nc", "string"), ("t2", "datetime"), ("select", "integer"),
            ("order", "string"), ("group", "boolean")), ("vb",)),
    Schema("plain", "us", "(ts TIMESTAMP, v DOUBLE, note NCHAR(16))", "{i}.5, 'n{i}'", value="v",
           expected=(("ts", "datetime"), ("v", "float"), ("note", "string"))),
]


def connect(standin: Any) -> Any:
    """To the stand-in, or to any target with host, port, user and password (tests/conftest.py)."""
    return taosws.connect(host=standin.host, port=standin.port, user=standin.user, password=standin.password)


def create(standin: Any, db: str, schema: Schema) -> None:
    conn = connect(standin)
    conn.execute(f"CREATE DATABASE IF NOT EXISTS {db} PRECISION '{schema.precision}'")
    kind = "STABLE" if schema.tags else "TABLE"
    conn.execute(f"CREATE {kind} IF NOT EXISTS {db}.{schema.name} {schema.ddl}")
    conn.close()


def write(standin: Any, db: str, schema: Schema, first: int, count: int, subtables: int = 3,
          late_ms: int = 0, t0_ms: int = T0_MS) -> None:
    """Rows first..first+count-1, spread over the subtables, row i at `t0_ms` + i milliseconds
    (minus `late_ms`)."""
    conn = connect(standin)
    for s in range(subtables if schema.tags else 1):
        numbers = range(first + s, first + count, subtables if schema.tags else 1)
        values = " ".join(f"({(t0_ms + i - late_ms) * schema.ticks_per_ms}, {schema.columns.format(i=i)})"
                          for i in numbers)
        if not values:
            continue
        target = (f"{db}.{schema.name}_{s} USING {db}.{schema.name} TAGS ({schema.tags.format(s=s)})"
                  if schema.tags else f"{db}.{schema.name}")
        conn.execute(f"INSERT INTO {target} VALUES {values}")
    conn.close()


def tdengine_rows(standin: Any, db: str, schema: Schema) -> Counter[tuple]:
    table = "tbname" if schema.tags else f"'{schema.name}'"
    conn = connect(standin)
    rows = list(conn.query(f"SELECT {table}, CAST(ts AS BIGINT), `{schema.value}` FROM {db}.{schema.name}"))
    conn.close()
    return Counter((str(t), ts // schema.ticks_per_ms, round(float(v), 3)) for t, ts, v in rows)


def served(port: int, schema: Schema) -> tuple[dict[str, str], Counter[tuple]]:
    """The live table's Perspective schema and its rows, as a remote client reads them. A schema
    change remakes the live table and then the rollup tables, each closing every socket (1012):
    a read caught by the second close is never answered, so it is given up and made again (a
    read hung here for the whole test timeout once, in CI)."""
    async def read() -> tuple[dict[str, str], dict[str, list]]:
        async with remote_client(f"ws://127.0.0.1:{port}/websocket") as client:
            table = await client.open_table(TABLE)
            view = await table.view()
            try:
                return await table.schema(), await view.to_columns()
            finally:
                await view.delete()
    for attempt in range(3):
        try:
            types, cols = asyncio.run(asyncio.wait_for(read(), 10))
            break
        except TimeoutError:
            if attempt == 2:
                raise
    tables = cols["tbname"] if schema.tags else [schema.name] * len(cols["ts"])
    return types, Counter((t, int(ts), round(float(v), 3))
                          for t, ts, v in zip(tables, cols["ts"], cols[schema.value], strict=True))


def serve(standin: Any, db: str, schema: Schema, source: str, port: int) -> Program:
    env = taos_env(standin.host, standin.port, database=db, TAOS_TABLENAME=schema.name,
                   PERSPECTIVE_PORT=port, PERSPECTIVE_TABLE_LIMIT=100_000, PERSPECTIVE_SOURCE=source,
                   PERSPECTIVE_REFRESH_RATE=100)
    program = Program("perspective_server.py", env)
    wait_for_server(port)
    return program


def wait_delivered(port: int, total: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while server_config(port)["feed"]["delivered"] < total and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.8)  # a duplicate would arrive now


def assert_every_row_once(standin: Any, db: str, schema: Schema, port: int, server: Program,
                          total: int | None = None) -> dict[str, str]:
    """Once the writing is done: every row TDengine holds (``total`` of them, if given) reaches the
    live table exactly once; then the server stops cleanly. Returns the live table's schema.

    It waits for the table itself to hold TDengine's rows, not for the server's count of rows
    delivered: after a schema change or a restart that count includes the rows loaded again, so it
    passes the total before the last rows have streamed in (seen once in CI: 67 rows short)."""
    expected = tdengine_rows(standin, db, schema)
    deadline = time.monotonic() + 30
    while (got := served(port, schema)[1]) != expected and time.monotonic() < deadline:
        time.sleep(0.3)
    time.sleep(0.8)  # a duplicate would arrive now
    types, got = served(port, schema)
    assert server.stop() == 0, server.output
    if total is not None:
        assert sum(expected.values()) == total
    assert not difference(got, expected), difference(got, expected) + "\n" + server.output
    return types


@pytest.mark.parametrize("source", ["poll", "subscribe"])
@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.name)
def test_every_row_once_through_a_restart(standin, db_name, schema: Schema, source: str) -> None:
    """Guards the live path for any table: the server finds the table's columns itself (the
    Perspective schema keeps every column and tag under its name, with `tbname` for a supertable,
    and leaves out the types it cannot hold, saying so), loads what is there, then delivers every
    row written later exactly once, across a TDengine restart."""
    create(standin, db_name, schema)
    write(standin, db_name, schema, 0, 300)
    port = free_port()
    with serve(standin, db_name, schema, source, port) as server:
        server.wait_for("reading rows")
        write(standin, db_name, schema, 300, 300)
        standin.stop()
        time.sleep(1.0)
        standin.start()
        write(standin, db_name, schema, 600, 300)
        types = assert_every_row_once(standin, db_name, schema, port, server, total=900)
    assert set(schema.expected) <= set(types.items()), types
    assert ("tbname" in types) == bool(schema.tags)
    for name in schema.left_out:
        assert name not in types and f"column {name} (" in server.output and "is left out" in server.output


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.name)
def test_subscribe_delivers_rows_hours_late(standin, db_name, schema: Schema) -> None:
    """Guards `subscribe` for any table: rows stamped an hour behind the newest (a device that
    buffered) reach the live table, once, as the trades' late rows do."""
    create(standin, db_name, schema)
    write(standin, db_name, schema, 0, 200)
    port = free_port()
    with serve(standin, db_name, schema, "subscribe", port) as server:
        server.wait_for("reading rows")
        write(standin, db_name, schema, 200, 100, late_ms=3_600_000)
        assert_every_row_once(standin, db_name, schema, port, server, total=300)


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda s: s.name)
def test_subscribe_survives_a_server_restart_and_a_dropped_topic(standin, db_name, schema: Schema) -> None:
    """Guards the subscription's recoveries for any table: a server restarted mid-stream refills its
    table and streams on; a topic dropped under it (DROP TOPIC … FORCE, its offsets gone) is made
    again and the rows written meanwhile are read back by query. Every row once, in the end."""
    create(standin, db_name, schema)
    write(standin, db_name, schema, 0, 200)
    port = free_port()
    with serve(standin, db_name, schema, "subscribe", port) as first:
        first.wait_for("reading rows")
        write(standin, db_name, schema, 200, 100)
        wait_delivered(port, 300)
        assert first.stop() == 0, first.output
    write(standin, db_name, schema, 300, 100)  # while no server runs
    with serve(standin, db_name, schema, "subscribe", port) as second:
        second.wait_for("reading rows")
        conn = connect(standin)
        conn.execute(f"DROP TOPIC IF EXISTS FORCE {db_name}_{schema.name}_live")
        conn.close()
        write(standin, db_name, schema, 400, 100)
        second.wait_for("no committed offset", timeout=30)
        write(standin, db_name, schema, 500, 100)
        assert_every_row_once(standin, db_name, schema, port, second, total=600)


def test_config_json_describes_the_live_table(standin, db_name) -> None:
    """Guards what the page builds its panels from: /config.json names the TDengine table and gives
    the live table's columns and tags once the server has found them (null before)."""
    schema = SCHEMAS[0]
    port = free_port()
    with serve(standin, db_name, schema, "poll", port) as server:
        server.wait_for("waiting for table")
        assert server_config(port)["schema"] is None
        create(standin, db_name, schema)
        server.wait_for("reading rows")
        config = server_config(port)
        assert server.stop() == 0
    assert config["source"] == f"{db_name}.meters"
    assert list(config["schema"]) == ["ts", "current", "voltage", "phase", "groupid", "location", "tbname"]
    assert config["tags"] == ["groupid", "location", "tbname"]


@dataclass(frozen=True)
class Change:
    sql: str  # after ALTER STABLE <db>.meters
    columns: str  # the INSERT's values after it
    tags: str
    said: str  # what the server's log line says
    column: str  # in the new schema, with this type ("" if dropped)
    psp_type: str


CHANGES = [
    Change("ADD COLUMN humidity DOUBLE", "{i}.5, 220, 0.25, 0.5", SCHEMAS[0].tags, "added humidity (float)",
           "humidity", "float"),
    Change("ADD TAG region NCHAR(8)", SCHEMAS[0].columns, "{s}, 'California.SanJose', 'r{s}'",
           "added region (string)", "region", "string"),
    Change("DROP COLUMN phase", "{i}.5, 220", SCHEMAS[0].tags, "dropped phase", "phase", ""),
]


@pytest.mark.parametrize(("source", "change"), [
    *(("poll", change) for change in CHANGES),
    *(("subscribe", change) for change in CHANGES[:2]),  # a column a topic selects cannot be dropped
], ids=lambda v: v if isinstance(v, str) else v.sql.split()[0].lower() + "_" + v.sql.split()[1].lower())
def test_a_schema_changed_at_run_time_is_served_without_a_restart(standin, db_name, source: str,
                                                                   change: Change) -> None:
    """Guards the schema change while the server runs (`ALTER STABLE … ADD COLUMN / ADD TAG / DROP
    COLUMN`): one log line says what changed, open viewers are closed (1012) so that pages
    reconnect, the new table has the new schema, and every row TDengine holds is in it once (the
    table is loaded again from TDengine). With `subscribe`, TDengine refuses to drop a column the
    topic selects: the README says what to do."""
    schema = SCHEMAS[0]
    create(standin, db_name, schema)
    write(standin, db_name, schema, 0, 200)
    port = free_port()
    with serve(standin, db_name, schema, source, port) as server:
        server.wait_for("reading rows")
        conn = connect(standin)
        conn.execute(f"ALTER STABLE {db_name}.meters {change.sql}")
        conn.close()
        server.wait_for(re.escape(f"changed: {change.said}"))
        changed = dataclasses.replace(schema, columns=change.columns, tags=change.tags)
        write(standin, db_name, changed, 200, 200)
        deadline = time.monotonic() + 10
        while (change.column in (server_config(port)["schema"] or {})) != bool(change.psp_type) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        types = assert_every_row_once(standin, db_name, schema, port, server, total=400)
    assert types.get(change.column, "") == change.psp_type, types
    assert server.output.count(f"changed: {change.said}") == 1
