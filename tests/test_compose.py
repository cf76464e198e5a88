"""The compose stack for real (`make test-compose`): the official images where a registry answers,
else images built here from Debian's packages (PostgreSQL 16 on both paths); the stack up and
healthy on the host's loopback, once with `docker compose` v2 and once with `docker-compose` 1.x;
a quick scenario loaded through `--target` by two Locust workers, the compose file's own Locust
master and workers, and nothing left afterwards.

A Docker engine is needed: the one running, or one this module starts (and stops, by its pid)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.request import urlopen, urlretrieve

import pytest

from lab.drive import compose
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
    """The official images where a registry answers; else `make images` (cached after the first
    time: the Debian base is kept, the rest rebuilt from cache). Either way PostgreSQL is 16."""
    official = all(
        _docker(engine, "pull", "-q", image, check=False).returncode == 0
        for image in ("postgres:16", "python:3.11-slim", "nginx:1.27")
    )
    if official and not (ROOT / ".env").is_file():
        return engine
    proc = subprocess.run(
        [str(ROOT / "docker" / "images.sh")], env=engine, cwd=ROOT, capture_output=True, text=True, timeout=1800
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return engine


# Compose v2 where this machine has none (Debian 12 packages 1.x only): Debian 13's build of it,
# pinned, unpacked under .tools/ as a Docker CLI plugin; nothing is installed on the system.
COMPOSE_V2 = "pool/main/d/docker-compose/docker-compose_2.26.1-4_amd64.deb"
COMPOSE_V2_SHA256 = "47681197cb2b1ab88206b42a1a92fc75f50d9530a6322d03494a473eed0408ea"


@pytest.fixture(scope="module")
def compose_v2(images: dict[str, str]) -> dict[str, str]:
    """The environment in which `docker compose` is v2: Docker's own where it has it, else the pinned one."""
    if compose.tool() == ["docker", "compose"]:
        return images
    config = ROOT / ".tools" / "docker-config"
    plugin = config / "cli-plugins" / "docker-compose"
    if not plugin.is_file():
        mirror = subprocess.run(
            ["sh", "-c", "grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | grep -v security | awk '{print $2}' "
             "| head -1"], capture_output=True, text=True,
        ).stdout.strip() or "http://deb.debian.org/debian"  # fmt: skip
        deb = config / "compose.deb"
        config.mkdir(parents=True, exist_ok=True)
        urlretrieve(f"{mirror}/{COMPOSE_V2}", deb)
        assert hashlib.sha256(deb.read_bytes()).hexdigest() == COMPOSE_V2_SHA256, "not the pinned compose v2"
        unpacked = config / "deb"
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True, timeout=120)
        plugin.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(unpacked / "usr/libexec/docker/cli-plugins/docker-compose"), plugin)
        shutil.rmtree(unpacked)
        deb.unlink()
    env = {**images, "DOCKER_CONFIG": str(config)}
    assert subprocess.run(["docker", "compose", "version"], env=env, capture_output=True).returncode == 0
    return env


