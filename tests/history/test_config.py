"""The history's two settings: its table name and the list of extra tables, checked up front."""

from __future__ import annotations

import pytest

import perspective_server
from tdpersp.core import config


def load(argv: list[str], environ: dict[str, str] | None = None):
    return config.load(perspective_server.SETTINGS, "test", argv, environ or {})


def test_history_defaults_and_table_list() -> None:
    """Guards the documented defaults and the `db.table, db.table` form (spaces and a trailing
    comma allowed)."""
    values = load([])
    assert (values.perspective_history_name, values.perspective_history_tables) == ("stock_history", [])
    values = load([], {"PERSPECTIVE_HISTORY_TABLES": " test.meters, stocks.other ,"})
    assert values.perspective_history_tables == [("test", "meters"), ("stocks", "other")]


@pytest.mark.parametrize(("argv", "named"), [
    (["--perspective-history-tables", "meters"], "PERSPECTIVE_HISTORY_TABLES"),
    (["--perspective-history-tables", "test.me ters"], "PERSPECTIVE_HISTORY_TABLES"),
    (["--perspective-history-tables", "test.`x`"], "PERSPECTIVE_HISTORY_TABLES"),
    (["--perspective-history-name", "stock history"], "PERSPECTIVE_HISTORY_NAME"),
])
def test_bad_history_settings_exit_2(argv: list[str], named: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Guards against a malformed table list reaching SQL, or a bad value going unnamed."""
    with pytest.raises(SystemExit) as stopped:
        load(argv)
    assert stopped.value.code == 2
    assert f"bad {named}" in capsys.readouterr().err
