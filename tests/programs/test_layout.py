"""The layout stays true: imports go down the stages only, no import circles, one statement of the
minimum Python, ruff clean.

These read the code (its `import` statements, its config files); they cannot tell whether a module
sits in the package where it belongs, only that the packages depend on each other as documented.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.processes import REPO_ROOT

PACKAGE = REPO_ROOT / "tdpersp"
# Each stage may import the stages of a lower rank (and itself), never a higher one nor a sibling:
# the order tdpersp/__init__.py documents.
RANKS = {"core": 0, "live": 1, "history": 1, "rollups": 1, "edge": 2, "serve": 3}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The tdpersp modules `path` imports, at the top or inside a function (a lazy import is still
    an edge). `from tdpersp.live import process` is an edge to the module tdpersp.live.process."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in known}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, set(found)) for name, path in found.items()}


def stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def cycle_in(edges: dict[str, set[str]]) -> list[str]:
    """One import circle as a path of module names, or [] when there is none."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" after

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = "open"
        for target in sorted(edges[node]):
            if state.get(target) == "open":
                return [*path[path.index(target):], target] if target in path else [node, target]
            if target not in state and (found := visit(target, [*path, target])):
                return found
        state[node] = "done"
        return []

    for start in sorted(edges):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def test_every_stage_is_ranked_and_documented() -> None:
    """Guards the map itself: a new subpackage must be given its place (and a docstring saying what
    it owns), else the rule below would silently not apply to it."""
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages == set(RANKS)
    for name in ["tdpersp", *(f"tdpersp.{p}" for p in packages)]:
        path = modules()[name]
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path} says nothing of what it owns"


def test_no_module_imports_from_a_stage_above_or_beside() -> None:
    """Guards the direction of the data path: core knows nothing of the rest, live and history know
    only core, serve may use them all."""
    wrong = []
    for module, targets in graph().items():
        here = stage(module)
        for target in targets:
            there = stage(target)
            if here is None or there is None or there == here:
                continue
            if RANKS[there] >= RANKS[here]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_no_import_circles() -> None:
    """Guards against the circle there was (reader_process <-> subscriber), lazy imports included."""
    assert cycle_in(graph()) == []


def test_the_circle_finder_finds_circles() -> None:
    """The check above would pass vacuously if cycle_in found nothing ever."""
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle_in({"a": {"b"}, "b": set()}) == []


def test_one_minimum_python() -> None:
    """Guards the minimum Python against saying two things: README once promised 3.10 while the
    history needed 3.11 (datetime.UTC). pyproject.toml states it; install.sh reads it from there;
    the README and ruff's target must agree."""
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    minimum = re.search(r'^requires-python = ">=(\d+)\.(\d+)"$', pyproject, re.M)
    assert minimum, "pyproject.toml has no requires-python"
    major, minor = minimum.groups()
    assert f'target-version = "py{major}{minor}"' in pyproject
    readme = (REPO_ROOT / "README.md").read_text()
    assert set(re.findall(r"Python (\d+\.\d+)\+", readme)) == {f"{major}.{minor}"}
    assert "pyproject.toml" in (REPO_ROOT / "install.sh").read_text()


def test_ci_runs_on_the_minimum_python() -> None:
    """Guards "CI proves the minimum": under CI (CI=true), the tests run on exactly the documented
    minimum, so code needing a newer Python fails there. Elsewhere any newer Python may run them."""
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    minimum = tuple(int(n) for n in re.search(r'requires-python = ">=(\d+)\.(\d+)"', pyproject).groups())
    assert sys.version_info[:2] >= minimum
    if os.environ.get("CI") == "true":
        assert sys.version_info[:2] == minimum, f"CI runs Python {sys.version_info[:2]}, not {minimum}"


def test_ruff_clean() -> None:
    """Guards the style every file is read for (pyproject.toml's [tool.ruff])."""
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
