"""The compose stack's settings come from the scenario (no Docker needed: tests/test_compose.py
runs the stack itself)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lab.drive import compose
from lab.errors import LabError
from lab.scenario import loading
from tests.conftest import lab


def test_a_stack_serves_one_variant_as_the_lab_would_with_the_scenarios_database_limits(tmp_path: Path) -> None:
    loaded = loading.load("pool-exhaustion")
    values, app_env = compose.settings(loaded, "fix_budget")
    assert values["APP"] == "apps.pool_exhaustion.fix_budget:app" and values["SERVER"] == "gunicorn"
    assert values["WORKERS"] == "2"  # the scenario's first matrix point
    assert values["PG_MAX_CONNECTIONS"] == "30" and app_env["DB_MAX_CONNECTIONS"] == "30"
    assert app_env["QUERY_MS"] == "100" and app_env["WEB_CONCURRENCY"] == "2"
    assert values["DB_HOST"] == "postgres" and values["LAB_BIND"] == "0.0.0.0"
    assert not set(values["LAB_SERVER_CPUS"].split(",")) & set(values["LAB_GENERATOR_CPUS"].split(","))
    host, _ = compose.settings(loaded, "bad", network="host")
    assert host["DB_HOST"] == host["APP_HOST"] == "127.0.0.1" and host["LAB_BIND"] == "127.0.0.1"
    shed, _ = compose.settings(loading.load("load-shedding"), "fix_limit_concurrency")
    assert "--limit-concurrency 30" in shed["SERVER_FLAGS"]  # a fix that is a server flag travels too
    stack = compose.write(loaded, "bad", free_ports=True, folder=tmp_path)
    written = dict(line.split("=", 1) for line in stack.env_file.read_text().splitlines())
    assert written["APP_PORT"] == str(stack.settings["APP_PORT"]) != "8000"
    assert Path(written["APP_ENV_FILE"]).read_text().count("QUERY_MS=100") == 1


def test_an_unknown_variant_and_a_serve_without_an_app_fail_in_one_line() -> None:
    with pytest.raises(LabError, match="no such variant in pool-exhaustion; one of bad, fix_budget"):
        compose.settings(loading.load("pool-exhaustion"), "ghost")
    env = {k: v for k, v in os.environ.items() if k not in ("APP", "PORT")}
    proc = lab("serve", env=env)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "set APP, PORT" in proc.stderr
    proc = lab("serve", env={**env, "APP": "apps.loop_blocking.bad:app", "PORT": "8000", "SERVER": "nginx"})
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and "lab serve: kind:" in proc.stderr


def _stub(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


@pytest.mark.parametrize(
    ("docker", "standalone", "expected"),
    [
        ('[ "$1 $2" = "compose version" ] && echo "Docker Compose version v2.26.1" && exit 0; exit 1', True, "v2"),
        ("exit 1", True, "v1"),  # a Docker without the plugin, beside docker-compose 1.x
        (None, True, "v1"),
        (None, False, None),
    ],
)
def test_compose_is_docker_compose_v2_where_docker_has_it_else_docker_compose(
    tmp_path: Path, docker: str | None, standalone: bool, expected: str | None
) -> None:
    import shutil
    import subprocess

    if docker is not None:
        _stub(tmp_path, "docker", docker)
    if standalone:
        _stub(tmp_path, "docker-compose", 'echo "docker-compose version 1.29.2, build unknown"')

    def which(name: str) -> str | None:
        return shutil.which(name, path=str(tmp_path))

    def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(tmp_path / cmd[0]), *cmd[1:]], capture_output=True, text=True, timeout=30)

    if expected is None:
        with pytest.raises(LabError, match="no Docker Compose here"):
            compose.tool(run, which)
        return
    cmd = compose.tool(run, which)
    assert cmd == (["docker", "compose"] if expected == "v2" else ["docker-compose"])
    version = compose.major(cmd, run)
    assert version == (2 if expected == "v2" else 1)
    # v2 waits for health itself; 1.x has no --wait (the lab polls the containers' health instead).
    args = compose.up_args(version, compose.STACK, {"locust-worker": 2})
    assert ("--wait" in args) == (expected == "v2") and args[-3:] == compose.STACK
    assert args[2:4] == ["--scale", "locust-worker=2"]


def test_compose_tools_never_installs_debians_engine_over_a_docker_already_there(tmp_path: Path) -> None:
    import shutil
    import subprocess

    script = Path(__file__).resolve().parents[1] / "docker" / "tools.sh"

    def would(*present: str, plugin: bool = False) -> str:
        folder = tmp_path / "-".join(present or ("none",)) / ("plugin" if plugin else "plain")
        folder.mkdir(parents=True)
        for name in ("sh", "echo", "id", "apt-get"):
            if name not in present and (found := shutil.which(name)):
                (folder / name).symlink_to(found)
        for name in present:
            _stub(folder, name, "exit 0" if plugin or name != "docker" else '[ "$1" = compose ] && exit 1; exit 0')
        env = {"PATH": str(folder), "DRY_RUN": "1"}
        proc = subprocess.run(["/bin/sh", str(script)], env=env, capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()

    # Docker's own packages: docker, dockerd and the compose plugin; nothing to add.
    assert would("docker", "dockerd", "debootstrap", plugin=True) == "compose tools: all here (nothing to install)"
    # A Docker without any compose: Debian's docker-compose alone, without the engine it recommends.
    assert would("docker", "dockerd", "debootstrap") == (
        "would run: apt-get install -y -qq --no-install-recommends docker-compose"
    )
    assert would("docker") == "would run: apt-get install -y -qq --no-install-recommends docker-compose debootstrap"
    # No Docker at all: Debian's engine, compose 1.x and debootstrap.
    assert would() == "would run: apt-get install -y -qq docker.io docker-compose debootstrap"


def test_a_1x_stack_is_up_once_every_container_is_healthy_and_a_broken_one_is_named() -> None:
    import subprocess

    def replay(states: list[str]) -> compose.Runner:
        """Compose 1.29 and `docker inspect` as recorded: `ps -q` ids, then one state line per container."""
        polls = iter(states)

        def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
            if cmd[-1] == "version":
                out = "docker-compose version 1.29.2, build unknown\n"
            elif cmd[-2:] == ["ps", "-q"]:
                out = "a1\nb2\n"
            elif cmd[0] == "docker" and cmd[1] == "inspect":
                out = next(polls)
            else:
                out = ""
            return subprocess.CompletedProcess(cmd, 0, out, "")

        return run

    starting = "/lab-postgres-1 healthy\n/lab-app-1 starting\n"
    compose.up(
        ["docker-compose"],
        [],
        compose.STACK,
        {},
        run=replay([starting, "/lab-postgres-1 healthy\n/lab-app-1 healthy\n"]),
    )
    with pytest.raises(LabError, match="compose: lab-app-1 is unhealthy; see `docker logs lab-app-1`"):
        compose.up(
            ["docker-compose"],
            [],
            compose.STACK,
            {},
            run=replay([starting, "/lab-postgres-1 healthy\n/lab-app-1 unhealthy\n"]),
        )
