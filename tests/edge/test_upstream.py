"""PERSPECTIVE_UPSTREAM: what an edge accepts as its hub's address, and what it derives from it."""

from __future__ import annotations

import pytest

from tdpersp.edge.upstream import parse
from tests.processes import Program


def test_the_hub_address_and_its_config() -> None:
    """Guards the derived URLs: the path defaults to /websocket, the token goes to /config.json
    too, wss means https, and logs never show the token."""
    assert parse("") is None
    assert parse("ws://hub:8080").websocket == "ws://hub:8080/websocket"
    hub = parse("wss://hub.example:8443/websocket?token=s3cret")
    assert hub.config == "https://hub.example:8443/config.json?token=s3cret"
    assert str(hub) == "wss://hub.example:8443/websocket"


@pytest.mark.parametrize("value", ["http://hub:8080/websocket", "hub:8080", "ws://", "ws:///websocket"])
def test_a_bad_hub_address_is_refused(value: str) -> None:
    with pytest.raises(ValueError, match="is not a websocket URL such as ws://hub:8080/websocket"):
        parse(value)


def test_the_server_exits_2_naming_the_setting() -> None:
    """Guards the start: a bad PERSPECTIVE_UPSTREAM stops the server before anything starts."""
    with Program("perspective_server.py", {"PERSPECTIVE_UPSTREAM": "http://hub:8080/"}) as server:
        assert server.wait(timeout=30) == 2
        assert "bad PERSPECTIVE_UPSTREAM (from the environment): 'http://hub:8080/' is not a websocket URL" \
            in server.output
