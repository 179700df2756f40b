"""producer.py --producer-dataset meters as a user runs it, checked through the real taosws client.

What these cannot prove: that real TDengine (or its taosBenchmark-made `test` database) behaves as
the stand-in does; the DDL they compare with is taosBenchmark's as `taosdump` writes it.
"""

from __future__ import annotations

import time

import pytest
import taosws

from tdpersp.core import meters
from tests.processes import Program, taos_env

METERS_ARGS = ["--producer-dataset", "meters"]


def _connect(standin) -> taosws.Connection:
    return taosws.connect(host=standin.host, port=standin.port, user="root", password="taosdata")


def test_meters_rows_land_as_taosbenchmark_shapes_them(standin, db_name) -> None:
    """Guards the meters dataset end to end: 500 rows in 5 subtables d0..d4 of 100 rows each, every
    row its own timestamp, each subtable with its device's tags, and a supertable DESCRIBE that is
    taosBenchmark's `meters`. It cannot tell whether the readings look real on a dashboard."""
    env = taos_env(standin.host, standin.port, database=db_name, TAOS_TABLENAME="meters")
    with Program("producer.py", env, [*METERS_ARGS, "--producer-devices", "5",
                                      "--producer-count", "500"]) as prod:
        assert prod.wait() == 0, prod.output
    assert "done: 500 rows written" in prod.output
    conn = _connect(standin)
    assert [tuple(row[:4]) for row in conn.query(f"DESCRIBE {db_name}.meters")] == [
        ("ts", "TIMESTAMP", 8, ""), ("current", "FLOAT", 4, ""), ("voltage", "INT", 4, ""),
        ("phase", "FLOAT", 4, ""), ("groupid", "INT", 4, "TAG"), ("location", "VARCHAR", 24, "TAG")]
    rows = list(conn.query(f"SELECT tbname, groupid, location, CAST(ts AS BIGINT) FROM {db_name}.meters"))
    per_subtable: dict[tuple, set[int]] = {}
    for tbname, groupid, location, ts in rows:
        per_subtable.setdefault((tbname, groupid, location), set()).add(ts)
    devices = [meters.Device.number(i) for i in range(5)]
    assert len(rows) == 500
    assert {key: len(stamps) for key, stamps in per_subtable.items()} == {
        (d.subtable, d.groupid, d.location): 100 for d in devices}
    (low_v, high_v, low_c, high_c), = conn.query(
        f"SELECT MIN(voltage), MAX(voltage), MIN(current), MAX(current) FROM {db_name}.meters")
    assert 215 <= low_v <= high_v <= 225 and 9.5 <= low_c <= high_c <= 12.5


def test_meters_write_into_a_millisecond_database_like_taosbenchmarks(standin, db_name) -> None:
    """Guards writing live into taosBenchmark's `test.meters` (a millisecond database holding old
    rows): the producer stamps milliseconds (not microseconds, which would read as dates far
    ahead), keeps the old rows, gives every new row its own timestamp, and says when the rate is
    more than a millisecond clock per device can stamp in real time."""
    conn = _connect(standin)
    conn.execute(f"CREATE DATABASE {db_name} PRECISION 'ms'")
    conn.execute(f"CREATE STABLE {db_name}.meters (ts timestamp, current float, voltage int, phase float) "
                 "TAGS (groupid int, location binary(24))")
    conn.execute(f"INSERT INTO {db_name}.d0 USING {db_name}.meters TAGS (3, 'California.Campbell') "
                 "VALUES ('2017-07-14 10:40:00.000', 10.1, 219, 0.31)")
    env = taos_env(standin.host, standin.port, database=db_name, TAOS_TABLENAME="meters")
    started_ms = time.time() * 1000
    with Program("producer.py", env, [*METERS_ARGS, "--producer-devices", "2", "--producer-rate", "3000",
                                      "--producer-count", "600"]) as prod:
        assert prod.wait() == 0, prod.output
    assert "more than the 2000 a 'ms' database can stamp in real time" in prod.output
    stamps = list(conn.query(
        f"SELECT tbname, CAST(ts AS BIGINT) FROM {db_name}.meters WHERE ts > '2020-01-01'"))
    assert len(stamps) == 600
    assert len(set(stamps)) == 600
    assert all(started_ms - 1_000 < ts < time.time() * 1000 + 60_000 for _, ts in stamps)
    assert next(iter(conn.query(f"SELECT COUNT(*) FROM {db_name}.meters WHERE ts < '2018-01-01'")))[0] == 1


@pytest.mark.parametrize(("first", "second"), [("meters", "trades"), ("trades", "meters")])
def test_producer_refuses_a_table_of_another_dataset(standin, db_name, first, second) -> None:
    """Guards against writing one dataset into the other's supertable, which TDengine would only
    answer with a type error from stmt2: the producer names TAOS_TABLENAME and the mismatch, exits
    1 and writes nothing. It cannot list every way a table may differ."""
    env = taos_env(standin.host, standin.port, database=db_name, TAOS_TABLENAME="shared")
    with Program("producer.py", env, ["--producer-dataset", first, "--producer-count", "10"]) as prod:
        assert prod.wait() == 0, prod.output
    with Program("producer.py", env, ["--producer-dataset", second, "--producer-count", "10"]) as prod:
        assert prod.wait() == 1
    refusal = f"TAOS_TABLENAME 'shared': {db_name}.shared exists but is not the {second} dataset's"
    assert refusal in prod.output
    assert "tags are (" in prod.output and "Traceback" not in prod.output
    conn = _connect(standin)  # kept in a variable: a temporary connection under a live result hangs
    assert next(iter(conn.query(f"SELECT COUNT(*) FROM {db_name}.shared")))[0] == 10


def test_an_unknown_dataset_is_refused_up_front() -> None:
    """Guards PRODUCER_DATASET like every setting: a bad value stops the producer with exit 2 and
    the choices, before it connects."""
    with Program("producer.py", {"PRODUCER_DATASET": "iot"}) as prod:
        assert prod.wait(timeout=30) == 2
    assert "bad PRODUCER_DATASET (from the environment): 'iot' is not one of: trades, meters" in prod.output
