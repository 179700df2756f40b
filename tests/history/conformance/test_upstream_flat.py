"""Perspective's own virtual-server cases for flat views, replayed on the TDengine history.

Ported from perspective-python 5.6.1's `perspective/tests/virtual_servers/test_duckdb.py`
(classes Client, Table, View, Filter, Sort, Viewport, DataTypes, MinMax; the same cases appear in
`test_polars.py` and `test_postgres.py`): same configs, same expected values, over the same
superstore rows loaded into TDengine (`superstore.py`). Skipped cases say why they cannot hold.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.history.conformance.support import joined_column_paths, json_of, opened

FIRST_FIVE = (0, 5)
PRIMARY_KEY = "TDengine needs a timestamp primary key: the loaded table has a `ts` column upstream lacks"
NO_DATE = "TDengine has no DATE type: Order/Ship Date are TIMESTAMP, so Perspective sees datetime, not date"


def test_get_hosted_table_names(superstore: Any) -> None:
    """Upstream hosts its engine's catalogue (`memory.superstore`); ours hosts the configured table."""
    assert superstore.get_client().get_hosted_table_names() == ["superstore"]


@pytest.mark.skip(reason=f"{PRIMARY_KEY}; {NO_DATE}")
def test_table_schema() -> None: ...


@pytest.mark.skip(reason=PRIMARY_KEY)
def test_table_columns() -> None: ...


def test_size(superstore: Any) -> None:
    assert superstore.size() == 9994


def test_num_rows(superstore: Any) -> None:
    with opened(superstore, columns=["Sales", "Profit"]) as view:
        assert view.num_rows() == 9994


def test_num_columns(superstore: Any) -> None:
    with opened(superstore, columns=["Sales", "Profit", "State"]) as view:
        assert view.num_columns() == 3


def test_view_schema(superstore: Any) -> None:
    with opened(superstore, columns=["Sales", "Profit", "State"]) as view:
        assert view.schema() == {"Sales": "float", "Profit": "float", "State": "string"}


def test_to_json(superstore: Any) -> None:
    assert json_of(superstore, FIRST_FIVE, columns=["Sales", "Quantity"]) == [
        {"Sales": 261.96, "Quantity": 2}, {"Sales": 731.94, "Quantity": 3}, {"Sales": 14.62, "Quantity": 2},
        {"Sales": 957.5775, "Quantity": 5}, {"Sales": 22.368, "Quantity": 2},
    ]


def test_to_columns(superstore: Any) -> None:
    with opened(superstore, columns=["Sales", "Quantity"]) as view:
        assert view.to_columns(start_row=0, end_row=5) == {
            "Sales": [261.96, 731.94, 14.62, 957.5775, 22.368], "Quantity": [2, 3, 2, 5, 2]}


def test_column_paths(superstore: Any) -> None:
    with opened(superstore, columns=["Sales", "Profit", "State"]) as view:
        assert joined_column_paths(view) == ["Sales", "Profit", "State"]


FILTERS: list[tuple[str, list[str], list[list[Any]], list[tuple]]] = [
    ("equals", ["Sales", "Region"], [["Region", "==", "West"]],
     [(14.62, "West"), (48.86, "West"), (7.28, "West"), (907.152, "West"), (18.504, "West")]),
    ("not_equals", ["Sales", "Region"], [["Region", "!=", "West"]],
     [(261.96, "South"), (731.94, "South"), (957.5775, "South"), (22.368, "South"), (15.552, "South")]),
    ("greater_than", ["Sales", "Quantity"], [["Quantity", ">", 5]],
     [(48.86, 7), (907.152, 6), (1706.184, 9), (665.88, 6), (19.46, 7)]),
    ("less_than", ["Sales", "Quantity"], [["Quantity", "<", 3]],
     [(261.96, 2), (14.62, 2), (22.368, 2), (55.5, 2), (8.56, 2)]),
    ("greater_than_or_equal", ["Sales", "Quantity"], [["Quantity", ">=", 10]],
     [(40.096, 14), (43.12, 14), (384.45, 11), (3347.37, 13), (100.24, 10)]),
    ("less_than_or_equal", ["Sales", "Quantity"], [["Quantity", "<=", 2]],
     [(261.96, 2), (14.62, 2), (22.368, 2), (55.5, 2), (8.56, 2)]),
    ("like", ["Sales", "State"], [["State", "LIKE", "Cal%"]],
     [(14.62, "California"), (48.86, "California"), (7.28, "California"), (907.152, "California"),
      (18.504, "California")]),
    ("multiple", ["Sales", "Region", "Quantity"], [["Region", "==", "West"], ["Quantity", ">", 3]],
     [(48.86, "West", 7), (7.28, "West", 4), (907.152, "West", 6), (114.9, "West", 5),
      (1706.184, "West", 9)]),
]


@pytest.mark.parametrize(("columns", "filters", "expected"), [f[1:] for f in FILTERS],
                         ids=[f[0] for f in FILTERS])
