"""Server kinds: what each can run (refused in one line otherwise), and each one served for real."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from lab.drive.checks import get, wait_healthy
from lab.drive.processes import core_layout, free_port, spawn, stop
from lab.drive.sampling import Sampler, mechanism_probe
from lab.drive.servers import Server
from lab.errors import LabError
from lab.paths import ROOT
from lab.scenario import loading, plan
from lab.scenario.models import ServerSettings, apply_setting
from tests.test_scenario import write_scenario


@pytest.mark.parametrize(
    ("server", "message"),
    [
        ('kind = "hypercorn"\nhttp = "httptools"', "hypercorn parses HTTP with h11 only, not httptools"),
        ('kind = "granian"\nhttp = "h11"', "granian parses HTTP with hyper only, not h11"),
        ('http = "hyper"', "hyper is granian's HTTP parser; uvicorn parses with h11 or httptools"),
        ('kind = "hypercorn"\nloop = "auto"', "hypercorn's worker class is asyncio or uvloop"),
        ("runtime_threads = 2", "runtime_threads and blocking_threads are granian's; uvicorn runs one"),
        ('kind = "granian"\nblocking_threads = 2', "granian runs ASGI apps with one blocking thread per worker"),
    ],
)
def test_a_setting_a_kind_cannot_run_is_refused_in_one_line_saying_why(
    tmp_path: Path, server: str, message: str
) -> None:
    path = write_scenario(tmp_path)
    path.write_text(path.read_text().replace("[server]\n", f"[server]\n{server}\n"))
    with pytest.raises(LabError) as err:
        loading.load(str(path))
    assert message in str(err.value) and "\n" not in str(err.value) and str(path) in str(err.value)


def test_each_kind_records_the_parser_it_runs_and_a_matrix_of_kinds_follows_each_one(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, extra='[matrix]\nkind = ["uvicorn", "gunicorn", "granian", "hypercorn"]\n')
    loaded = loading.load(str(path))
    served = [apply_setting(loaded.server, point) for point in plan.settings(loaded.matrix)]
    assert [(s.kind, s.http) for s in served] == [
        ("uvicorn", "httptools"),
        ("gunicorn", "httptools"),
        ("granian", "hyper"),
        ("hypercorn", "h11"),
    ]
    # A kind given in the file keeps its parser through a matrix point on another field.
    hyper = apply_setting(ServerSettings(kind="hypercorn"), {"workers": 2})
    assert (hyper.http, hyper.workers) == ("h11", 2)


KINDS = [
    ServerSettings(kind="uvicorn"),
    ServerSettings(kind="gunicorn"),
    ServerSettings(kind="granian"),
    ServerSettings(kind="hypercorn", loop="asyncio"),
]


def _tree(pid: int) -> list[int]:
    try:
        root = psutil.Process(pid)
        return [root.pid, *(p.pid for p in root.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


@pytest.mark.e2e
@pytest.mark.parametrize("access_log", [False, True], ids=["quiet", "access-log"])
@pytest.mark.parametrize("settings", KINDS, ids=[s.kind for s in KINDS])
def test_each_kind_is_pinned_ready_sampled_and_stopped_gracefully_leaving_nothing(
    tmp_path: Path, settings: ServerSettings, access_log: bool
) -> None:
    """The blocking app's loop lag shows through the app's own helper on every kind, and so do
    AnyIO's threadpool tokens; CPU and RSS of the whole process tree are sampled; the access log
    writes a line per request only when it is on; SIGTERM ends every process cleanly."""
    settings = settings.model_copy(update={"access_log": access_log})
    core = core_layout().server[:1]
    port = free_port("127.0.0.1")
    log = tmp_path / "server.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LAB_MECHANISM": "1", "BLOCK_MS": "30"}
    server = Server(
        "apps.loop_blocking.bad:app", settings, port, cores=core, env=env, log=log, cwd=ROOT, what=settings.kind
    )
    with server, Sampler("cell") as sampler:
        sampler.watch("server", server.pid)
        assert server.affinity == core
        get("127.0.0.1", port, "/_lab/mechanism")  # starts the lag reading afresh
        for _ in range(10):
            status, body = get("127.0.0.1", port, "/work", timeout_s=5.0)
            assert status == 200 and json.loads(body)["ok"] is True
        status, body = get("127.0.0.1", port, "/_lab/mechanism")
        mechanism = json.loads(body)
        probed = mechanism_probe("127.0.0.1", port)()  # the lab's own reading of the same route
        time.sleep(1.3)  # one sample of the server's tree
        pids = _tree(server.pid)
    assert status == 200
    # time.sleep(30 ms) on the loop delays its 10 ms timer by about that much, whatever the server.
    assert mechanism["loop_lag_ms"] >= 20, mechanism
    assert mechanism["threadpool_tokens"] == 40 and mechanism["threadpool_in_use"] == 0
    assert set(probed) == {"app_loop_lag_ms", "app_threadpool_in_use"}
    metrics = {m: v for _, _, m, v in sampler.rows}
    assert metrics["server_rss_mb"] > 10 and metrics["server_cpu_ms"] > 0
    # A clean stop: 0, or -15 where the server re-raises the SIGTERM it handled (uvicorn does).
    assert server.stopped is not None and server.stopped.code in (0, -15), log.read_text()[-2000:]
    assert not server.stopped.killed, log.read_text()[-2000:]
    assert not [pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    lines = [line for line in log.read_text().splitlines() if "/work" in line]
    assert (len(lines) >= 10) == access_log, log.read_text()[-2000:]


@pytest.mark.e2e
@pytest.mark.parametrize("kind", ["granian", "hypercorn"])
def test_the_compose_app_services_command_serves_each_new_kind(tmp_path: Path, kind: str) -> None:
    """`lab serve` is what the compose stack's app container runs: SERVER picks the kind, and HTTP
    left empty is the kind's own parser."""
    port = free_port("127.0.0.1")
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        **{"APP": "apps.loop_blocking.fix_await:app", "PORT": str(port), "SERVER": kind, "HTTP": ""},
        **{"LOOP": "asyncio", "ACCESS_LOG": "1", "LAB_BIND": "127.0.0.1", "PYTHONPATH": str(ROOT)},
    }
    proc = spawn([sys.executable, "-m", "lab", "serve"], cores=core_layout().server, env=env, log=log, cwd=ROOT)
    try:
        wait_healthy(proc, "127.0.0.1", port, 15.0, log, kind, "/health")
        assert get("127.0.0.1", port, "/work", timeout_s=5.0)[0] == 200
    finally:
        stopped = stop(proc, 5.0)
    assert stopped.code in (0, -15) and not stopped.killed, log.read_text()[-2000:]
    assert "/work" in log.read_text()  # ACCESS_LOG=1 reached the server
