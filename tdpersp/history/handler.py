"""A Perspective virtual server over TDengine: every row ever written, pivoted by TDengine.

perspective-python's `VirtualServer` turns what a viewer asks (group-by, split-by, filters,
sorts, scrolling) into calls on a handler; this handler answers them with TDengine SQL over
`taosws` (see `sql` for the SQL, `views` and `groups` for how answers become views). It is
read-only by construction: it never writes, and creates nothing in TDengine.

`taosws` holds the GIL while it waits, so this runs in its own process (`process`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import perspective
from perspective.virtual_servers import VirtualServerHandler

from tdpersp.core.model import TableInfo, describe_table
from tdpersp.core.tdconn import LazyConnection
from tdpersp.core.tdsql import Unsupported
from tdpersp.history.expressions import expression_schema
from tdpersp.history.groups import GroupView
from tdpersp.history.sql import (
    DATETIME_AGGREGATES,
    FILTER_OPS,
    NUMBER_AGGREGATES,
    OTHER_AGGREGATES,
    count_sql,
    value_sql,
)
from tdpersp.history.views import GROUP_ROLLUP_MODES, FlatView, parse_config

Query = Callable[[str], list[tuple]]


def features() -> dict[str, Any]:
    """What the viewer offers: only what `sql` translates."""
    aggregates = {
        "integer": list(NUMBER_AGGREGATES), "float": list(NUMBER_AGGREGATES),
        "string": list(OTHER_AGGREGATES), "boolean": list(OTHER_AGGREGATES),
        "datetime": list(DATETIME_AGGREGATES), "date": list(OTHER_AGGREGATES),
    }
    return {
        "group_by": True,
        "split_by": True,
        "sort": True,
        "expressions": True,  # arithmetic (expressions.py), and bucket("<timestamp>", 'Nm') in a group-by
        "group_rollup_mode": list(GROUP_ROLLUP_MODES),
        "filter_ops": {k: list(v) for k, v in FILTER_OPS.items()},
        "aggregates": aggregates,
    }


class HistoryHandler(VirtualServerHandler):
    """One viewer connection's handler. `tables` maps hosted names to `(database, table)`."""

    def __init__(self, connection: LazyConnection, tables: dict[str, tuple[str, str]]) -> None:
        self.connection = connection
        self.query: Query = connection.query
        self.tables = tables
        self._info: dict[str, TableInfo] = {}
        self._sizes: dict[str, int] = {}
        self.views: dict[str, FlatView | GroupView] = {}

    def table(self, name: str) -> TableInfo:
        """Described on first use (the producer may create the table after the server starts)."""
        if name not in self._info:
            if name not in self.tables:
                raise Unsupported(f"unknown table {name!r}")
            self._info[name] = describe_table(self.connection, *self.tables[name])
        return self._info[name]

    def get_features(self) -> dict[str, Any]:
        return features()

    def get_hosted_tables(self) -> list[str]:
        return list(self.tables)

    def table_schema(self, table_name: str, config: Any = None) -> dict[str, str]:
        return {c.name: c.psp_type for c in self.table(table_name).columns}

    def table_size(self, table_name: str) -> int:
        """Counted again only when a view is made: the viewer asks ~25 times per page load (measured),
        and the history is not live anyway."""
        if table_name not in self._sizes:
            self._sizes[table_name] = int(self.query(count_sql(self.table(table_name), ""))[0][0])
        return self._sizes[table_name]

    def table_describe(self, table_name: str, config: dict[str, Any]) -> dict[str, Any]:
        """The view's schema without querying rows; bad expressions come back one by one, anything
        else refused as its message."""
        try:
            table = self.table(table_name)
            types, errors = expression_schema(table, dict(config.get("expressions") or {}),
                                              config.get("group_by") or [])
            if errors:
                return {"expression_schema": types, "expression_errors": errors}
            spec = parse_config(table, config)
            view = (GroupView if spec.grouped else FlatView)(spec, self.query)
        except Unsupported as err:
            return {"config_error": str(err)}
        return {"expression_schema": types, "view_schema": view.column_types()}

    def table_make_view(self, table_name: str, view_name: str, config: dict[str, Any]) -> None:
        spec = parse_config(self.table(table_name), config)
        view: FlatView | GroupView = (GroupView if spec.grouped else FlatView)(spec, self.query)
        view.load()
        self.views[view_name] = view
        self._sizes.pop(table_name, None)

    def view_delete(self, view_name: str) -> None:
        self.views.pop(view_name, None)

    def view_schema(self, view_name: str, config: Any = None) -> dict[str, str]:
        return self.views[view_name].schema()

    def view_size(self, view_name: str) -> int:
        return self.views[view_name].size

    def view_column_size(self, view_name: str, config: Any = None) -> int:
        return len(self.views[view_name].column_names())

    def view_get_min_max(self, view_name: str, column_name: str, config: Any = None) -> tuple[Any, Any]:
        view = self.views[view_name]
        if isinstance(view, GroupView):  # over the leaf groups, as Perspective's own tables do
            depth = len(view.spec.group_by)
            values = [r.values.get(column_name) for r in view.rows if len(r.path) == depth]
        else:
            column = view.spec.column(column_name.rsplit("|", 1)[-1])
            sql = (f"SELECT MIN({value_sql(column)}), MAX({value_sql(column)}) "
                   f"FROM {view.spec.table.source}{view.spec.where}")
            values = [view.spec.value(v, column.psp_type) for v in self.query(sql)[0]]
        present = [v for v in values if v is not None]
        return (min(present), max(present)) if present else (None, None)

    def view_get_data(self, view_name: str, config: Any, schema: Any, viewport: dict[str, Any],
                      data: Any) -> None:
        view = self.views[view_name]
        start = viewport.get("start_row") or 0
        end = min(viewport.get("end_row") or view.size, view.size)
        first_col, last_col = viewport.get("start_col") or 0, viewport.get("end_col")
        if isinstance(view, GroupView):
            _write_groups(view, start, end, first_col, last_col, data)
        else:
            names, rows = view.rows(start, end)
            types = view.schema()
            if not rows:  # set_col of no value leaves no column: send the empty columns as Arrow
                shown = {name: types[name] for name in names[first_col:last_col]}
                data.from_arrow_ipc(_arrow(shown, {name: [] for name in shown}))
            for name in names[first_col:last_col]:
                index = names.index(name)
                for ridx, row in enumerate(rows):
                    data.set_col(types[name], name, ridx, row[index], None)


