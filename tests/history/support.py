"""What the history tests share: a database on the stand-in, the history virtual server behind a
Perspective client, a regular Perspective table holding the same rows, and the comparison."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

import perspective

from tdpersp.core.model import TableInfo
from tdpersp.core.tdconn import LazyConnection, TaosConfig
from tdpersp.core.tdsql import TICKS_PER_MS
from tdpersp.history.handler import HistoryHandler
from tdpersp.history.sql import value_sql

Query = Callable[[str], list[tuple]]


@contextlib.contextmanager
def fresh_database(target: Any, stem: str, precision: str = "ms") -> Iterator[tuple[str, LazyConnection]]:
    """A new database on `target` (the stand-in or a real TDengine), dropped afterwards; yields its
    name (unique to this process) and a connection."""
    name = f"h_{stem}_{os.getpid()}"
    connection = LazyConnection(TaosConfig(target.host, target.port, target.user, target.password, name, ""))
    connection.query(f"DROP DATABASE IF EXISTS {name}")
    connection.query(f"CREATE DATABASE {name} PRECISION '{precision}'")
    try:
        yield name, connection
    finally:
        connection.query(f"DROP DATABASE IF EXISTS {name}")
        connection.close()


def open_history(connection: LazyConnection, name: str, database: str,
                 table: str) -> tuple[HistoryHandler, Any]:
    """`database`.`table` hosted as `name` by the virtual server, opened by an in-process client."""
    handler = HistoryHandler(connection, {name: (database, table)})
    virtual = perspective.VirtualServer(handler)
    client = perspective.Client(lambda request: client.handle_response(virtual.handle_request(request)))
    return handler, client.open_table(name)


def reference_like(history: Any, rows: Any) -> Any:
    """A regular Perspective table with the history table's schema, holding `rows`."""
    table = perspective.Server().new_local_client().table(history.schema())
    table.update(rows)
    return table


def read_back(query: Query, info: TableInfo) -> dict[str, list[Any]]:
    """The rows as TDengine holds them, in the history's natural order, as Perspective columns."""
    selected = ", ".join(value_sql(c) for c in info.columns)
    order = f"`{info.ts}`, tbname" if info.is_super else f"`{info.ts}`"
    rows = query(f"SELECT {selected} FROM {info.source} ORDER BY {order}")
    columns: dict[str, list[Any]] = {c.name: [] for c in info.columns}
    for row in rows:
        for column, value in zip(info.columns, row):
            columns[column.name].append(
                value // TICKS_PER_MS[info.precision] if column.psp_type == "datetime" else value)
    return columns


def assert_same_view(history: Any, reference: Any, config: dict[str, Any],
                     window: tuple[int, int] | None = None) -> None:
    """Both tables' views of `config`: same size, columns, rows and order; numbers within 1e-9."""
    ours, theirs = history.view(**config), reference.view(**config)
    assert ours.num_rows() == theirs.num_rows()
    bounds = {} if window is None else {"start_row": window[0], "end_row": window[1]}
    got, expected = ours.to_columns(**bounds), theirs.to_columns(**bounds)
    assert list(got) == list(expected)
    for column in expected:
        assert len(got[column]) == len(expected[column]), column
        for row, (a, b) in enumerate(zip(got[column], expected[column])):
            assert same(a, b), f"{column} row {row}: {a!r} != {b!r}"
    assert expected and len(next(iter(expected.values()))) > 0, "the config selects no rows: a useless case"


def same(a: Any, b: Any) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b
