"""install.sh and docker.sh: their help, their refusals and their messages when Docker is missing.

Starting TDengine in Docker cannot be tested here (no Docker engine on these machines); what is
tested is everything these scripts decide before that.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.processes import REPO_ROOT


def run(script: str, *args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": path} if path is not None else None
    return subprocess.run([str(REPO_ROOT / script), *args], capture_output=True, text=True, timeout=60,
                          env=env, cwd=REPO_ROOT)


@pytest.mark.parametrize("script", ["install.sh", "docker.sh"])
def test_help_and_unknown_options(script) -> None:
    """Guards the scripts' interface: --help explains and exits 0, a typo exits non-zero and says so."""
    helped = run(script, "--help")
    assert helped.returncode == 0 and "Usage:" in helped.stdout
    typo = run(script, "--benchmrak")
    assert typo.returncode != 0 and "unknown option: --benchmrak" in typo.stderr


def test_install_refuses_edit_profile_alone() -> None:
    """Guards the promise that no shell profile is edited unless the native client is asked for."""
    result = run("install.sh", "--edit-profile")
    assert result.returncode != 0 and "--edit-profile only goes with --native-client" in result.stderr


def test_docker_missing_is_named(tmp_path) -> None:
    """Guards the first thing a newcomer without Docker sees: what is missing, a non-zero exit, and the
    stand-in commands to try the demo anyway."""
    (tmp_path / "bash").symlink_to(shutil.which("bash"))  # a PATH with bash and nothing else
    result = run("docker.sh", "--status", path=str(tmp_path))
    assert result.returncode == 1
    assert "docker is not installed" in result.stderr
    # ...and how to try the demo anyway, against the stand-in (named as not being TDengine)
    assert "venv/bin/python -m tests.standin --port 6041" in result.stderr
    assert "NOT TDengine" in result.stderr


def test_readme_has_the_docker_free_recipe(tmp_path) -> None:
    """Guards the recipe docker.sh points to: README's "Without Docker" section runs the same three
    commands the script prints, and says that the stand-in is not TDengine."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("### Without Docker", 1)[1].split("\n## ", 1)[0]
    (tmp_path / "bash").symlink_to(shutil.which("bash"))
    printed = run("docker.sh", "--status", path=str(tmp_path)).stderr
    for command in ("venv/bin/python -m tests.standin --port 6041", "venv/bin/python producer.py",
                    "venv/bin/python perspective_server.py"):
        assert command in section and command in printed
    assert "not TDengine" in section


@pytest.mark.skipif(shutil.which("docker") is None, reason="no docker client on this machine")
def test_docker_engine_not_running_is_named() -> None:
    """Guards the message for a docker client without a running engine (the case on CI machines)."""
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0:
        pytest.skip("a Docker engine is running here: the error path cannot be reached")
    result = run("docker.sh", "--no-pull")
    assert result.returncode == 1
    assert "the Docker engine is not running" in result.stderr


def test_install_refuses_an_old_python(tmp_path) -> None:
    """Guards the minimum Python check (read from pyproject.toml): an older interpreter is named,
    with the version needed, and nothing is installed. A fake interpreter stands in for an old one;
    that the check's arithmetic is right for a real one is what CI's own run shows."""
    old = tmp_path / "python-old"
    old.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.10.0" && exit 0\nexit 1\n')
    old.chmod(0o755)
    result = subprocess.run([str(REPO_ROOT / "install.sh")], capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "PYTHON": str(old)}, cwd=REPO_ROOT)
    assert result.returncode != 0
    assert "Python 3.11 or newer is needed" in result.stderr and "Python 3.10.0" in result.stderr
