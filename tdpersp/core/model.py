"""The table model: one description of a TDengine table, read from TDengine itself, that the live
source, the history and the page all use.

`describe_table` reads a supertable's or a normal table's columns and tags (DESCRIBE) and its
database's timestamp precision. Each column keeps its TDengine name and gets a Perspective type;
a supertable also gets the pseudo column `tbname` (a device in an IoT table is often only its
subtable: taosBenchmark's tags do not identify it). Types Perspective has no column for
(VARBINARY, GEOMETRY, BLOB) are left out and listed in `skipped`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tdpersp.core.tdconn import LazyConnection, precision_of
from tdpersp.core.tdsql import Unsupported, quote, table_ref

# TDengine types (as DESCRIBE spells them, without a length) -> Perspective's. 64-bit and unsigned
# 32-bit integers do not fit Perspective's 32-bit `integer`, so they become `float`, which holds
# every integer up to 2**53 exactly (as Perspective's own Postgres handler does).
PSP_TYPES = {
    "BOOL": "boolean", "TINYINT": "integer", "SMALLINT": "integer", "INT": "integer",
    "TINYINT UNSIGNED": "integer", "SMALLINT UNSIGNED": "integer",
    "INT UNSIGNED": "float", "BIGINT": "float", "BIGINT UNSIGNED": "float", "FLOAT": "float",
    "DOUBLE": "float", "DECIMAL": "float", "TIMESTAMP": "datetime",
    "VARCHAR": "string", "BINARY": "string", "NCHAR": "string", "JSON": "string",
}


@dataclass(frozen=True)
class Column:
    name: str
    td_type: str
    psp_type: str
    is_tag: bool = False
    pseudo: bool = False  # `tbname`: named bare, a backticked tbname would be an ordinary column
    expression: str = ""  # SQL of a view's computed column (tdpersp/history/expressions.py); "" if stored


@dataclass(frozen=True)
class TableInfo:
    """One table: `db`.`name`, its columns (tags included) and its timestamp precision."""

    db: str
    name: str
    columns: tuple[Column, ...]
    precision: str
    is_super: bool
    skipped: tuple[tuple[str, str], ...] = ()  # (name, TDengine type) of columns Perspective cannot hold

    @property
    def source(self) -> str:
        return table_ref(self.db, self.name)

    @property
    def ts(self) -> str:
        """The primary timestamp, TDengine's first column."""
        return self.columns[0].name

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise Unsupported(f"no column {name!r} in {self.db}.{self.name}")

    def perspective_schema(self) -> dict[str, str]:
        """The Perspective table's schema: every column under its TDengine name."""
        return {column.name: column.psp_type for column in self.columns}


def ref(column: Column) -> str:
    """How SQL names a column (a computed one: its SQL, parenthesised)."""
    if column.expression:
        return f"({column.expression})"
    return column.name if column.pseudo else quote(column.name)


def base_type(td_type: str) -> str:
    """`VARCHAR(24)` -> `VARCHAR`, `DECIMAL(10, 2)` -> `DECIMAL`: the type without its size."""
    return td_type.split("(", 1)[0].strip().upper()


def describe_table(connection: LazyConnection, db: str, table: str) -> TableInfo:
    """`db`.`table` as TDengine describes it; raises taosws.Error (e.g. it does not exist yet) or
    Unsupported (the database is gone)."""
    rows = connection.query(f"DESCRIBE {table_ref(db, table)}")
    columns, skipped = [], []
    for name, td_type, _length, note, *_ in rows:
        psp_type = PSP_TYPES.get(base_type(str(td_type)))
        if psp_type is None:
            skipped.append((str(name), str(td_type)))
        else:
            columns.append(Column(str(name), str(td_type), psp_type, str(note) == "TAG"))
    is_super = any(str(row[3]) == "TAG" for row in rows)  # a tag of a skipped type counts too
    if is_super:
        columns.append(Column("tbname", "VARCHAR", "string", is_tag=True, pseudo=True))
    precision = precision_of(connection.connection(), db)
    if precision is None:
        raise Unsupported(f"database {db!r} not found")
    return TableInfo(db, table, tuple(columns), precision, is_super, tuple(skipped))