def test_filter(superstore: Any, columns: list[str], filters: list[list[Any]], expected: list[tuple]) -> None:
    got = json_of(superstore, FIRST_FIVE, columns=columns, filter=filters)
    assert got == [dict(zip(columns, row)) for row in expected]


def test_filter_matching_nothing(superstore: Any) -> None:
    """Upstream's case is on its coerce_types table; the same assertions on a superstore column."""
    with opened(superstore, columns=["Quantity"], filter=[["Region", "==", "no such value"]]) as view:
        assert view.to_json() == []
        assert view.to_columns() == {"Quantity": []}


SORTS: list[tuple[str, list[str], list[list[str]], list[tuple]]] = [
    ("ascending", ["Sales", "Quantity"], [["Sales", "asc"]],
     [(0.444, 1), (0.556, 1), (0.836, 1), (0.852, 1), (0.876, 1)]),
    ("descending", ["Sales", "Quantity"], [["Sales", "desc"]],
     [(22638.48, 6), (17499.95, 5), (13999.96, 4), (11199.968, 4), (10499.97, 3)]),
    ("multi_column", ["Region", "Sales", "Quantity"], [["Region", "asc"], ["Sales", "desc"]],
     [("Central", 17499.95, 5), ("Central", 9892.74, 13), ("Central", 9449.95, 5),
      ("Central", 8159.952, 8), ("Central", 5443.96, 4)]),
]


@pytest.mark.parametrize(("columns", "sort", "expected"), [s[1:] for s in SORTS], ids=[s[0] for s in SORTS])
def test_sort(superstore: Any, columns: list[str], sort: list[list[str]], expected: list[tuple]) -> None:
    got = json_of(superstore, FIRST_FIVE, columns=columns, sort=sort)
    assert got == [dict(zip(columns, row)) for row in expected]


def test_start_row_and_end_row(superstore: Any) -> None:
    assert json_of(superstore, (10, 15), columns=["Sales", "Profit"]) == [
        {"Sales": 1706.184, "Profit": 85.3092}, {"Sales": 911.424, "Profit": 68.3568},
        {"Sales": 15.552, "Profit": 5.4432}, {"Sales": 407.976, "Profit": 132.5922},
        {"Sales": 68.81, "Profit": -123.858},
    ]


def test_start_col_and_end_col(superstore: Any) -> None:
    with opened(superstore, columns=["Sales", "Profit", "Quantity", "Discount"]) as view:
        assert view.to_json(start_row=0, end_row=5, start_col=1, end_col=3) == [
            {"Profit": 41.9136, "Quantity": 2}, {"Profit": 219.582, "Quantity": 3},
            {"Profit": 6.8714, "Quantity": 2}, {"Profit": -383.031, "Quantity": 5},
            {"Profit": 2.5164, "Quantity": 2},
        ]


def test_integer_columns(superstore: Any) -> None:
    assert json_of(superstore, FIRST_FIVE, columns=["Quantity"]) == [{"Quantity": q} for q in (2, 3, 2, 5, 2)]


def test_float_columns(superstore: Any) -> None:
    assert json_of(superstore, FIRST_FIVE, columns=["Sales", "Profit"]) == [
        {"Sales": 261.96, "Profit": 41.9136}, {"Sales": 731.94, "Profit": 219.582},
        {"Sales": 14.62, "Profit": 6.8714}, {"Sales": 957.5775, "Profit": -383.031},
        {"Sales": 22.368, "Profit": 2.5164},
    ]


def test_string_columns(superstore: Any) -> None:
    columns = ["Region", "State", "City"]
    assert json_of(superstore, FIRST_FIVE, columns=columns) == [dict(zip(columns, row)) for row in [
        ("South", "Kentucky", "Henderson"), ("South", "Kentucky", "Henderson"),
        ("West", "California", "Los Angeles"), ("South", "Florida", "Fort Lauderdale"),
        ("South", "Florida", "Fort Lauderdale")]]


def test_date_columns(superstore: Any) -> None:
    """A date column read as epoch ms: our TIMESTAMP (datetime) gives the same numbers."""
    assert json_of(superstore, FIRST_FIVE, columns=["Order Date"]) == [
        {"Order Date": d}
        for d in (1478563200000, 1478563200000, 1465689600000, 1444521600000, 1444521600000)]


@pytest.mark.parametrize(("column", "low", "high"), [
    ("Quantity", 1, 14), ("Sales", 0.444, 22638.48), ("Category", "Furniture", "Technology")])
def test_min_max(superstore: Any, column: str, low: Any, high: Any) -> None:
    with opened(superstore, columns=[column]) as view:
        assert tuple(view.get_min_max(column)) == (low, high)


def test_min_max_with_group_by(superstore: Any) -> None:
    with opened(superstore, columns=["Sales"], group_by=["Region"], aggregates={"Sales": "sum"}) as view:
        low, high = view.get_min_max("Sales")
        assert 0 < low <= high


def test_min_max_with_filter(superstore: Any) -> None:
    with opened(superstore, columns=["Quantity"], filter=[["Quantity", ">", 10]]) as view:
        low, high = view.get_min_max("Quantity")
        assert low >= 11 and high == 14
