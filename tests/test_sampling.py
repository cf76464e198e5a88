"""Samplers that read the machine: a busy process shows on the core it runs on, and the machine's
state at a run's start names it."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from lab.drive.machine import state
from lab.drive.processes import spawn, stop
from lab.drive.sampling import Row, Sampler, cores_probe

CORES = sorted(os.sched_getaffinity(0))
BUSY = [sys.executable, "-c", "while True: pass"]


@pytest.mark.skipif(len(CORES) < 2, reason="needs two cores to tell them apart")
def test_the_core_measurement_sees_a_busy_child_on_its_core(tmp_path: Path) -> None:
    # The lab measures the generator's core as a whole: a child it did not start shows up too.
    probe = cores_probe({"busy": [CORES[-1]]})
    proc = spawn(BUSY, cores=[CORES[-1]], env=dict(os.environ), log=tmp_path / "busy.log", cwd=tmp_path)
    try:
        time.sleep(0.3)
        probe()  # from here on
        time.sleep(1.0)
        reading = probe()
    finally:
        stop(proc, grace_s=1.0)
    assert reading["busy_cores_busy_pct"] >= 80.0
    assert reading["busy_cores_busy_sum_pct"] == pytest.approx(reading["busy_cores_busy_pct"])


def test_the_machine_state_names_a_busy_process(tmp_path: Path) -> None:
    proc = spawn(BUSY, cores=[CORES[-1]], env=dict(os.environ), log=tmp_path / "busy.log", cwd=tmp_path)
    try:
        time.sleep(0.3)
        found = state(CORES)
    finally:
        stop(proc, grace_s=1.0)
    assert found.busy and any(f"pid {proc.pid}" in p for p in found.busy_processes)
    assert len(found.load_average) == 3
    assert set(found.smt_siblings) <= set(CORES)


def test_a_watched_tree_reports_the_cpu_time_its_busy_child_used(tmp_path: Path) -> None:
    # CPU per request is read from a cumulative CPU time, so it must count a worker process (a
    # child of the watched root) and grow by about the wall time a busy child spends on a core.
    rows = _watch_a_child("while True: pass", tmp_path, interval_s=0.2, after_s=0.3, for_s=1.5)
    cumulative = [value for _, _, metric, value in rows if metric == "server_cpu_ms"]
    assert len(cumulative) >= 3 and cumulative == sorted(cumulative)
    assert cumulative[-1] - cumulative[0] >= 0.5 * 1000 * 0.2 * (len(cumulative) - 1)


def test_the_peak_resident_memory_catches_a_spike_between_two_readings(tmp_path: Path) -> None:
    # A child that holds 200 MB for 50 ms, well inside one sampling interval, then frees it: the
    # resident reading misses it, the kernel's high-water mark does not.
    spike = "import time; time.sleep(0.5); b = bytearray(200 * 2**20); time.sleep(0.05); del b; time.sleep(60)"
    rows = _watch_a_child(spike, tmp_path, interval_s=1.0, after_s=0.2, for_s=2.2)
    rss = [v for _, _, m, v in rows if m == "server_rss_mb"]
    hwm = [v for _, _, m, v in rows if m == "server_rss_mb_hwm"]
    assert rss and max(rss) < 100
    assert hwm and max(hwm) >= 200


def test_a_recycled_worker_s_cpu_time_stays_counted_after_it_exits(tmp_path: Path) -> None:
    # A supervisor that recycles its workers (uvicorn's --limit-max-requests): each worker burns CPU,
    # exits and is reaped, and the next one starts. Summing the live processes' own times dropped a
    # worker's whole CPU time when it exited, and read a negative CPU per request over a window.
    burn = "import time; end = time.process_time() + 0.4\nwhile time.process_time() < end: pass"
    code = f"import subprocess, sys, time\nfor _ in range(3): subprocess.run([sys.executable, '-c', {burn!r}])\ntime.sleep(60)"
    proc = spawn(
        [sys.executable, "-c", code], cores=[CORES[-1]], env=dict(os.environ), log=tmp_path / "w.log", cwd=tmp_path
    )
    sampler = Sampler("t", interval_s=0.1)
    try:
        sampler.watch("server", proc.pid)
        with sampler:
            time.sleep(2.5)
    finally:
        stop(proc, grace_s=1.0)
    cumulative = [value for _, _, metric, value in sampler.rows if metric == "server_cpu_ms"]
    started = [value for _, _, metric, value in sampler.rows if metric == "server_processes_seen"]
    assert started and started[-1] >= 3  # the supervisor and at least two workers came and went
    assert cumulative == sorted(cumulative), cumulative
    assert cumulative[-1] - cumulative[0] >= 1000  # three workers' 0.4 s each, less what ran before the first reading


def _watch_a_child(code: str, tmp_path: Path, interval_s: float, after_s: float, for_s: float) -> list[Row]:
    """Sample, as the server role, a process whose child runs `code` (a server's worker, say)."""
    shell = [sys.executable, "-c", f"import subprocess, sys; subprocess.run([sys.executable, '-c', {code!r}])"]
    proc = spawn(shell, cores=[CORES[-1]], env=dict(os.environ), log=tmp_path / "child.log", cwd=tmp_path)
    sampler = Sampler("t", interval_s=interval_s)
    try:
        time.sleep(after_s)
        sampler.watch("server", proc.pid)
        with sampler:
            time.sleep(for_s)
    finally:
        stop(proc, grace_s=1.0)
    return sampler.rows


def test_a_restarted_role_keeps_one_cpu_counter_across_both_processes(tmp_path: Path) -> None:
    # A server killed and started again mid-load (a scenario's restart): CPU per request is read
    # from `server_cpu_ms` at the window's edges, so the new process must continue the old one's
    # count, never start again from zero (which read a negative CPU time per request).
    sampler = Sampler("t", interval_s=0.2)
    first = spawn(BUSY, cores=[CORES[-1]], env=dict(os.environ), log=tmp_path / "a.log", cwd=tmp_path)
    second = None
    try:
        sampler.watch("server", first.pid)
        with sampler:
            time.sleep(1.0)
            stop(first, grace_s=0)
            second = spawn(BUSY, cores=[CORES[-1]], env=dict(os.environ), log=tmp_path / "b.log", cwd=tmp_path)
            sampler.watch("server", second.pid)
            time.sleep(1.0)
    finally:
        stop(first, grace_s=0)
        if second is not None:
            stop(second, grace_s=0)
    cumulative = [value for _, _, metric, value in sampler.rows if metric == "server_cpu_ms"]
    assert cumulative == sorted(cumulative) and len(cumulative) >= 6
    assert cumulative[-1] >= 1000  # both processes' busy seconds, not the second's alone


def test_without_pinning_the_layout_shares_every_core_and_a_child_runs_unpinned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """macOS and Windows have no sched_setaffinity: the lab runs there unpinned, and says so."""
    from lab.drive import processes

    monkeypatch.setattr(processes, "CAN_PIN", False)
    layout = processes.core_layout()
    assert not layout.pinned and layout.server == layout.generator == processes.available_cores()
    proc = processes.spawn(
        [sys.executable, "-c", "print('ran')"], cores=[0], env=dict(os.environ), log=tmp_path / "log", cwd=tmp_path
    )
    assert proc.wait(timeout=30) == 0 and (tmp_path / "log").read_text().strip() == "ran"
    assert proc.args[:3] == [sys.executable, "-c", "print('ran')"]  # no pinning wrapper in front
