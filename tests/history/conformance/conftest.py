"""One stand-in and one loaded superstore for every ported upstream case (loading takes ~4 s)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.history.conformance.superstore import load_superstore
from tests.history.support import fresh_database, open_history


@pytest.fixture(scope="session")
def superstore(shared_standin: Any) -> Iterator[Any]:
    """The superstore table, hosted as "superstore" by the history virtual server."""
    with fresh_database(shared_standin, "superstore") as (database, connection):
        load_superstore(connection.query, database)
        yield open_history(connection, "superstore", database, "superstore")[1]