def _write_groups(view: GroupView, start: int, end: int, first_col: int, last_col: int | None,
                  data: Any) -> None:
    """Group rows go back as Arrow: with `set_col`, the row paths are lost on the way to the
    viewer's `to_arrow()` and charts draw without their axis labels (measured)."""
    rows = view.rows[start:end]
    schema: dict[str, str] = {}
    columns: dict[str, list[Any]] = {}
    if not view.spec.flat_groups:  # first, and only in rollup mode, as Perspective expects
        schema["__GROUPING_ID__"] = "integer"
        columns["__GROUPING_ID__"] = [view.grouping_id(row) for row in rows]
    for level, key in enumerate(view.spec.group_by):
        schema[f"__ROW_PATH_{level}__"] = key.psp_type
        columns[f"__ROW_PATH_{level}__"] = [row.path[level] if len(row.path) > level else None
                                            for row in rows]
    types = view.schema()
    for name in view.column_names()[first_col:last_col]:
        schema[name] = types[name]
        columns[name] = [row.values.get(name) for row in rows]
    data.from_arrow_ipc(_arrow(schema, columns))


def _arrow(schema: dict[str, str], columns: dict[str, list[Any]]) -> bytes:
    """Arrow IPC bytes of `columns`, made by a scratch Perspective table (no pyarrow needed)."""
    table = _scratch().table(schema)
    try:
        if any(columns.values()):  # Perspective refuses an update of empty columns
            table.update(columns)
        view = table.view(columns=list(schema))
        try:
            return view.to_arrow()
        finally:
            view.delete()
    finally:
        table.delete()


@functools.cache
def _scratch() -> Any:
    return perspective.Server().new_local_client()
