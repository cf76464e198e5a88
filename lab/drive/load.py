"""Locust, headless, as an owned process pinned away from the server.

The lab's plugin (lab/drive/locust_plugin.py) is loaded beside the scenario's locustfile: it records
raw per-request samples, ends the warm-up, stops the test on time and publishes progress.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.drive import generators
from lab.drive.processes import affinity, free_port, spawn, stop, tail
from lab.errors import CellError, LabError
from lab.paths import LOCUST_PLUGIN, ROOT, write_atomic
from lab.record.window import Window, read_window
from lab.scenario.models import LoadProfile

# Locust needs a second or two to import and spawn; beyond this it is stuck, not slow.
STARTUP_ALLOWANCE_S = 30.0
# How long a master waits for workers on other hosts (`lab worker` starts one for each cell within
# seconds; a worker that never comes fails the cell rather than hold the run).
REMOTE_WAIT_S = 60


def require_locust() -> None:
    if importlib.util.find_spec("locust") is None:
        raise LabError("Locust is not installed in this environment; run `make setup` (or `uv sync`)")


def command(
    locustfile: str,
    load: LoadProfile,
    url: str,
    out: Path,
    seed: int = 0,
    processes: int = 1,
    master_port: int = 0,
    bounds: str = "",
    remote: generators.Remote | None = None,
) -> list[str]:
    """Closed model: Locust's users. Open model (`load.rate`): no users; the lab's plugin runs the
    locustfile's tasks on its arrival schedule instead. `processes` > 1: Locust's master and that
    many forked workers, talking over loopback on `master_port`. `remote`: a master bound to the stated
    address, waiting for that many workers started elsewhere (`lab worker`)."""
    open_model = load.model == "open"
    if open_model and load.rate is None:
        raise LabError("an open-model Locust run needs one rate; a sweep runs one Locust per rate")
    safety_bound = int(load.warmup_s + longest(load) + (load.drain_s if open_model else 0) + 10)
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        f"{ROOT / locustfile},{LOCUST_PLUGIN}",
        "--headless",
        "--users",
        str(0 if open_model else load.users),
        "--spawn-rate",
        str(load.spawn_rate),
        "--run-time",
        f"{safety_bound}s",
        "--host",
        url,
        "--csv",
        str(out / "locust"),
        "--csv-full-history",
        "--only-summary",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
        "--lab-out",
        str(out),
        "--lab-warmup",
        str(load.warmup_s),
        "--lab-duration",
        str(load.duration_s),
    ]
    if open_model:
        cmd += [
            "--lab-rate",
            repr(load.rate),
            "--lab-arrivals",
            load.arrivals,
            "--lab-max-in-flight",
            str(load.max_in_flight),
            "--lab-when-full",
            load.when_full,
            "--lab-drain",
            str(load.drain_s),
            "--lab-seed",
            str(seed),
        ]
        if load.max_duration_s and bounds:
            cmd += ["--lab-max-duration", str(load.max_duration_s), "--lab-bounds-ms", bounds]
        elif bounds:
            cmd += ["--lab-bounds-ms", bounds]
    if remote is not None:
        cmd += ["--master", "--expect-workers", str(remote.count), "--expect-workers-max-wait", str(REMOTE_WAIT_S)]
        cmd += ["--master-bind-host", remote.host, "--master-bind-port", str(remote.port)]
    elif processes > 1:
        loopback = ["--master-bind-host", "127.0.0.1", "--master-host", "127.0.0.1"]
        cmd += ["--processes", str(processes), *loopback, "--master-bind-port", str(master_port)]
        cmd += ["--master-port", str(master_port)]
    for name, value in load.options.items():
        cmd += [f"--{name.replace('_', '-')}", str(value).lower() if isinstance(value, bool) else str(value)]
    return cmd


# gevent's default libev backend is epoll, whose timeout is in whole milliseconds (libev rounds a
# sleep up to the next one): every scheduled send was late by U(0, 1 ms), a send-lag p50 of 0.55 ms and
# p99 of 1.1 ms on an idle generator. select() takes microseconds: p50 0.09 ms, p99 0.13 ms
# (docs/method.md, "The generator's resolution"). libev's select backend sizes its fd sets itself,
# so it is not held to FD_SETSIZE.
TIMER_ENV = {"GEVENT_BACKEND": "select"}


def longest(load: LoadProfile) -> float:
    """The longest the measured window may run: a step decided early ends before it."""
    return max(load.duration_s, load.max_duration_s or 0.0) if load.model == "open" else load.duration_s


def _started(out: Path, window_path: Path, processes: int) -> Window | None:
    """The load's window once every process has started it."""
    if processes == 1:
        return read_window(window_path) if window_path.is_file() else None
    parts = generators.windows(out)
    return generators.merged_window(parts) if len(parts) == processes else None


