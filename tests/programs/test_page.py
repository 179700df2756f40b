"""prsp-viewer.html's shape, read as text (no browser): one script, no markup built from strings."""

from __future__ import annotations

import re

from tests.processes import REPO_ROOT

PAGE = (REPO_ROOT / "prsp-viewer.html").read_text()


def test_page_has_one_inline_module_script() -> None:
    """Guards against the page splitting again into scripts that talk through `window.dashboard`
    (the History block once busy-waited there for the live block's Perspective module): exactly one
    <script>, an inline module, which sets `window.dashboard` once and never reads it back. It
    cannot tell whether the code inside is shared rather than copied, nor that the page works
    (tests/browser does)."""
    scripts = re.findall(r"<script\b[^>]*>", PAGE)
    assert scripts == ['<script type="module">'], scripts
    uses = re.findall(r"window\.dashboard\b.{0,3}", PAGE)  # the one assignment, or a read
    assert uses == ["window.dashboard = "], uses


def test_page_builds_no_markup_from_strings() -> None:
    """Guards against the ?server= address (from the URL or localStorage: outside data) reaching
    the DOM as markup, as the from-disk note once did with innerHTML: no innerHTML or outerHTML
    assignment, no insertAdjacentHTML or document.write. It reads the text only, so it cannot
    catch markup built another way (e.g. a DOMParser) or an unsafe link target."""
    unsafe = re.findall(r"\b(?:inner|outer)HTML\s*\+?=|insertAdjacentHTML|document\.write", PAGE)
    assert not unsafe, unsafe
