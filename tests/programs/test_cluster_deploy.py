"""deploy/tdengine-cluster: the compose file's structure and `docker.sh --cluster` up to Docker.

No Docker engine runs where these tests run, so the cluster itself is never started here: what is
checked is the file Docker Compose would read (parsed as YAML; Compose's own checks are not run)
and every decision the scripts make before they reach Docker.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.processes import REPO_ROOT

CLUSTER = REPO_ROOT / "deploy" / "tdengine-cluster"
DNODES = ("td1", "td2", "td3")


def compose() -> dict:
    return yaml.safe_load((CLUSTER / "compose.yaml").read_text())


def test_three_dnodes_each_its_own_name_data_and_taosadapter_port() -> None:
    """Guards the cluster's shape: three dnodes whose FQDN is their host name on the compose network,
    all joining td1, each with its own volumes and its taosAdapter on localhost:6041, 6042, 6043."""
    services = compose()["services"]
    assert sorted(services) == list(DNODES)
    for number, name in enumerate(DNODES, start=1):
        service = services[name]
        env = service["environment"]
        assert service["hostname"] == env["TAOS_FQDN"] == name
        assert env["TAOS_FIRST_EP"] == "td1:6030" and env["TAOS_SECOND_EP"] == "td2:6030"
        assert service["ports"] == [f"127.0.0.1:{6040 + number}:6041"]
        assert service["volumes"] == [f"{name}-data:/var/lib/taos", f"{name}-log:/var/log/taos"]
        assert {volume.split(":")[0] for volume in service["volumes"]} <= set(compose()["volumes"])


def test_image_is_the_one_docker_sh_pins() -> None:
    """Guards against the cluster and the single container drifting to different TDengine versions."""
    pinned = re.search(r'IMAGE="\$\{TDENGINE_IMAGE:-([^}]+)\}"', (REPO_ROOT / "docker.sh").read_text())
    assert pinned is not None
    for service in compose()["services"].values():
        assert service["image"] == f"${{TDENGINE_IMAGE:-{pinned[1]}}}"


def test_healthcheck_asks_the_taosadapter_for_sql() -> None:
    """Guards `up --wait`: a dnode is healthy only when its taosAdapter answers SQL (code 0)."""
    for service in compose()["services"].values():
        kind, command = service["healthcheck"]["test"]
        assert kind == "CMD-SHELL"
        assert "http://localhost:6041/rest/sql" in command and '"code":0' in command


def test_scripts_parse() -> None:
    """Guards against a syntax error in a path the tests cannot run (everything after Docker)."""
    for script in (REPO_ROOT / "docker.sh", CLUSTER / "cluster.sh"):
        checked = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr


def run_docker_sh(*args: str, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO_ROOT / "docker.sh"), *args], capture_output=True, text=True,
                          timeout=60, env={"PATH": path}, cwd=REPO_ROOT)


def test_cluster_without_docker_says_what_is_missing(tmp_path) -> None:
    """Guards the newcomer's first run of --cluster without Docker: the same message and stand-in
    recipe as the single container, exit 1."""
    (tmp_path / "bash").symlink_to(shutil.which("bash"))
    result = run_docker_sh("--cluster", path=str(tmp_path))
    assert result.returncode == 1
    assert "docker is not installed" in result.stderr and "NOT TDengine" in result.stderr


def fake_docker(bin_dir: Path, compose_works: bool = True) -> Path:
    """A `docker` that logs its arguments and succeeds (`compose version` fails if asked to)."""
    log = bin_dir / "docker.log"
    fail = 'if [ "$1 $2" = "compose version" ]; then exit 1; fi\n' if not compose_works else ""
    script = bin_dir / "docker"
    script.write_text(f'#!/bin/bash\necho "$*" >> {log}\n{fail}exit 0\n')
    script.chmod(0o755)
    return log


def test_cluster_stop_removes_the_compose_project(tmp_path) -> None:
    """Guards the option parse: --cluster --stop reaches cluster.sh, which takes the cluster down with
    its volumes, through the checked-in compose file (and not the single container)."""
    log = fake_docker(tmp_path)
    result = run_docker_sh("--cluster", "--stop", path=f"{tmp_path}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert f"compose -f {CLUSTER}/compose.yaml down -v" in calls
    assert not any(call.startswith(("rm", "inspect")) for call in calls)


def test_cluster_needs_compose_v2(tmp_path) -> None:
    """Guards the message for a Docker without the Compose plugin (docker info works, compose does not)."""
    fake_docker(tmp_path, compose_works=False)
    result = run_docker_sh("--cluster", "--status", path=f"{tmp_path}:/usr/bin:/bin")
    assert result.returncode == 1
    assert "docker compose (the Compose v2 plugin) is not installed" in result.stderr


def test_cluster_refuses_benchmark() -> None:
    """Guards against --benchmark being silently dropped with --cluster."""
    result = run_docker_sh("--cluster", "--benchmark", path="/usr/bin:/bin")
    assert result.returncode == 1 and "--benchmark fills the single container only" in result.stderr
