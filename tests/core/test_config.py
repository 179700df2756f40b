"""Configuration: every setting from a flag, an environment variable or its default, checked up front."""

from __future__ import annotations

import pytest

import perspective_server
import producer
from tdpersp.core import config


def load(argv: list[str], environ: dict[str, str] | None = None, settings=perspective_server.SETTINGS):
    return config.load(settings, "test", argv, environ or {})


def test_defaults_are_the_original_demos_constants() -> None:
    """Guards the documented defaults (README's configuration table) against silent drift."""
    values = load([])
    assert (values.taos_host, values.taos_port, values.taos_user, values.taos_password) == (
        "localhost", 6041, "root", "taosdata")
    assert (values.taos_tablename, values.perspective_table_name) == ("stocks_values", "stock_values")
    assert values.perspective_refresh_rate == 250
    assert (values.perspective_host, values.perspective_port) == ("127.0.0.1", 8080)
    assert values.perspective_table_limit == 1000


def test_flag_beats_environment_beats_default() -> None:
    """Guards the precedence rule: a flag overrides the environment, which overrides the default."""
    assert load([], {"TAOS_PORT": "7000"}).taos_port == 7000
    assert load(["--taos-port", "7001"], {"TAOS_PORT": "7000"}).taos_port == 7001


@pytest.mark.parametrize(
    ("argv", "environ", "named"),
    [
        (["--perspective-port", "http"], {}, "PERSPECTIVE_PORT (from --perspective-port)"),
        ([], {"TAOS_PORT": "70000"}, "TAOS_PORT (from the environment)"),
        (["--perspective-refresh-rate", "-5"], {}, "PERSPECTIVE_REFRESH_RATE"),
        (["--perspective-refresh-rate", "nan"], {}, "PERSPECTIVE_REFRESH_RATE"),
        ([], {"TAOS_TABLENAME": "stocks; DROP DATABASE x"}, "TAOS_TABLENAME"),
        (["--perspective-table-name", "1st"], {}, "PERSPECTIVE_TABLE_NAME"),
        (["--perspective-table-limit", "0"], {}, "PERSPECTIVE_TABLE_LIMIT"),
        (["--taos-host", "has space"], {}, "TAOS_HOST"),
        (["--perspective-source", "push"], {}, "PERSPECTIVE_SOURCE"),
        ([], {"PERSPECTIVE_TOPIC": "my-topic"}, "PERSPECTIVE_TOPIC"),
        ([], {"PERSPECTIVE_GROUP": "a b"}, "PERSPECTIVE_GROUP"),
    ],
)
def test_bad_values_exit_2_naming_the_setting(argv, environ, named, capsys) -> None:
    """Guards against a bad value being used (or reported without saying which setting is wrong)."""
    with pytest.raises(SystemExit) as stopped:
        load(argv, environ)
    assert stopped.value.code == 2
    assert f"bad {named}" in capsys.readouterr().err


def test_producer_settings_validate_too(capsys) -> None:
    """Guards the producer's own options (rate, count) against nonsense values."""
    with pytest.raises(SystemExit):
        load(["--producer-rate", "0"], settings=producer.SETTINGS)
    assert "bad PRODUCER_RATE" in capsys.readouterr().err
    assert load(["--producer-count", "10"], settings=producer.SETTINGS).producer_count == 10
    assert load([], settings=producer.SETTINGS).producer_count is None


def test_help_hides_the_password(capsys) -> None:
    """Guards against the password's default (or value) being printed by --help."""
    with pytest.raises(SystemExit):
        load(["--help"], {"TAOS_PASSWORD": "s3cret"})
    shown = capsys.readouterr().out
    assert "TAOS_PASSWORD" in shown
    assert "taosdata" not in shown and "s3cret" not in shown


def test_subscription_names_default_per_database_table_and_server() -> None:
    """Guards the subscribe defaults: the topic follows database and table, and the consumer group
    differs between two servers on different ports (each must get every row), while a restarted
    server on the same port finds its own group again."""
    options = perspective_server.reader_options(load(["--taos-database", "db1", "--taos-tablename", "t1"]))
    assert (options.source, options.topic) == ("poll", "db1_t1_live")
    group_a = perspective_server.reader_options(load(["--perspective-port", "8081"])).group
    group_b = perspective_server.reader_options(load(["--perspective-port", "8082"])).group
    assert group_a != group_b
    assert group_a == perspective_server.reader_options(load(["--perspective-port", "8081"])).group
    argv = ["--perspective-source", "subscribe", "--perspective-topic", "tp", "--perspective-group", "g"]
    chosen = perspective_server.reader_options(load(argv))
    assert (chosen.source, chosen.topic, chosen.group) == ("subscribe", "tp", "g")