def test_the_compose_files_validate(engine: dict[str, str]) -> None:
    for files in (["-f", "docker-compose.yml", "-f", "docker-compose.host.yml"], []):
        proc = subprocess.run(
            [*_tool(engine), *files, "config", "-q"], env=engine, cwd=ROOT, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr


def _tool(env: dict[str, str]) -> list[str]:
    run = lambda cmd, **kw: subprocess.run(cmd, env=env, **kw)  # noqa: E731
    return compose.tool(run)


def _compose(env: dict[str, str], env_file: Path, project: str, *args: str) -> subprocess.CompletedProcess[str]:
    base = compose.base_args(env_file, "host", project)  # the host's loopback, no bridge
    cmd = [*_tool(env), *base, *args]
    return subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _left(env: dict[str, str], project: str) -> list[str]:
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        found += _docker(env, *kind, "-q", "--filter", label).stdout.split()
    return found


def _health(env: dict[str, str], project: str) -> list[str]:
    """`name status` of the containers that have a healthcheck (postgres and app)."""
    ids = _docker(env, "ps", "-q", "--filter", f"label=com.docker.compose.project={project}").stdout.split()
    form = "{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}"
    lines = _docker(env, "inspect", "--format", form, *ids).stdout.splitlines()
    return [line for line in lines if not line.endswith(" none")]


def _project(name: str) -> str:
    return f"labtest{os.getpid()}{name.replace('-', '')}"


@contextmanager
def _stack(env: dict[str, str], name: str, variant: str, folder: Path, **settings: str) -> Iterator[compose.Stack]:
    """The stack serving one variant on the host's loopback (`settings` over the scenario's, e.g.
    SERVER="granian"); down afterwards, with nothing left."""
    project = _project(name)
    stack = compose.write(loading.load(name), variant, network="host", free_ports=True, folder=folder)
    if settings:
        values = {**stack.settings, **settings}
        stack.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        stack = compose.Stack(stack.env_file, values)
    try:
        # The lab's own start: `up --wait` on v2, `up` and a poll of the containers' health on 1.x.
        run = lambda cmd, **kw: subprocess.run(cmd, **{**kw, "env": env})  # noqa: E731
        cmd = _tool(env)
        base = compose.base_args(stack.env_file, "host", project, proxy=bool(stack.proxy_url))
        compose.up(cmd, base, stack.services, env, run=run)
        assert all("healthy" in line for line in _health(env, project)), _health(env, project)
        yield stack
    finally:
        profiles = ("--profile", "load", "--profile", "proxy")
        down = _compose(env, stack.env_file, project, *profiles, "down", "-v", "--remove-orphans")
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
    compose_v2: dict[str, str], tmp_path: Path
) -> None:
    images = compose_v2  # this stack comes up with `docker compose` v2 and its own --wait
    assert _tool(images) == ["docker", "compose"]
    loaded = loading.load("pool-exhaustion")
    with _stack(images, "pool-exhaustion", "bad", tmp_path / "compose") as stack:
        rec = _run("pool-exhaustion", stack, tmp_path, DATABASE_URL=stack.database_url)
        # The compose PostgreSQL, with the scenario's max_connections, sampled through its port.
        assert rec.database is not None and rec.database.mode == "target"
        assert rec.database.max_connections == loaded.database.max_connections == 30  # type: ignore[union-attr]
        assert rec.database.server_version.startswith("16."), rec.database.server_version  # on both image paths
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
    # This stack comes up with the machine's own compose: 1.x here (Debian 12), where the lab polls
    # the containers' health itself.
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


def test_nginx_in_front_of_a_granian_app_refuses_an_oversized_body_before_the_app_sees_it(
    images: dict[str, str], tmp_path: Path
) -> None:
    """The compose stack's proxy service with the lab's own nginx.conf (unbounded-request-body's
    fix_proxy: client_max_body_size 16m), and its app service on another server kind."""
    with _stack(
        images, "unbounded-request-body", "fix_proxy", tmp_path / "compose", SERVER="granian", HTTP="", ACCESS_LOG="1"
    ) as stack:
        assert stack.proxy_url is not None
        host, port = "127.0.0.1", int(stack.settings["PROXY_PORT"])
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("GET", "/health")
        answer = conn.getresponse()
        assert answer.status == 200 and answer.read() == b'{"status":"ok"}'
        conn.close()
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("PUT", "/upload", body=b"x" * (17 * 2**20))
        status = conn.getresponse().status
        conn.close()
        logs = _compose(images, stack.env_file, _project("unbounded-request-body"), "--profile", "proxy", "logs")
        app = _compose(images, stack.env_file, _project("unbounded-request-body"), "logs", "app")
    assert status == 413
    assert "client intended to send too large body" in logs.stdout + logs.stderr
    assert "granian" in (app.stdout + app.stderr).lower()  # the app service ran the kind asked for
