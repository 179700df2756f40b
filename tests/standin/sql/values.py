"""Turning SQL literals and bound parameters into stored values, with TDengine's checks.

Stored forms (sqlite): BOOL 0/1, integers as int (BIGINT UNSIGNED above 2^63-1 wrapped to its
signed bit pattern), FLOAT rounded through f32 so reads match TDengine, timestamps as ticks,
VARCHAR/NCHAR/JSON as str, VARBINARY as bytes.
"""

from __future__ import annotations

import json
import struct
from array import array
from collections.abc import Callable
from datetime import tzinfo
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from .. import types as T
from ..errors import TDError, insert_value_error, stmt_error, value_too_long
from . import ast as A
from .catalog import Column
from .timeparse import duration_ticks, parse_datetime

U64 = 2**64
I64_MAX = 2**63 - 1
FLOAT_MAX = 3.4028234663852886e38
_DECIMAL_CONTEXT = Context(prec=80)  # room for 38 digits (the default context keeps 28)
_INT_NAMES = {
    T.TINYINT.code: "tinyint", T.SMALLINT.code: "smallint", T.INT.code: "int", T.BIGINT.code: "bigint",
    T.UTINYINT.code: "unsigned tinyint", T.USMALLINT.code: "unsigned smallint",
    T.UINT.code: "unsigned int", T.UBIGINT.code: "unsigned bigint",
}


def to_storage_u64(value: int) -> int:
    return value - U64 if value > I64_MAX else value


def from_storage_u64(value: int | None) -> int | None:
    return value + U64 if value is not None and value < 0 else value


def round_f32(value: float) -> float:
    return struct.unpack("<f", struct.pack("<f", value))[0]


# ---------------------------------------------------------------- SQL literals


class LiteralContext:
    """What evaluating an INSERT/TAGS value needs: the SQL (for messages), precision, tz, NOW."""

    def __init__(self, sql: str, precision: str, tz: tzinfo, now: int) -> None:
        self.sql, self.precision, self.tz, self.now = sql, precision, tz, now

    def near(self, node: A.Expr) -> str:
        return self.sql[node.pos:] if node.pos >= 0 else ""

    def fail(self, node: A.Expr, detail: str) -> TDError:
        return insert_value_error(self.near(node), detail)

    def timestamp(self, node: A.Expr) -> int | None:
        """A timestamp expression: integer ticks, date-time string, NOW, and +/- durations."""
        if isinstance(node, A.Lit):
            if node.kind == "null":
                return None
            if node.kind == "int":
                return int(node.value)
            if node.kind == "str":
                ticks = parse_datetime(node.value, self.tz, self.precision)
                if ticks is not None:
                    return ticks
        elif isinstance(node, A.Now):
            return self.now
        elif isinstance(node, A.Dur):
            return duration_ticks(node.n, node.unit, self.precision)
        elif isinstance(node, A.Bin) and node.op in ("+", "-"):
            left, right = self.timestamp(node.left), self.timestamp(node.right)
            if left is not None and right is not None:
                return left + right if node.op == "+" else left - right
        raise self.fail(node, "invalid timestamp")

    def value(self, column: Column, node: A.Expr) -> Any:
        """The stored form of ``node`` written to ``column``."""
        code = column.type.code
        if code == T.TIMESTAMP.code:
            return self.timestamp(node)
        if not isinstance(node, A.Lit):
            raise self.fail(node, f"invalid {column.type.name.lower()} data")
        if node.kind == "null":
            return None
        try:
            return coerce(column, node.value, node.kind)
        except _Invalid as exc:
            raise self.fail(node, str(exc)) from None


class _Invalid(ValueError):
    """A value that does not fit its column; the text is TDengine's detail message."""


def coerce(column: Column, value: Any, kind: str) -> Any:
    """Convert a literal/JSON value for ``column``; raises _Invalid or TDError (too long)."""
    code = column.type.code
    if code in T.INT_RANGE:
        return _integer(column, value, kind)
    if code == T.BOOL.code:
        return _boolean(value, kind)
    if code in (T.FLOAT.code, T.DOUBLE.code):
        return _real(column, value, kind)
    if code == T.TIMESTAMP.code:
        if kind != "int":
            raise _Invalid("invalid timestamp")
        return int(value)
    if column.type in T.DECIMAL_TYPES:
        return _decimal(column, value, kind)
    return _text(column, value, kind)


def _decimal(column: Column, value: Any, kind: str) -> str:
    """Rounded half up to the column's scale and stored as text (sqlite has no 128-bit integer);
    at most precision - scale digits before the point. Rounding and messages are the stand-in's
    (README: not checked against TDengine)."""
    try:
        number = Decimal(str(value) if kind != "bool" else int(bool(value)))
        if not number.is_finite():
            raise InvalidOperation
        rounded = number.quantize(Decimal(1).scaleb(-column.scale), ROUND_HALF_UP, _DECIMAL_CONTEXT)
    except (InvalidOperation, ValueError):
        raise _Invalid("invalid decimal data") from None
    if rounded and rounded.adjusted() >= column.precision - column.scale:
        raise _Invalid("decimal data overflow")
    return str(rounded)


