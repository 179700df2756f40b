"""A Perspective view config, translated to TDengine SQL: filters, aggregates, grouping, windows.

Everything a user can type reaches SQL through `quote` (backticked names, tdpersp/core/tdsql.py)
or `literal` (escaped values); anything else is refused with `Unsupported`, whose message the
viewer shows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tdpersp.core.model import Column, TableInfo, ref
from tdpersp.core.tdsql import TICKS_PER_MS, Unsupported, quote

# Perspective aggregate name -> TDengine function. `first by index`/`last by index` are TDengine's
# FIRST/LAST: the row with the smallest/largest timestamp, which is the load order of the history.
NUMBER_AGGREGATES = {
    "sum": "SUM", "count": "COUNT", "avg": "AVG", "mean": "AVG", "high": "MAX", "low": "MIN",
    "max": "MAX", "min": "MIN",
    "high minus low": "SPREAD", "stddev": "STDDEV", "first by index": "FIRST", "last by index": "LAST",
}
OTHER_AGGREGATES = {"count": "COUNT", "first by index": "FIRST", "last by index": "LAST"}
DATETIME_AGGREGATES = {**OTHER_AGGREGATES, "high": "MAX", "low": "MIN", "max": "MAX", "min": "MIN"}
FLOAT_RESULTS = ("SUM", "AVG", "SPREAD", "STDDEV")

COMPARE = {"==": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
NULL_OPS = {"is null": "IS NULL", "is not null": "IS NOT NULL"}
# Perspective's text matches, (prefix, suffix) around the text in a case-insensitive LIKE; the
# negated ones drop NULLs, as Perspective's do (measured) and NOT LIKE does.
MATCHES = {"contains": ("%", "%"), "begins with": ("", "%"), "ends with": ("%", "")}
NOT_MATCHES = {f"not {op}": affixes for op, affixes in MATCHES.items()}
# `LIKE` takes the user's own pattern, case-sensitive, as TDengine's LIKE (and DuckDB's server) do.
STRING_OPS = (*COMPARE, *NULL_OPS, "in", "not in", *MATCHES, *NOT_MATCHES, "LIKE")
FILTER_OPS = {
    "integer": (*COMPARE, *NULL_OPS, "in", "not in"),
    "float": (*COMPARE, *NULL_OPS),
    "string": STRING_OPS,
    "boolean": ("==", "!=", *NULL_OPS),
    "datetime": (*COMPARE, *NULL_OPS),
}

# bucket("col", 'Nu') in a group-by becomes an INTERVAL window; units TDengine aligns at Unix 0 UTC.
_BUCKET = re.compile(r"""\s*bucket\s*\(\s*"((?:[^"\\]|\\.)+)"\s*,\s*'(\d*)([smh])'\s*\)\s*""")


@dataclass(frozen=True)
class Bucket:
    """A time bucket expression: `width` as TDengine writes a duration, e.g. `5m`."""

    column: str
    width: str