def read_progress(out: Path) -> dict[str, Any] | None:
    try:
        data: dict[str, Any] = json.loads((out / "progress.json").read_text())
        return data
    except (OSError, ValueError):
        return None


def run(
    locustfile: str,
    load: LoadProfile,
    url: str,
    out: Path,
    *,
    cores: list[int],
    env: dict[str, str],
    on_start: Callable[[int], None],
    on_tick: Callable[[dict[str, Any] | None], None],
    on_window: Callable[[Window], None] | None = None,
    seed: int = 0,
    processes: int = 1,
    bounds: str = "",
    decided: Callable[[dict[str, Any]], bool] | None = None,
    remote: generators.Remote | None = None,
) -> list[int] | None:
    """Run Locust to completion. `on_start(pid)` lets the caller start sampling it (with several
    `processes`, the master: its forked workers are its children); `on_window(window)` is called
    once the load has started, with its start on the wall clock (`t0`). `decided(progress)` says
    when a step whose SLO is decided may end: the lab then writes `stop.json` with the wall-clock
    moment every Locust process ends its schedule. Returns the cores Locust actually ran on, read
    back once its load had started."""
    log = out / "locust.log"
    window_path = out / "window.json"
    if remote is not None:
        processes = remote.count  # the master's workers are all elsewhere
    port = free_port("127.0.0.1") if processes > 1 and remote is None else 0
    cmd = command(locustfile, load, url, out, seed, processes, port, bounds, remote)
    proc = spawn(cmd, cores=cores, env={**env, **TIMER_ENV}, log=log, cwd=ROOT)
    drain = load.drain_s if load.model == "open" else 0.0
    allowance = STARTUP_ALLOWANCE_S + (REMOTE_WAIT_S if remote is not None else 0)
    deadline = time.monotonic() + load.warmup_s + longest(load) + drain + allowance
    stopping = decided is None
    in_force: list[int] | None = None
    try:
        on_start(proc.pid)
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise CellError(f"Locust did not finish in time; see {log}")
            started = _started(out, window_path, processes)
            if in_force is None and started is not None:
                in_force = affinity(proc.pid)
                if on_window is not None:
                    on_window(started)
                    on_window = None
            progress = read_progress(out) if processes == 1 else generators.progress(out)
            on_tick(progress)
            every = processes == 1 or len(generators.folders(out)) == processes  # each counts its share
            if not stopping and every and progress is not None and decided is not None and decided(progress):
                stopping = True
                write_atomic(out / "stop.json", json.dumps({"at": time.time() + 0.2}))
            time.sleep(0.05 if on_window is not None else 0.2)
    finally:
        code = stop(proc, grace_s=5.0).code
    if code != 0 and remote is not None and len(generators.folders(out)) < remote.count:
        raise CellError(
            f"{remote.count} remote workers were expected at {remote.host}:{remote.port}, "
            f"{len(generators.folders(out))} sent their files; start them with "
            f"`lab worker --master {remote.host}:{remote.port}`; see {log}"
        )
    if code != 0:
        raise CellError(f"Locust exited with code {code}: {tail(log, 2) or 'no output'}")
    if processes > 1:
        generators.merge(out, processes)
    if not window_path.is_file() or read_window(window_path).end_s is None:
        raise CellError(f"Locust ended before the measured window was over: {tail(log, 2) or 'no output'}")
    return in_force