def read_decimal(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def _integer(column: Column, value: Any, kind: str) -> int:
    name = _INT_NAMES[column.type.code]
    try:
        if kind == "bool":
            number = int(bool(value))
        elif kind == "str":
            number = int(float(value)) if any(c in value for c in ".eE") else int(value, 0)
        else:
            number = int(value)
    except (TypeError, ValueError):
        raise _Invalid(f"invalid {name} data") from None
    lo, hi = T.INT_RANGE[column.type.code]
    if not lo <= number <= hi:
        raise _Invalid(f"{name} data overflow")
    return to_storage_u64(number) if column.type is T.UBIGINT else number


def _boolean(value: Any, kind: str) -> int:
    if kind == "str":
        if value.lower() in ("true", "false"):
            return int(value.lower() == "true")
        raise _Invalid("invalid bool data")
    return int(bool(value))


def _real(column: Column, value: Any, kind: str) -> float:
    try:
        number = float(value) if kind != "bool" else float(bool(value))
    except (TypeError, ValueError):
        raise _Invalid(f"illegal {column.type.name.lower()} data") from None
    if column.type is T.FLOAT:
        if abs(number) > FLOAT_MAX:
            raise _Invalid("illegal float data")
        return round_f32(number)
    return number


def _text(column: Column, value: Any, kind: str) -> Any:
    if kind == "bool":
        value = "true" if value else "false"
    elif kind in ("int", "float"):
        value = str(value)
    code = column.type.code
    if code in (T.VARBINARY.code, T.GEOMETRY.code, T.BLOB.code):
        data = value if isinstance(value, bytes) else _varbinary(str(value))
        if len(data) > column.length:
            raise value_too_long(column.name)
        return data
    if isinstance(value, bytes):
        value = value.decode()
    text = str(value)
    if code == T.JSON.code:
        _check_json(text)
        return text
    size = len(text) if code == T.NCHAR.code else len(text.encode())
    if size > column.length:
        raise value_too_long(column.name)
    return text


def _varbinary(text: str) -> bytes:
    if text[:2] in ("\\x", "\\X"):
        return bytes.fromhex(text[2:])
    return text.encode()


def _check_json(text: str) -> None:
    if text.strip().lower() == "null" or not text.strip():
        return
    try:
        parsed = json.loads(text)
    except ValueError:
        raise _Invalid("json parse error") from None
    if not isinstance(parsed, dict):
        raise _Invalid("json error invalide value")


# ---------------------------------------------------------------- bound parameters


def _reinterpret(values: list[Any], src: T.TDType, dst: T.TDType) -> list[Any]:
    """stmt v1: taosAdapter reads the bound bytes as the declared type (same width only)."""
    filled = [0 if v is None else v for v in values]
    raw = struct.pack(f"<{len(filled)}{src.fmt}", *filled)
    out = list(struct.unpack(f"<{len(filled)}{dst.fmt}", raw))
    if None in values:
        out = [None if v is None else o for v, o in zip(values, out)]
    return out


def _python_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def bound_values(column: Column, bound_type: int | None, values: list[Any], mode: str) -> list[Any]:
    """Validate and convert one bound column (all rows at once; no per-row parsing)."""
    declared = column.type
    if bound_type is None:
        return [None if v is None else _coerce_bound(column, v) for v in values]
    if bound_type != declared.code:
        values = _convert_mismatch(column, bound_type, values, mode)
    return _check_bulk(column, values)


def _coerce_bound(column: Column, value: Any) -> Any:
    try:
        return coerce(column, value, _python_kind(value))
    except _Invalid as exc:
        raise stmt_error(str(exc)) from None


def _convert_mismatch(column: Column, bound_type: int, values: list[Any], mode: str) -> list[Any]:
    declared = column.type
    if mode != "v1":
        if len(values) == 1 and values[0] is None:  # TDengine skips the check for one NULL row
            return values
        raise stmt_error("column type mis-match with buffer type")
    src = T.BY_CODE.get(bound_type)
    if src is None:
        raise stmt_error("column type mis-match with buffer type")
    if not src.variable and not declared.variable and src.size == declared.size:
        return _reinterpret(values, src, declared)
    if src.variable and declared.variable:
        return values
    # The real adapter would read the wrong bytes here; the stand-in refuses (see README).
    raise stmt_error("column type mis-match with buffer type")


_CHECKERS: dict[int, Callable[[Column, list[Any]], list[Any]]] = {}


def _check_bulk(column: Column, values: list[Any]) -> list[Any]:
    checker = _CHECKERS.get(column.type.code)
    return checker(column, values) if checker else values


def _present(values: list[Any]) -> list[Any]:
    return [v for v in values if v is not None] if None in values else values


def _check_ints(column: Column, values: list[Any]) -> list[Any]:
    present = _present(values)
    if present:
        lo, hi = T.INT_RANGE[column.type.code]
        if min(present) < lo or max(present) > hi:
            raise stmt_error(f"{_INT_NAMES[column.type.code]} data overflow")
        if column.type is T.UBIGINT and max(present) > I64_MAX:
            return [None if v is None else to_storage_u64(v) for v in values]
    return values


def _check_float(column: Column, values: list[Any]) -> list[Any]:
    if None not in values:
        return array("f", values).tolist()
    return [None if v is None else round_f32(v) for v in values]


def _check_text(column: Column, values: list[Any]) -> list[Any]:
    present = _present(values)
    if not present:
        return values
    if column.type is T.NCHAR:
        too_long = max(map(len, present)) > column.length
    elif column.type in (T.VARBINARY, T.GEOMETRY):
        values = [v.encode() if isinstance(v, str) else v for v in values]
        too_long = max(len(v) for v in values if v is not None) > column.length
    else:  # VARCHAR counts bytes: only strings that could be too long are encoded
        longest = max(map(len, present))
        too_long = longest > column.length or (
            longest * 4 > column.length and any(len(v.encode()) > column.length for v in present))
    if too_long:
        raise value_too_long(column.name)
    return values


for _t in T.INTEGER_TYPES:
    _CHECKERS[_t.code] = _check_ints
_CHECKERS[T.FLOAT.code] = _check_float
for _t in (T.VARCHAR, T.NCHAR, T.VARBINARY, T.GEOMETRY):
    _CHECKERS[_t.code] = _check_text
