"""One stack and one browser per test module; a fresh page per test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.harness import CHROMIUM, Stack, Watched, chromium, watch

if CHROMIUM is None:
    pytest.skip("no Chromium binary (apt-get install chromium) - browser tests skipped",
                allow_module_level=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with Stack() as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as context:
        yield context


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A new page (the profile, hence localStorage, is shared by the module's tests)."""
    page = watch(browser)
    yield page
    page.page.close()
