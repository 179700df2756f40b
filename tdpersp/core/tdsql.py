"""TDengine SQL basics every stage shares: how a name is quoted, what a timestamp tick is."""

from __future__ import annotations

# Timestamps are integers in the database's precision; Perspective's datetimes are epoch ms.
TICKS_PER_MS = {"ms": 1, "us": 1_000, "ns": 1_000_000}


class Unsupported(ValueError):
    """Something TDengine SQL cannot express; the message says what, for the user or the viewer."""


def quote(name: str) -> str:
    """A backticked identifier (keywords such as `timestamp` need it). TDengine has no escape for a
    backtick inside one, so such a name is refused."""
    if "`" in name or "\0" in name or not name:
        raise Unsupported(f"column name {name!r} cannot be quoted for TDengine")
    return f"`{name}`"


def table_ref(database: str, table: str) -> str:
    """`database`.`table`, as every query names it."""
    return f"{quote(database)}.{quote(table)}"
