"""Prepared-statement state for stmt v1 (reference §9) and stmt2 (§10).

Both keep the bound rows until ``exec`` and then hand them to the engine in one call, which is
where TDengine's rules (types, duplicate timestamps, auto-created subtables) are applied.
"""

from __future__ import annotations

from typing import Any

from tests.standin import types as td
from tests.standin.api import BoundColumn, BoundTable, EngineAPI, Prepared, ResultSet, Session
from tests.standin.errors import ADAPTER_ERROR, TDError

STMT_NOT_PREPARED = "stmt is not prepared"


def _require(prepared: Prepared | None) -> Prepared:
    if prepared is None:
        raise TDError(ADAPTER_ERROR, STMT_NOT_PREPARED)
    return prepared


class StmtV1:
    """``conn.statement()``: table name and tags are set separately, columns come as raw blocks."""

    def __init__(self, engine: EngineAPI, session: Session) -> None:
        self._engine = engine
        self._session = session
        self.prepared: Prepared | None = None
        self._tbname: str | None = None
        self._tags: list[BoundColumn] | None = None
        self._tables: list[BoundTable] = []

    def prepare(self, sql: str) -> bool:
        self.prepared = self._engine.prepare(self._session, sql)
        self._tables = []
        return self.prepared.is_insert

    def set_table_name(self, name: str) -> None:
        self._tbname = name
        self._tags = None

    def set_tags(self, tags: list[Any]) -> None:
        # The JSON tag list carries no types: the engine converts to the declared tag types.
        self._tags = [BoundColumn(None, [value]) for value in tags]

    def bind(self, columns: list[BoundColumn]) -> None:
        _require(self.prepared)
        last = self._tables[-1] if self._tables else None
        if last is not None and last.tbname == self._tbname and last.tags is self._tags \
                and len(last.columns) == len(columns):
            # Consecutive binds to the same table extend its columns: one BoundTable per table.
            for old, new in zip(last.columns, columns):
                old.values.extend(new.values)
            return
        self._tables.append(BoundTable(columns=columns, tbname=self._tbname, tags=self._tags))

    def add_batch(self) -> None:
        # Rows are kept from bind() on; add_batch only marks a batch boundary, which has no
        # visible effect on what exec() writes.
        _require(self.prepared)

    def exec(self) -> int:
        prepared = _require(self.prepared)
        tables, self._tables = self._tables, []
        if not prepared.is_insert:
            # taosws's stmt v1 has no way to read a result; run it for its errors only.
            params = tables[0].columns if tables else []
            prepared.query(params)
            return 0
        return prepared.insert(tables, "v1")


class Stmt2:
    """``conn.stmt2_statement()``: every bind frame carries whole tables (name, tags, columns)."""

    def __init__(self, engine: EngineAPI, session: Session) -> None:
        self._engine = engine
        self._session = session
        self.prepared: Prepared | None = None
        self._tables: list[BoundTable] = []
        self.result: ResultSet | None = None

    def prepare(self, sql: str) -> dict[str, Any]:
        """Prepare and describe the placeholders as the stmt2_prepare reply needs them."""
        self.prepared = prepared = self._engine.prepare(self._session, sql)
        self._tables = []
        self.result = None
        if not prepared.is_insert:
            return {"is_insert": False, "fields": None, "fields_count": prepared.param_count}
        fields = [
            {"name": f.name, "field_type": f.type, "precision": td.PRECISION_CODE.get(f.precision, 0),
             "scale": f.scale, "bytes": f.width, "bind_type": f.bind_type}
            for f in prepared.fields
        ]
        return {"is_insert": True, "fields": fields, "fields_count": len(fields)}

    def bind(self, tables: list[BoundTable]) -> None:
        _require(self.prepared)
        self._tables.extend(tables)

    def exec(self) -> int:
        prepared = _require(self.prepared)
        tables, self._tables = self._tables, []
        if prepared.is_insert:
            return prepared.insert(tables, "v2")
        params = tables[0].columns if tables else []
        self.result = prepared.query(params)
        return 0

    def take_result(self) -> ResultSet:
        if self.result is None:
            raise TDError(ADAPTER_ERROR, "stmt2 has no result: execute a prepared query first")
        result, self.result = self.result, None
        return result
