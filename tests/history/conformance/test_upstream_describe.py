"""Perspective's own virtual-server cases for `describe` and expressions, on the TDengine history.

Ported from perspective-python 5.6.1's `perspective/tests/virtual_servers/test_duckdb.py`
(classes Describe, Expressions, CombinedOperations.test_expressions_group_by_sort) and
`test_polars.py` (test_describe_parity_with_view, test_describe_reports_a_bad_expression): same
configs, same expected values, on the superstore rows loaded into TDengine.
"""

from __future__ import annotations

from typing import Any

import perspective
import pytest

from tests.history.conformance.support import approx, json_of, opened

SPLIT_ROLLUP = ("split_rollup_mode 'rollup' (a total column per split level) is refused: the history's "
                "split-by is flat")
DESCRIBE_CONFIGS: list[Any] = [
    {"columns": ["Sales", "Quantity", "Region"]},
    {"columns": ["Sales", "Quantity"], "group_by": ["Region"],
     "aggregates": {"Sales": "sum", "Quantity": "avg"}},
    {"columns": ["Sales", "Quantity"], "group_by": ["Region"], "group_rollup_mode": "flat"},
    {"columns": ["Sales"], "group_by": ["Region"], "sort": [["Quantity", "desc"]]},
    {"columns": ["Sales", "Quantity"], "split_by": ["Region"]},
    {"columns": ["Sales", "Quantity"], "split_by": ["Region"], "aggregates": {"Quantity": "avg"}},
    {"columns": ["Sales", "Quantity"], "group_by": ["Category"], "split_by": ["Region"],
     "aggregates": {"Sales": "sum", "Quantity": "avg"}},
    {"columns": ["Sales"], "group_by": ["Category"], "split_by": ["Region"], "group_rollup_mode": "flat"},
    pytest.param({"columns": ["Sales"], "group_by": ["Category"], "split_by": ["Region"],
                  "split_rollup_mode": "rollup"}, marks=pytest.mark.skip(reason=SPLIT_ROLLUP)),
    {"columns": ["Sales", "Quantity"], "group_rollup_mode": "total", "aggregates": {"Quantity": "avg"}},
    {"columns": ["Sales", "Quantity"], "split_by": ["Region"], "group_rollup_mode": "total",
     "aggregates": {"Quantity": "avg"}},
    {"columns": ["Sales", "double"], "expressions": {"double": '"Sales" * 2'}},
    {"columns": ["total"], "group_by": ["Region"], "expressions": {"total": '"Sales" + "Profit"'},
     "aggregates": {"total": "sum"}},
    {"columns": ["Sales", "Quantity"], "group_rollup_mode": "total"},  # polars's list adds this one
]
BAD = {"good": '"Sales" * 2', "bad": '"nope" * 2'}


@pytest.mark.parametrize("config", DESCRIBE_CONFIGS)
def test_parity_with_view(superstore: Any, config: dict[str, Any]) -> None:
    verdict = superstore.describe(**config)
    with opened(superstore, **config) as view:
        assert sorted(verdict) == ["expression_schema", "view_schema"]
        assert verdict["view_schema"] == view.schema()
        assert sorted(verdict["expression_schema"]) == sorted(config.get("expressions", {}))


def test_attributes_a_bad_expression(superstore: Any) -> None:
    config = {"columns": ["Sales", "good", "bad"], "expressions": BAD}
    verdict = superstore.describe(**config)
    assert sorted(verdict) == ["expression_errors", "expression_schema"]
    assert verdict["expression_schema"] == {"good": "float"}
    assert list(verdict["expression_errors"]) == ["bad"]
    assert "nope" in verdict["expression_errors"]["bad"]["error_message"]
    with pytest.raises(perspective.PerspectiveError):
        superstore.view(**config)


def test_reports_a_bad_expression_not_in_columns(superstore: Any) -> None:
    """duckdb's test_unused_invalid_expression_is_still_rejected and polars's
    test_describe_reports_a_bad_expression."""
    verdict = superstore.describe(columns=["Sales"], expressions={"bad": '"nope" * 2'})
    assert list(verdict["expression_errors"]) == ["bad"]
    verdict = superstore.describe(columns=["Sales", "double"], expressions={"double": '"Sales" * 2', **BAD})
    assert sorted(verdict) == ["expression_errors", "expression_schema"]
    assert list(verdict["expression_errors"]) == ["bad"]


def test_bad_column_is_a_config_error(superstore: Any) -> None:
    assert list(superstore.describe(columns=["Sales", "nope"])) == ["config_error"]


def test_validate_expressions(superstore: Any) -> None:
    validated = superstore.validate_expressions(BAD)
    assert validated["expression_schema"] == {"good": "float"}
    assert list(validated["errors"]) == ["bad"]
    assert validated["expression_alias"] == BAD


def test_view_expression_schema(superstore: Any) -> None:
    with opened(superstore, columns=["double"], expressions={"double": '"Sales" * 2'}) as view:
        assert view.expression_schema() == {"double": "float"}


def test_simple_expression(superstore: Any) -> None:
    got = json_of(superstore, (0, 5), columns=["Sales", "doublesales"],
                  expressions={"doublesales": '"Sales" * 2'})
    assert got == [{"Sales": s, "doublesales": d} for s, d in [
        (261.96, 523.92), (731.94, 1463.88), (14.62, 29.24), (957.5775, 1915.155), (22.368, 44.736)]]


def test_expression_with_multiple_columns(superstore: Any) -> None:
    got = json_of(superstore, (0, 5), columns=["Sales", "Profit", "margin"],
                  expressions={"margin": '"Profit" / "Sales"'})
    assert got == [{"Sales": s, "Profit": p, "margin": m} for s, p, m in [
        (261.96, 41.9136, 0.16000000000000003), (731.94, 219.582, 0.3), (14.62, 6.8714, 0.47000000000000003),
        (957.5775, -383.031, -0.4), (22.368, 2.5164, 0.1125)]]


def test_expression_with_group_by(superstore: Any) -> None:
    got = json_of(superstore, columns=["total"], group_by=["Region"],
                  expressions={"total": '"Sales" + "Profit"'}, aggregates={"total": "sum"})
    paths = [[], ["Central"], ["East"], ["South"], ["West"]]
    totals = [2583597.882000014, 540946.2532999996, 770304.0199999991, 438471.33530000027, 833876.2733999988]
    assert got == approx([{"__ROW_PATH__": p, "total": t} for p, t in zip(paths, totals)])


def test_expressions_group_by_sort(superstore: Any) -> None:
    got = json_of(superstore, columns=["profitmargin"], group_by=["Region"],
                  expressions={"profitmargin": '"Profit" / "Sales" * 100'}, sort=[["profitmargin", "desc"]],
                  aggregates={"profitmargin": "avg"})
    paths = [[], ["West"], ["East"], ["South"], ["Central"]]
    margins = [12.031392972104467, 21.948661793784012, 16.722695960406636, 16.35190329218107,
               -10.407293926323575]
    assert got == approx([{"__ROW_PATH__": p, "profitmargin": m} for p, m in zip(paths, margins)])
