"""A table shaped like taosBenchmark's `test.meters` (millisecond precision, INT and FLOAT columns,
INT and VARCHAR tags), as PERSPECTIVE_HISTORY_TABLES serves it: the same answers as Perspective's
engine. Guards precision handling (timestamps in ms, not µs, and bucket windows in ms ticks),
INT as Perspective `integer` (with its in / not in filters), and grouping by an INT tag.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from tests.history.support import assert_same_view, fresh_database, open_history, read_back, reference_like

T0 = 1_767_225_600_000  # ms
CONFIGS = [
    {"columns": ["ts", "current", "voltage", "location"], "sort": [["voltage", "desc"]]},
    {"columns": ["ts", "current"], "filter": [["ts", "<", "2026-01-01T00:10:00"]]},
    {"group_by": ["groupid"], "columns": ["current", "voltage"], "aggregates": {"voltage": "avg"}},
    {"columns": ["ts", "voltage", "groupid"], "filter": [["voltage", "in", [219, 231, 240]]]},
    {"columns": ["ts", "voltage"], "filter": [["voltage", "not in", [219, 231]], ["groupid", "==", 1]]},
    {"columns": ["ts", "voltage"], "filter": [["groupid", "!=", 2], ["voltage", ">=", 230]],
     "sort": [["current", "asc"]]},
    {"group_by": ["location", "minute"], "expressions": {"minute": "bucket(\"ts\", '5m')"},
     "columns": ["voltage"], "aggregates": {"voltage": "high"}},
]


@pytest.fixture(scope="module")
def clients(td_module: Any) -> Iterator[tuple[Any, Any]]:
    with fresh_database(td_module, "meters", "ms") as (database, connection):
        query = connection.query
        query(f"CREATE STABLE {database}.meters (ts TIMESTAMP, current FLOAT, voltage INT, phase FLOAT) "
              "TAGS (groupid INT, location VARCHAR(24))")
        rng = random.Random(3)
        for device in range(6):
            location = rng.choice(["California.SanFrancisco", "California.LosAngeles"])
            values = " ".join(f"({T0 + i * 37_000 + device}, {rng.uniform(5, 15):.2f}, "
                              f"{rng.randint(200, 240)}, 0.5)" for i in range(40))
            query(f"INSERT INTO {database}.d{device} USING {database}.meters TAGS ({device % 3}, "
                  f"'{location}') VALUES {values}")
        handler, history = open_history(connection, "test.meters", database, "meters")
        assert history.schema()["voltage"] == "integer" and history.schema()["groupid"] == "integer"
        yield history, reference_like(history, read_back(query, handler.table("test.meters")))


@pytest.mark.parametrize("config", CONFIGS, ids=[str(i) for i in range(len(CONFIGS))])
def test_meters_as_perspective(clients: tuple[Any, Any], config: dict[str, Any]) -> None:
    """Same rows, same order, same numbers as Perspective's engine, on a millisecond table."""
    assert_same_view(*clients, config, None)
