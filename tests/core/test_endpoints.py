"""TAOS_HOST with several taosAdapter endpoints (a cluster), and TAOS_REPLICA: parsing and refusals."""

from __future__ import annotations

import pytest

import perspective_server
import producer
from tdpersp.core import config, endpoints, schema
from tdpersp.core.tdconn import TaosConfig


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("localhost", (("localhost", 6041),)),
        ("td1:6041,td2:6042, td3", (("td1", 6041), ("td2", 6042), ("td3", 6041))),
        ("10.0.0.5:7000", (("10.0.0.5", 7000),)),
        ("[::1]:6041,my_host.example.", (("[::1]", 6041), ("my_host.example.", 6041))),
    ],
)
def test_hosts_take_ports_or_taos_port(text, expected) -> None:
    """Guards the list syntax: an item's own port wins, an item without one takes TAOS_PORT."""
    assert endpoints.resolve(text, 6041) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no host given"),
        ("td1,,td2", "an empty item between commas"),
        ("td1:6041,", "an empty item between commas"),
        ("td1:0", "0 is not a TCP port"),
        ("td1:70000", "70000 is not a TCP port"),
        ("td1:http", "'td1:http' is not host or host:port"),
        ("ws://td1:6041", "'ws://td1:6041' is not host or host:port"),
        ("td 1", "'td 1' is not host or host:port"),
        ("::1", "write an IPv6 address in brackets"),
    ],
)
def test_bad_hosts_are_named(text, says) -> None:
    """Guards against a bad item reaching taosws, whose errors (or silence) would not say which."""
    with pytest.raises(ValueError, match=says):
        endpoints.parse(text)


def test_bad_taos_host_stops_both_programs(capsys) -> None:
    """Guards the settings' promise: a bad list exits 2 naming TAOS_HOST, in the server and the producer."""
    for settings in (perspective_server.SETTINGS, producer.SETTINGS):
        with pytest.raises(SystemExit) as stopped:
            config.load(settings, "test", [], {"TAOS_HOST": "td1:6041,td2:x"})
        assert stopped.value.code == 2
        said = capsys.readouterr().err
        assert "bad TAOS_HOST (from the environment): 'td2:x' is not host or host:port" in said


def test_a_good_list_is_kept_and_described() -> None:
    """Guards what the programs log as their target: every endpoint, with its port, no password."""
    values = config.load(perspective_server.SETTINGS, "test", ["--taos-host", "td1:6041, td2:6042,td3"],
                         {"TAOS_PORT": "6043", "TAOS_PASSWORD": "s3cret"})
    cfg = TaosConfig.from_settings(values)
    assert cfg.endpoints == (("td1", 6041), ("td2", 6042), ("td3", 6043))
    assert cfg.describe() == "taosws://root@td1:6041,td2:6042,td3:6043/stocks"


@pytest.mark.parametrize(("text", "replica"), [("", None), ("1", 1), ("3", 3)])
def test_replica_setting(text, replica) -> None:
    """Guards TAOS_REPLICA's values: empty leaves TDengine's default, 1 and 3 are taken."""
    values = config.load(producer.SETTINGS, "test", [], {"TAOS_REPLICA": text})
    assert values.taos_replica == replica


@pytest.mark.parametrize("text", ["0", "4", "three"])
def test_bad_replica_is_refused(text, capsys) -> None:
    """Guards against a CREATE DATABASE that TDengine would refuse only when the producer got there."""
    with pytest.raises(SystemExit):
        config.load(producer.SETTINGS, "test", [], {"TAOS_REPLICA": text})
    assert "bad TAOS_REPLICA (from the environment)" in capsys.readouterr().err


def test_replica_is_in_create_database_only_when_asked() -> None:
    """Guards the SQL: REPLICA n when set, TDengine's default (no REPLICA) otherwise."""
    assert schema.create_database_sql("stocks", 3) == (
        "CREATE DATABASE IF NOT EXISTS `stocks` PRECISION 'us' REPLICA 3")
    assert "REPLICA" not in schema.create_database_sql("stocks")
