"""What the history refuses, it refuses by name, and does not advertise.

Guards split_rollup_mode="rollup" (once ignored: the plain split came back) and bad expressions
(answered per expression in `describe`, as Perspective's SQL servers do, not as a config error).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import perspective
import pytest

from tdpersp.history.handler import features
from tests.history.support import fresh_database, open_history


@pytest.fixture(scope="module")
def table(shared_standin: Any) -> Iterator[Any]:
    with fresh_database(shared_standin, "refusals") as (database, connection):
        connection.query(f"CREATE TABLE {database}.t (ts TIMESTAMP, v DOUBLE, s VARCHAR(4))")
        connection.query(f"INSERT INTO {database}.t VALUES (1, 1.5, 'a') (2, 2.5, 'b')")
        yield open_history(connection, "t", database, "t")[1]


def test_split_rollup_mode_rollup_is_refused_by_name(table: Any) -> None:
    config = {"columns": ["v"], "group_by": ["s"], "split_by": ["s"], "split_rollup_mode": "rollup"}
    assert "split_rollup_mode 'rollup' is not supported" in table.describe(**config)["config_error"]
    with pytest.raises(perspective.PerspectiveError, match="split_rollup_mode 'rollup' is not supported"):
        table.view(**config)
    assert "split_rollup_mode" not in features()


def test_bad_expressions_are_reported_one_by_one(table: Any) -> None:
    expressions = {"ok": '"v" * 2', "text": '"s" * 2', "odd": '"v" ^ 2'}
    verdict = table.describe(columns=["v"], expressions=expressions)
    assert verdict["expression_schema"] == {"ok": "float"}
    assert sorted(verdict["expression_errors"]) == ["odd", "text"]
    message = verdict["expression_errors"]["text"]["error_message"]
    assert "arithmetic on string column 's' is not supported" in message


def test_empty_group_by_view_keeps_its_columns(table: Any) -> None:
    view = table.view(columns=["v"], group_by=["s"], group_rollup_mode="flat", filter=[["s", "==", "zz"]])
    assert view.to_columns() == {"__ROW_PATH__": [], "v": []}
