"""The README stays true: its code excerpts exist in the named files, its settings table matches the code."""

from __future__ import annotations

import re
import textwrap

import perspective_server
import producer
from tests.processes import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def test_python_excerpts_are_real_code() -> None:
    """Guards the walkthrough against drifting from the code: each ```python block starts with
    `# <file>` and must appear in that file verbatim. It cannot tell whether the prose is right."""
    blocks = re.findall(r"```python\n# (\S+)\n(.*?)```", README, re.S)
    assert len(blocks) >= 4
    for path, code in blocks:
        source = (REPO_ROOT / path).read_text()
        assert textwrap.dedent(code) in textwrap.dedent(source) or code in source, f"stale excerpt of {path}"


def test_settings_table_lists_every_setting_with_its_default() -> None:
    """Guards the configuration table against a setting added, renamed or re-defaulted in code only."""
    for setting in {*producer.SETTINGS, *perspective_server.SETTINGS}:
        default = "(empty)" if setting.default == "" else f"`{setting.default}`"
        row = f"| `{setting.name}` | `{setting.flag}` | {default} |"
        assert row in README, f"README lacks {row}"


def test_readme_names_the_two_commands_that_ci_runs() -> None:
    """Guards the promise that CI runs exactly the README's test command."""
    test_command = "./install.sh --test && venv/bin/python -m pytest"
    assert test_command in README
    assert test_command in (REPO_ROOT / ".ci" / "run").read_text()
