"""What the producer writes, whatever the data: a dataset is a supertable (columns, tags), a way
to make a batch of rows, and the subtables a batch is bound into (one stmt2 round trip per batch).

Each dataset (``trades``, ``meters``) says only what is its own: its DDL, its rows, which rows go
into which subtable. The rest lives here once: the SQL, the strictly increasing clocks, the taosws
helper that binds each SQL type, and the check that an existing supertable is the dataset's.
"""

from __future__ import annotations

import random
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import taosws

from tdpersp.core.tdsql import quote, table_ref

# (name, SQL type) pairs, in table order, as CREATE STABLE spells them.
Definition = tuple[tuple[str, str], ...]

NS_PER_TICK = {"ms": 1_000_000, "us": 1_000, "ns": 1}
TICKS_PER_SECOND = {precision: 1_000_000_000 // ns for precision, ns in NS_PER_TICK.items()}

_TIMESTAMP_COLUMN = {"ms": taosws.millis_timestamps_to_column, "us": taosws.micros_timestamps_to_column,
                     "ns": taosws.nanos_timestamps_to_column}
# The taosws helper for each SQL type (its name without a length): stmt2 wants the exact type.
_COLUMN_BINDERS: dict[str, Callable[[list], Any]] = {
    "FLOAT": taosws.floats_to_column,
    "INT": taosws.ints_to_column,
    "INT UNSIGNED": taosws.unsigned_ints_to_column,
    "NCHAR": taosws.nchar_to_column,
    "VARCHAR": taosws.varchar_to_column,
}
_TAG_BINDERS: dict[str, Callable[[Any], Any]] = {
    "INT": taosws.int_to_tag,
    "NCHAR": taosws.nchar_to_tag,
    "VARCHAR": taosws.varchar_to_tag,
}
_SIZED = re.compile(r"(?P<base>[A-Z ]+?)\s*\((?P<length>\d+)\)")
_ALIASES = {"BINARY": "VARCHAR"}


class MonotonicClock:
    """Ticks since the epoch (microseconds unless told), strictly increasing from call to call.

    Wall-clock time when it moves forward; last + 1 tick when several rows are stamped within one
    tick or the clock steps back. That makes every timestamp unique, which TDengine needs (a
    repeated primary key overwrites the earlier row). Stamping faster than one row per tick makes
    the clock run ahead of the wall clock: rows still never collide, their times drift forward.
    """

    def __init__(self, precision: str = "us") -> None:
        self._ns_per_tick = NS_PER_TICK[precision]
        self._last = 0

    def next(self) -> int:
        now = time.time_ns() // self._ns_per_tick
        self._last = now if now > self._last else self._last + 1
        return self._last


@dataclass(frozen=True)
class Subtable:
    """One subtable's share of a batch: its name, its tag values and its columns' values, in the
    order of the dataset's TAGS and COLUMNS."""

    name: str
    tags: Sequence[Any]
    columns: Sequence[list]


class Dataset(ABC):
    """A supertable and the rows the producer writes into it."""

    name: str
    columns: Definition
    tags: Definition
    # Database precisions this dataset can stamp; one of another is refused, naming the first.
    precisions: tuple[str, ...]

    @abstractmethod
    def maker(self, precision: str, rng: random.Random) -> Callable[[int], Any]:
        """`make(size)`: the next batch of `size` rows, stamped in `precision`."""

    @abstractmethod
    def subtables(self, batch: Any, table: str) -> Iterable[Subtable]:
        """The batch split by subtable, each bound with its tags (created on first use)."""

    @abstractmethod
    def max_rows_per_second(self, precision: str) -> float:
        """Above this rate the timestamps run ahead of the wall clock (they never collide)."""

    def create_stable_sql(self, database: str, table: str) -> str:
        return create_stable_sql(database, table, self.columns, self.tags)

    def insert_sql(self, database: str, table: str) -> str:
        return insert_sql(database, table, self.columns, self.tags)

    def bind(self, batch: Any, table: str, precision: str) -> list[object]:
        """The stmt2 parameters of a whole batch: every subtable of it, in one bind."""
        column_binders = [_column_binder(sql_type, precision) for _, sql_type in self.columns]
        tag_binders = [_TAG_BINDERS[_base(sql_type)] for _, sql_type in self.tags]
        return [
            taosws.stmt2_bind_param_view(
                table_name=sub.name,
                tags=[bind(value) for bind, value in zip(tag_binders, sub.tags, strict=True)],
                columns=[bind(values) for bind, values in zip(column_binders, sub.columns, strict=True)],
            )
            for sub in self.subtables(batch, table)
        ]

    def mismatch(self, described: Iterable[Sequence[Any]]) -> list[str]:
        """How an existing table (its DESCRIBE rows: field, type, length, note) differs from this
        dataset's supertable, in words; empty when it has the same columns and tags in the same
        order (stmt2 binds by position and exact type), strings at least as long as ours."""
        found: dict[bool, list[_Field]] = {False: [], True: []}  # is a tag -> fields
        for row in described:
            found[str(row[3]) == "TAG"].append(_Field.described(str(row[0]), str(row[1]), row[2]))
        problems = []
        for kind, wanted, have in (("columns", self.columns, found[False]), ("tags", self.tags, found[True])):
            needed = [_Field.declared(name, sql_type) for name, sql_type in wanted]
            if len(have) != len(needed) or not all(map(_Field.holds, have, needed)):
                problems.append(f"{kind} are ({', '.join(map(str, have)) or 'none'}), "
                                f"the {self.name} dataset needs ({', '.join(map(str, needed))})")
        return problems


@dataclass(frozen=True)
class _Field:
    """A column or tag as DESCRIBE reports it: lower-case name, type, length of the sized types."""

    name: str
    base: str
    length: int | None

    @classmethod
    def declared(cls, name: str, sql_type: str) -> _Field:
        """From DDL: "VARCHAR(24)" -> VARCHAR, 24; "INT UNSIGNED" -> INT UNSIGNED, None."""
        text = " ".join(sql_type.upper().split())
        sized = _SIZED.fullmatch(text)
        base, length = (sized["base"], int(sized["length"])) if sized else (text, None)
        return cls(name.lower(), _ALIASES.get(base, base), length)

    @classmethod
    def described(cls, name: str, sql_type: str, length: Any) -> _Field:
        base = _ALIASES.get(sql_type.upper(), sql_type.upper())
        sized = base in ("VARCHAR", "NCHAR", "VARBINARY", "GEOMETRY") and length is not None
        return cls(name.lower(), base, int(length) if sized else None)

    def holds(self, needed: _Field) -> bool:
        return (self.name, self.base) == (needed.name, needed.base) and (
            needed.length is None or (self.length or 0) >= needed.length)

    def __str__(self) -> str:
        return f"{self.name} {self.base}" + ("" if self.length is None else f"({self.length})")


def create_stable_sql(database: str, table: str, columns: Definition, tags: Definition) -> str:
    return (f"CREATE STABLE IF NOT EXISTS {table_ref(database, table)} "
            f"({_definitions(columns)}) TAGS ({_definitions(tags)})")


def insert_sql(database: str, table: str, columns: Definition, tags: Definition) -> str:
    """The prepared INSERT: subtable name and tags bound per subtable, created on first use."""
    tag_marks = ", ".join("?" for _ in tags)
    values = ", ".join("?" for _ in columns)
    return f"INSERT INTO ? USING {table_ref(database, table)} TAGS ({tag_marks}) VALUES ({values})"


def _definitions(pairs: Definition) -> str:
    return ", ".join(f"{quote(name)} {sql_type}" for name, sql_type in pairs)


def _base(sql_type: str) -> str:
    """The type without its length: "VARCHAR(24)" -> "VARCHAR"."""
    return _Field.declared("", sql_type).base


def _column_binder(sql_type: str, precision: str) -> Callable[[list], Any]:
    base = _base(sql_type)
    return _TIMESTAMP_COLUMN[precision] if base == "TIMESTAMP" else _COLUMN_BINDERS[base]
