"""What the ported upstream cases share: a view's rows, approximate floats, and the skip reasons."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from perspective.tests.column_paths import joined_column_paths

__all__ = ["approx", "joined_column_paths", "json_of", "opened"]


@contextmanager
def opened(table: Any, **config: Any) -> Iterator[Any]:
    """A view of `config`, deleted afterwards (as each upstream case does)."""
    view = table.view(**config)
    try:
        yield view
    finally:
        view.delete()


def json_of(table: Any, window: tuple[int, int] | None = None, **config: Any) -> list[dict[str, Any]]:
    """`to_json` of a view of `config`, over rows [start, end) when `window` is given."""
    with opened(table, **config) as view:
        return view.to_json(**({} if window is None else {"start_row": window[0], "end_row": window[1]}))


def approx(value: Any) -> Any:
    """`value` with every float in it compared approximately (upstream's `approx_floats`)."""
    if isinstance(value, float):
        return pytest.approx(value)
    if isinstance(value, list):
        return [approx(v) for v in value]
    if isinstance(value, dict):
        return {k: approx(v) for k, v in value.items()}
    return value
