"""Perspective's arithmetic expressions as TDengine SQL: `"Profit" / "Sales" * 100`.

Only what both languages mean alike is taken: numeric columns named in double quotes, number
literals, `+ - * /`, unary minus and parentheses. The result is DOUBLE, as Perspective gives a
float for arithmetic (TDengine would give BIGINT for integer `*`). Anything else is refused,
naming the expression; `bucket()` (a time bucket in a group-by) is `sql.parse_bucket`'s.
"""

from __future__ import annotations

import re

from tdpersp.core.model import Column, TableInfo, ref
from tdpersp.core.tdsql import Unsupported
from tdpersp.history.sql import is_bucket, parse_bucket

_TOKEN = re.compile(r'\s*(?:"((?:[^"\\]|\\.)+)"|(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)|([-+*/()]))')


def arithmetic_column(name: str, expression: str, table: TableInfo) -> Column:
    """The computed column `name` of `expression`, or Unsupported saying what is wrong."""
    parts: list[str] = []
    position, expecting_operand, depth = 0, True, 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise Unsupported(f"expression {name!r}: cannot read {text[position:].strip()!r} (only "
                              "numeric columns in double quotes, numbers, + - * / and parentheses)")
        quoted, number, symbol = match.groups()
        position = match.end()
        if quoted is not None or number is not None:
            if not expecting_operand:
                raise Unsupported(f"expression {name!r}: no operator before {match.group().strip()}")
            parts.append(_operand(name, quoted, number, table))
            expecting_operand = False
        elif symbol == "(" or (symbol in "+-" and expecting_operand):
            depth += symbol == "("
            parts.append(symbol)
        elif symbol == ")" and not expecting_operand and depth:
            depth -= 1
            parts.append(symbol)
        elif symbol in "+-*/" and not expecting_operand:
            parts.append(f" {symbol} ")
            expecting_operand = True
        else:
            raise Unsupported(f"expression {name!r}: unexpected {symbol!r}")
    if expecting_operand or depth:
        raise Unsupported(f"expression {name!r} is incomplete: {expression.strip()!r}")
    return Column(name, "DOUBLE", "float", expression=f"CAST(({''.join(parts)}) AS DOUBLE)")


def _operand(name: str, quoted: str | None, number: str | None, table: TableInfo) -> str:
    if number is not None:
        return number
    column = table.column(str(quoted).replace('\\"', '"'))  # refuses an unknown column, naming it
    if column.psp_type not in ("integer", "float"):
        raise Unsupported(f"expression {name!r}: arithmetic on {column.psp_type} column {column.name!r} "
                          "is not supported")
    return ref(column)


def expression_column(table: TableInfo, name: str, expression: str, group_by: list[str]) -> Column | None:
    """A view expression checked: its computed column, or None for a time bucket (a group-by key)."""
    if is_bucket(expression):
        parse_bucket(expression, table)  # refuses a bucket of another column
        if name not in group_by:
            raise Unsupported(f"expression {name!r} can only be used as a group-by (a time bucket)")
        return None
    if name in group_by:
        raise Unsupported(f"expression {name!r}: only bucket() expressions can be grouped by")
    return arithmetic_column(name, expression, table)


def expression_schema(table: TableInfo, expressions: dict[str, str],
                      group_by: list[str]) -> tuple[dict[str, str], dict[str, dict[str, object]]]:
    """(Perspective type, error) per expression, as `describe` reports them: one bad expression
    does not hide the types of the others."""
    types: dict[str, str] = {}
    errors: dict[str, dict[str, object]] = {}
    for name, expression in expressions.items():
        try:
            column = expression_column(table, name, expression, group_by)
        except Unsupported as err:
            errors[name] = {"error_message": str(err), "line": 0, "column": 0}
            continue
        types[name] = "datetime" if column is None else column.psp_type
    return types, errors
