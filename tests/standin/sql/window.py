"""INTERVAL windows: ``SELECT _wstart, agg(...) FROM t [PARTITION BY ...] INTERVAL(1m [, offset])``.

TDengine's rules, as its SQL manual ("Time-Series Extensions") states them: windows start at Unix
time 0 UTC plus the offset; a window query cannot have GROUP BY (0x2624); ``_wstart``, ``_wend`` and
``_wduration`` exist only in window queries (0x2658); results come in ascending window order
within each partition; only windows holding rows are returned (no FILL here). A window is compiled
as one more sqlite GROUP BY key: the row's timestamp rounded down to the window start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import TDError
from . import ast as A
from .timeparse import duration_ticks

if TYPE_CHECKING:
    from .parser import Parser

GROUPBY_WINDOW_COEXIST = 0x2624  # TSDB_CODE_PAR_GROUPBY_WINDOW_COEXIST
INVALID_WINDOW_PC = 0x2658  # TSDB_CODE_PAR_INVALID_WINDOW_PC
NOT_GROUP_BY_EXPRESSION = 0x260A  # TSDB_CODE_PAR_GROUPBY_LACK_EXPRESSION "Not a GROUP BY expression"
PSEUDO_COLUMNS = ("_wstart", "_wend", "_wduration")
SELECTION_FUNCTIONS = ("first", "last", "min", "max")  # these let other columns ride along


def interval_clause(parser: Parser) -> tuple[A.Dur, A.Dur | None]:
    """``INTERVAL(dur [, offset])`` after the keyword; SLIDING and FILL are not supported."""
    parser.expect_op("(")
    interval = _duration(parser)
    offset = _duration(parser) if parser.accept_op(",") else None
    parser.expect_op(")")
    return interval, offset


def _duration(parser: Parser) -> A.Dur:
    tok = parser.next()
    if tok.kind != "dur":
        raise parser.error(tok)
    n, unit = tok.value  # type: ignore[misc]
    return A.Dur(n, unit, pos=tok.pos)


def window_start_sql(stmt: A.Select, ts_sql: str | None, precision: str) -> str:
    """sqlite text of the window start of each row (floor division also below Unix time 0)."""
    assert stmt.interval is not None
    if stmt.group_by:
        raise TDError(GROUPBY_WINDOW_COEXIST, "GROUP BY and WINDOW-clause can't be used together")
    if ts_sql is None:
        raise TDError(0x2600, 'syntax error near "interval"')
    width = duration_ticks(stmt.interval.n, stmt.interval.unit, precision)
    offset = 0
    if stmt.interval_offset is not None:
        offset = duration_ticks(stmt.interval_offset.n, stmt.interval_offset.unit, precision)
    if width <= 0 or not 0 <= offset < width:
        raise TDError(0x2617, "This interval value is too small")
    shifted = f"({ts_sql} - {offset})"
    return f"({shifted} - ((({shifted} % {width}) + {width}) % {width}) + {offset})"


def width_ticks(stmt: A.Select, precision: str) -> int:
    assert stmt.interval is not None
    return duration_ticks(stmt.interval.n, stmt.interval.unit, precision)


def misplaced_pseudo_column() -> TDError:
    return TDError(INVALID_WINDOW_PC, "_WSTART, _WEND and _WDURATION can only be used in window query")


def check_grouped_items(stmt: A.Select) -> None:
    """In a GROUP BY / PARTITION BY-with-aggregates / window query, a plain column in the SELECT
    list must be a grouping key, unless a selection function (FIRST, LAST, MIN, MAX) is present."""
    items = [i.expr for i in stmt.items if i.expr is not None]
    if any(_calls(e, SELECTION_FUNCTIONS) for e in items):
        return
    keys = {g.name for g in stmt.group_by + stmt.partition_by if isinstance(g, A.Col)}
    keys.update(PSEUDO_COLUMNS)
    for expr in items:
        for col in _bare_columns(expr):
            if col.name not in keys:
                raise TDError(NOT_GROUP_BY_EXPRESSION, "Not a GROUP BY expression")


def _children(node: A.Expr) -> list[A.Expr]:
    found = [v for v in vars(node).values() if isinstance(v, A.Expr)]
    for value in vars(node).values():
        if isinstance(value, list):
            found.extend(v for v in value if isinstance(v, A.Expr))
    return found


def _calls(node: A.Expr, names: tuple[str, ...]) -> bool:
    if isinstance(node, A.Func) and node.name in names:
        return True
    return any(_calls(child, names) for child in _children(node))


def _bare_columns(node: A.Expr) -> list[A.Col]:
    """Column references outside any aggregate function."""
    from .compile import AGGREGATES

    if isinstance(node, A.Func) and node.name in AGGREGATES:
        return []
    if isinstance(node, A.Col):
        return [node]
    return [col for child in _children(node) for col in _bare_columns(child)]
