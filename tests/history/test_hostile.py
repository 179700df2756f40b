"""Hostile names and values reach TDengine quoted and escaped, and refused configs say why.

Guards `history_sql.ident`/`literal`/`like_literal`: a column named like SQL, filter values full
of quotes, backslashes and wildcards must match exactly what Perspective's own engine matches,
and must not change anything in TDengine. Also guards the refusals (expressions other than time
buckets, aggregates TDengine cannot compute) reaching the user as clear messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import perspective
import pytest

from tdpersp.core.tdsql import Unsupported, quote
from tdpersp.history import groups, views
from tdpersp.history.sql import string_literal
from tests.history.support import fresh_database, open_history, reference_like

NAMES = ("select", "a b", "it's", 'say "hi"', "--x", "; drop database x", "ünï")
VALUES = ("it's", "a\\b", "100%", "x_y", "'; DROP TABLE t; --", "\\'", 'q"q', "%", "_")


@pytest.fixture(scope="module")
def tables(td_module: Any) -> Iterator[tuple[Any, Any, Any]]:
    with fresh_database(td_module, "hostile") as (database, connection):
        query = connection.query
        columns = ", ".join(f"{quote(n)} NCHAR(40)" for n in NAMES)
        query(f"CREATE TABLE {database}.t (ts TIMESTAMP, {columns})")
        for i in range(2 * len(VALUES)):
            cells = ", ".join(string_literal(VALUES[(i + j) % len(VALUES)]) for j in range(len(NAMES)))
            query(f"INSERT INTO {database}.t VALUES ({1_000 + i}, {cells})")
        _, history = open_history(connection, "hostile", database, "t")
        names = ", ".join(quote(n) for n in NAMES)
        rows = query(f"SELECT CAST(ts AS BIGINT), {names} FROM {database}.t ORDER BY ts")
        reference = reference_like(history, [dict(zip(["ts", *NAMES], row)) for row in rows])
        yield history, reference, lambda: query(f"SELECT COUNT(*) FROM {database}.t")[0][0]


@pytest.mark.parametrize("op", ["==", "!=", "contains", "begins with", "ends with", "in"])
@pytest.mark.parametrize("value", VALUES)
def test_hostile_filter_values_match_exactly(tables: tuple[Any, Any, Any], op: str, value: str) -> None:
    """Each hostile value selects the same rows as in Perspective's engine; TDengine is untouched."""
    history, reference, count = tables
    argument: Any = [value] if op == "in" else value
    for name in NAMES:
        config = {"columns": list(NAMES), "filter": [[name, op, argument]], "sort": [[name, "asc"]]}
        assert history.view(**config).to_columns() == reference.view(**config).to_columns(), name
    assert count() == 2 * len(VALUES)


def test_hostile_names_group_and_sort(tables: tuple[Any, Any, Any]) -> None:
    """Names that are SQL keywords or contain quotes work as group-by and sort columns."""
    history, reference, _ = tables
    config = {"group_by": [NAMES[0], NAMES[2]], "columns": [NAMES[3]], "sort": [[NAMES[1], "desc"]]}
    assert history.view(**config).to_columns() == reference.view(**config).to_columns()


def test_backtick_in_a_name_is_refused() -> None:
    """TDengine has no escape for a backtick inside a quoted name: refusing beats guessing."""
    with pytest.raises(Unsupported, match="cannot be quoted"):
        quote("a`b")


@pytest.mark.parametrize(("config", "message"), [
    ({"expressions": {"x": '"select" + 1'}, "columns": ["x"]}, "not supported"),
    ({"group_by": ["b"], "expressions": {"b": "bucket(\"select\", 'm')"}, "columns": ["a b"]},
     "primary timestamp"),
    ({"group_by": ["a b"], "columns": ["select"], "aggregates": {"select": "median"}}, "aggregate 'median'"),
    ({"columns": ["select"], "filter": [["select", "regex", "x"]]}, "filter 'regex'"),
])
def test_refused_configs_say_why(tables: tuple[Any, Any, Any], config: dict[str, Any], message: str) -> None:
    """What the handler cannot translate is refused with a message naming it, not silently ignored."""
    history, _, _ = tables
    with pytest.raises(perspective.PerspectiveError, match=message):
        history.view(**config).to_columns()


def test_too_many_groups_are_refused(tables: tuple[Any, Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A group-by with more groups than a view may hold is refused, saying how many and what to do."""
    history, _, _ = tables
    monkeypatch.setattr(groups, "MAX_GROUPS", 5)
    with pytest.raises(perspective.PerspectiveError, match="groups: more than the 5"):
        history.view(group_by=["ts"], columns=["select"]).to_columns()


def test_too_many_rows_at_once_are_refused(tables: tuple[Any, Any, Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A request for more flat rows than a view sends at once (a chart over every row) is refused,
    saying what to do; a screen within the bound still works."""
    history, _, _ = tables
    monkeypatch.setattr(views, "MAX_FLAT_ROWS", 5)
    view = history.view(columns=["select"])
    with pytest.raises(perspective.PerspectiveError, match="rows asked for at once: more than the 5"):
        view.to_columns()
    assert len(view.to_columns(start_row=3, end_row=8)["select"]) == 5
