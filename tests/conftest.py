"""Shared fixtures: the stand-in server, and ``td`` for tests that also run against real TDengine."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

from tests.standin.fixture import StandInProcess

REAL_URL_ENV = "TDENGINE_TEST_URL"
NO_REAL_SERVER = f"{REAL_URL_ENV} is not set: no real TDengine to test against"


@dataclass
class TDTarget:
    """Where a test's TDengine lives: ``kind`` is "standin" or "real"."""

    kind: str
    host: str
    port: int
    user: str
    password: str

    @property
    def url(self) -> str:
        return f"taosws://{self.user}:{self.password}@{self.host}:{self.port}"

    def connect(self, **kw: Any) -> Any:
        """``taosws.connect`` to this target; keyword arguments (database=, timezone=...) pass on."""
        import taosws

        params: dict[str, Any] = {"host": self.host, "port": self.port, "user": self.user,
                                  "password": self.password}
        params.update(kw)
        return taosws.connect(**params)


@pytest.fixture
def standin() -> Iterator[StandInProcess]:
    """A fresh stand-in process for this test alone (fault tests may stop or break it)."""
    with StandInProcess() as process:
        yield process


@pytest.fixture(scope="session")
def shared_standin() -> Iterator[StandInProcess]:
    """One stand-in for every ``td`` test; tests keep apart by using their own database."""
    with StandInProcess() as process:
        yield process


@pytest.fixture(params=["standin", "real"])
def td(request: pytest.FixtureRequest) -> TDTarget:
    """The stand-in, and real TDengine when TDENGINE_TEST_URL (taosws://user:pass@host:port) is set."""
    return _target(request)


@pytest.fixture(scope="module", params=["standin", "real"])
def td_module(request: pytest.FixtureRequest) -> TDTarget:
    """As ``td``, for module-scoped fixtures (e.g. one set of tables shared by a module's tests)."""
    return _target(request)


def _target(request: pytest.FixtureRequest) -> TDTarget:
    if request.param == "standin":
        process: StandInProcess = request.getfixturevalue("shared_standin")
        return TDTarget("standin", process.host, process.port, process.user, process.password)
    url = os.environ.get(REAL_URL_ENV)
    if not url:
        pytest.skip(NO_REAL_SERVER)
    parts = urlsplit(url)
    return TDTarget("real", parts.hostname or "localhost", parts.port or 6041,
                    unquote(parts.username or "root"), unquote(parts.password or "taosdata"))


_db_counter = itertools.count(1)


@pytest.fixture
def db_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database name no other test (or test run) uses; dropped afterwards on a real server."""
    stem = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:32]
    name = f"t_{stem}_{os.getpid()}_{next(_db_counter)}"
    yield name
    if "td" in request.fixturenames:
        target: TDTarget = request.getfixturevalue("td")
        if target.kind == "real":
            conn = target.connect()
            try:
                conn.execute(f"DROP DATABASE IF EXISTS {name}")
            finally:
                conn.close()


@pytest.fixture
def open_db(td: TDTarget, db_name: str) -> Iterator[Any]:
    """Creates this test's database; returns ``open(**kw)`` for connections to it (closed afterwards).

    The database is named in the DSN, so cursors and stmt v1 (which open sockets of their own)
    use it too."""
    admin = td.connect()
    admin.execute(f"CREATE DATABASE {db_name}")
    admin.close()
    opened: list[Any] = []

    def open_connection(**kw: Any) -> Any:
        opened.append(td.connect(database=db_name, **kw))
        return opened[-1]

    yield open_connection
    for connection in opened:
        connection.close()


@pytest.fixture
def conn(open_db: Any) -> Any:
    """A connection to this test's fresh (millisecond) database."""
    return open_db()
