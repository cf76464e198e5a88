"""The compose stack for real (`make test-compose`): images built here from Debian's packages,
the stack up on the host's loopback, a quick scenario loaded through `--target` by two Locust
workers, the compose file's own Locust master and workers, and nothing left afterwards.

A Docker engine is needed: the one running, or one this module starts (and stops, by its pid)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.request import urlopen

import pytest

from lab.drive import compose
from lab.drive.checks import get
from lab.paths import ROOT
from lab.record import models, store
from lab.scenario import loading
from tests.conftest import lab

pytestmark = pytest.mark.compose

OWN_ENGINE = Path("/tmp/lab-dockerd")


def _docker(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=600, check=check)


@pytest.fixture(scope="module")
def engine() -> Iterator[dict[str, str]]:
    """The environment that reaches a Docker engine: the machine's, or one started here."""
    if not shutil.which("docker") or not shutil.which("docker-compose"):
        pytest.fail("docker and docker-compose are needed: `make test-compose` installs them (Debian: docker.io)")
    env = dict(os.environ)
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0:
        yield env
        return
    OWN_ENGINE.mkdir(exist_ok=True)
    socket = OWN_ENGINE / "docker.sock"
    env["DOCKER_HOST"] = f"unix://{socket}"
    log = (OWN_ENGINE / "dockerd.log").open("ab")
    # No bridge and no iptables: every container of the test runs on the host's network.
    daemon = subprocess.Popen(
        ["dockerd", "--data-root", str(OWN_ENGINE / "root"), "--exec-root", str(OWN_ENGINE / "exec"),
         "--pidfile", str(OWN_ENGINE / "dockerd.pid"), "-H", env["DOCKER_HOST"], "--iptables=false", "--bridge=none"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while _docker(env, "info", check=False).returncode != 0:
            if daemon.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"dockerd did not start: see {OWN_ENGINE / 'dockerd.log'}")
            time.sleep(0.5)
        yield env
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
        log.close()
        # dockerd leaves its default network namespace mounted under its exec root: unmount it, so
        # nothing of the engine outlives the test (its image cache under root/ is kept, by design).
        for mount in _mounts_under(OWN_ENGINE):
            subprocess.run(["umount", mount], capture_output=True, timeout=30)
        assert not _mounts_under(OWN_ENGINE), f"mounts left under {OWN_ENGINE}"


def _mounts_under(folder: Path) -> list[str]:
    with open("/proc/mounts") as handle:
        points = [line.split()[1] for line in handle]
    return sorted((p for p in points if p.startswith(f"{folder}/")), reverse=True)


@pytest.fixture(scope="module")
def images(engine: dict[str, str]) -> dict[str, str]:
    """`make images`: cached after the first time (the Debian base is kept, the rest rebuilt from cache)."""
    proc = subprocess.run(
        [str(ROOT / "docker" / "images.sh")], env=engine, cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return engine


def test_the_compose_files_validate(engine: dict[str, str]) -> None:
    for files in (["-f", "docker-compose.yml", "-f", "docker-compose.host.yml"], []):
        proc = subprocess.run(
            ["docker-compose", *files, "config", "-q"], env=engine, cwd=ROOT, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr


def _compose(env: dict[str, str], env_file: Path, project: str, *args: str) -> subprocess.CompletedProcess[str]:
    files = ["-f", "docker-compose.yml", "-f", "docker-compose.host.yml"]  # the host's loopback, no bridge
    cmd = ["docker-compose", *files, "-p", project, "--env-file", str(env_file), *args]
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _left(env: dict[str, str], project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        found += _docker(env, *kind, "-q", "--filter", label).stdout.split()
    return found


def _wait_healthy(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    host, port = url.removeprefix("http://").split(":")
    while time.monotonic() < deadline:
        try:
            if get(host, int(port), "/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer /health within {seconds:g}s")


def _project(name: str) -> str:
    return f"labtest{os.getpid()}{name.replace('-', '')}"


@contextmanager
def _stack(env: dict[str, str], name: str, variant: str, folder: Path) -> Iterator[compose.Stack]:
    """The stack serving one variant on the host's loopback; down afterwards, with nothing left."""
    project = _project(name)
    stack = compose.write(loading.load(name), variant, network="host", free_ports=True, folder=folder)
    try:
        up = _compose(env, stack.env_file, project, "up", "-d", "postgres", "upstream", "app")
        assert up.returncode == 0, up.stderr[-2000:]
        _wait_healthy(stack.app_url, 60)
        yield stack
    finally:
        down = _compose(env, stack.env_file, project, "--profile", "load", "down", "-v", "--remove-orphans")
    assert down.returncode == 0, down.stderr[-2000:]
    assert _left(env, project) == []


def _run(name: str, stack: compose.Stack, folder: Path, **env: str) -> models.RunRecord:
    results, reports = folder / "results", folder / "reports"
    proc = lab(
        "run", name, "--profile", "quick", "--target", stack.app_url, "--variant", "bad",
        "--generators", "2", "--results", str(results), "--reports", str(reports), "--quiet",
        env={**os.environ, **env},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    [run_json] = list(results.glob(f"{name}/*/run.json"))
    rec = store.load(run_json.parent)
    assert rec.status == "complete" and rec.target == stack.app_url
    for cell in rec.cells:  # two Locust workers, both measured
        assert cell.affinity is not None and cell.affinity.generator_processes == 2
        assert cell.summary is not None and cell.summary.requests > 0
        assert cell.summary.value("server_cpu_pct") is None  # the container is not the lab's to sample
    return rec


def test_a_database_scenario_runs_against_the_stack_with_two_generators_and_its_own_locust(
    images: dict[str, str], tmp_path: Path
) -> None:
    loaded = loading.load("pool-exhaustion")
    with _stack(images, "pool-exhaustion", "bad", tmp_path / "compose") as stack:
        rec = _run("pool-exhaustion", stack, tmp_path, DATABASE_URL=stack.database_url)
        # The compose PostgreSQL, with the scenario's max_connections, sampled through its port.
        assert rec.database is not None and rec.database.mode == "target"
        assert rec.database.max_connections == loaded.database.max_connections == 30  # type: ignore[union-attr]
        assert rec.database.server_version[:2].isdigit()
        for cell in rec.cells:
            summary = cell.summary
            assert summary is not None
            peak = summary.value("db_connections_peak")
            assert peak is not None and 0 < peak <= 30  # the app's connections, never past the server's limit
            # pg_stat_statements, not the embedded server's log: the app's queries were counted.
            assert (summary.value("db_statements") or 0) >= summary.requests
        # The compose file's own Locust: a master with its web UI and two scaled workers.
        load = _compose(
            images,
            stack.env_file,
            _project("pool-exhaustion"),
            "--profile",
            "load",
            "up",
            "-d",
            "--scale",
            "locust-worker=2",
        )
        assert load.returncode == 0, load.stderr[-2000:]
        web = f"http://127.0.0.1:{stack.settings['LOCUST_WEB_PORT']}"
        deadline, workers = time.monotonic() + 60, 0
        while time.monotonic() < deadline and workers < 2:
            try:
                with urlopen(f"{web}/stats/requests", timeout=2) as answer:
                    workers = len(json.load(answer).get("workers", []))
            except OSError:
                pass
            time.sleep(1)
        assert workers == 2, f"the compose Locust master saw {workers} workers"


def test_an_upstream_scenario_configures_and_samples_the_stacks_upstream_through_its_port(
    images: dict[str, str], tmp_path: Path
) -> None:
    with _stack(images, "client-per-request", "bad", tmp_path / "compose") as stack:
        rec = _run("client-per-request", stack, tmp_path, UPSTREAM_CONTROL_URL=stack.upstream_control_url)
    assert rec.upstream is not None and rec.upstream.mode["latency_ms"] == 5
    [cell] = rec.cells
    assert cell.summary is not None
    # A client per request: a new upstream connection for each of the 9 in 10 requests that call it,
    # so about 0.9 (measured 0.91 and 1.01 in two runs). A quick window has about 100 requests: the
    # share that calls the upstream varies by +-0.03 (binomial), and the upstream's counter, read
    # every 0.5 s, is interpolated at the window's edges, which moves a few connections in or out.
    # A broken path reads None, 0 (nothing sampled) or about 1.8 (counted twice).
    per_request = cell.summary.value("upstream_connections_per_request")
    assert per_request is not None and 0.7 <= per_request <= 1.15
    assert cell.summary.value("upstream_time_wait_peak") is None  # the stack's sockets: not seen, absent