def literal(value: Any, column: Column, precision: str) -> str:
    """A SQL literal of `value`, compared with `column`."""
    if value is None:
        raise Unsupported(f"filter on {column.name!r} has no value")
    if column.psp_type == "datetime":
        return str(to_ms(value) * TICKS_PER_MS[precision])
    if column.psp_type == "boolean":
        return "true" if value in (True, "true", 1) else "false"
    if column.psp_type in ("integer", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise Unsupported(f"filter value {value!r} for {column.name!r} is not a finite number")
        return repr(value)
    return string_literal(str(value))


def string_literal(text: str) -> str:
    """TDengine strings take backslash escapes (its SQL manual, "Escape Characters")."""
    if "\0" in text:
        raise Unsupported("filter values cannot contain NUL characters")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def like_literal(text: str, prefix: str, suffix: str) -> str:
    """A LIKE pattern string matching `text` literally, lower-cased like the column it meets.

    In TDengine's string literals `\\%` and `\\_` reach LIKE as escaped wildcards while `\\\\`
    becomes one backslash, so a literal backslash is written as four."""
    if "\0" in text:
        raise Unsupported("filter values cannot contain NUL characters")
    escapes = {"%": "\\%", "_": "\\_", "\\": "\\" * 4, "'": "\\'"}
    body = "".join(escapes.get(ch, ch) for ch in text.lower())
    return f"'{prefix}{body}{suffix}'"


def to_ms(value: Any) -> int:
    """Perspective sends datetime filter values as epoch milliseconds or as text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(moment.timestamp() * 1000)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise Unsupported(f"{value!r} is not a date and time") from None
    return to_ms(moment)


def is_bucket(expression: str) -> bool:
    return _BUCKET.fullmatch(expression) is not None


def parse_bucket(expression: str, table: TableInfo) -> Bucket:
    """`bucket("timestamp", '5m')` on the primary timestamp; any other expression is refused."""
    match = _BUCKET.fullmatch(expression)
    if match is None:
        raise Unsupported(
            f"expression {expression.strip()!r} is not supported: only "
            f"bucket(\"{table.ts}\", 'Ns'|'Nm'|'Nh') in a group-by (a TDengine INTERVAL window)")
    column, count, unit = match.group(1).replace('\\"', '"'), match.group(2) or "1", match.group(3)
    if column != table.ts:
        raise Unsupported(f"bucket() works on the primary timestamp {table.ts!r} only, not {column!r}")
    return Bucket(column, f"{int(count)}{unit}")


def value_sql(column: Column) -> str:
    """A column as selected: timestamps as integers (taosws returns them as text otherwise)."""
    quoted = ref(column)
    return f"CAST({quoted} AS BIGINT)" if column.psp_type == "datetime" else quoted


def aggregate_sql(column: Column, aggregate: Any) -> tuple[str, str]:
    """(SQL, Perspective type of the result) of one aggregate of one column."""
    if not isinstance(aggregate, str):
        raise Unsupported(f"aggregate {aggregate!r} of {column.name!r} is not supported")
    functions = available_aggregates(column.psp_type)
    if aggregate not in functions:
        raise Unsupported(
            f"aggregate {aggregate!r} is not supported for {column.psp_type} column {column.name!r}")
    function = functions[aggregate]
    if function == "COUNT":
        return "COUNT(*)", "integer"  # Perspective counts rows, nulls included
    sql = f"{function}({ref(column)})"
    if function in FLOAT_RESULTS:
        return sql, "float"
    if column.psp_type == "datetime":
        return f"CAST({sql} AS BIGINT)", "datetime"
    return sql, column.psp_type


def available_aggregates(psp_type: str) -> dict[str, str]:
    if psp_type in ("integer", "float"):
        return NUMBER_AGGREGATES
    return DATETIME_AGGREGATES if psp_type == "datetime" else OTHER_AGGREGATES


def default_aggregate(column: Column) -> str:
    """Perspective's defaults: numbers are summed, everything else counted."""
    return "sum" if column.psp_type in ("integer", "float") else "count"


def where_sql(table: TableInfo, filters: Sequence[Sequence[Any]], filter_op: str = "and") -> str:
    """The WHERE clause (with its keyword) for Perspective's filter list, or ''."""
    terms = [filter_sql(table, f) for f in filters]
    terms = [t for t in terms if t]
    if not terms:
        return ""
    joiner = " OR " if filter_op == "or" else " AND "
    return " WHERE " + joiner.join(f"({t})" for t in terms)


def filter_sql(table: TableInfo, term: Sequence[Any]) -> str:
    name, op = term[0], term[1]
    value = term[2] if len(term) > 2 else None
    column = table.column(name)
    if op not in FILTER_OPS.get(column.psp_type, ()):
        raise Unsupported(f"filter {op!r} is not supported for {column.psp_type} column {name!r}")
    quoted = ref(column)
    if op in NULL_OPS:
        return f"{quoted} {NULL_OPS[op]}"
    if op in ("in", "not in"):
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if not values:
            return "" if op == "not in" else "1 = 0"
        items = ", ".join(literal(v, column, table.precision) for v in values)
        return _with_nulls(f"{quoted} {op.upper()} ({items})", quoted, op)
    if op == "LIKE":
        return f"{quoted} LIKE {string_literal(str(value))}"
    if op in MATCHES or op in NOT_MATCHES:  # Perspective matches these case-insensitively
        negation = "NOT " if op in NOT_MATCHES else ""
        return f"LOWER({quoted}) {negation}LIKE {like_literal(str(value), *{**MATCHES, **NOT_MATCHES}[op])}"
    return _with_nulls(f"{quoted} {COMPARE[op]} {literal(value, column, table.precision)}", quoted, op)


def _with_nulls(condition: str, quoted: str, op: str) -> str:
    """Perspective's `!=` and `not in` keep NULLs (measured), SQL's drop them."""
    return f"{condition} OR {quoted} IS NULL" if op in ("!=", "not in") else condition


def order_sql(expression: str, descending: bool) -> str:
    """ORDER BY term placing NULLs where Perspective's flat sorts do: as the largest value, of any
    type (measured on perspective-python 5.6.1)."""
    return f"{expression} {'DESC NULLS FIRST' if descending else 'ASC NULLS LAST'}"


def grouped_sql(table: TableInfo, keys: Sequence[str | Bucket], outputs: Sequence[str], where: str) -> str:
    """One level of a group-by: the key values, then `outputs` (aggregate SQL), per group.

    Tags and `tbname` group with PARTITION BY (TDengine splits the work per subtable); a time bucket
    is an INTERVAL window, with the other keys as its PARTITION BY (a window cannot have GROUP BY)."""
    buckets = [k for k in keys if isinstance(k, Bucket)]
    names = [k for k in keys if isinstance(k, str)]
    if len(buckets) > 1:
        raise Unsupported("only one time bucket can be grouped by")
    select = [value_sql(table.column(k)) if isinstance(k, str) else "CAST(_wstart AS BIGINT)" for k in keys]
    sql = f"SELECT {', '.join([*select, *outputs])} FROM {table.source}{where}"
    quoted = ", ".join(ref(table.column(n)) for n in names)
    if buckets:
        partition = f" PARTITION BY {quoted}" if names else ""
        return f"{sql}{partition} INTERVAL({buckets[0].width})"
    if not names:
        return sql
    all_tags = table.is_super and all(table.column(n).is_tag for n in names)
    return f"{sql} {'PARTITION' if all_tags else 'GROUP'} BY {quoted}"


def flat_sql(table: TableInfo, columns: Sequence[Column], where: str, order: Sequence[str],
             limit: int, offset: int) -> str:
    """A window of rows. Ties (and unsorted views) fall back to the timestamp, then the subtable,
    which is the order the history is loaded in."""
    tiebreak = [] if order and order[0].startswith(quote(table.ts) + " ") else [f"{quote(table.ts)} ASC"]
    tiebreak += ["tbname ASC"] if table.is_super else []
    select = ", ".join(value_sql(c) for c in columns) or "COUNT(*)"
    return (f"SELECT {select} FROM {table.source}{where} ORDER BY {', '.join([*order, *tiebreak])} "
            f"LIMIT {int(limit)} OFFSET {int(offset)}")


def count_sql(table: TableInfo, where: str) -> str:
    return f"SELECT COUNT(*) FROM {table.source}{where}"
