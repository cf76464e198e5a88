"""Several Locust processes as one generator: the split schedule, the merge, and a real master with
two workers on loopback against a real server (`lab run --generators 2` end to end: test_target.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.analysis.traffic import measured, prepare
from lab.drive import arrivals, generators, load
from lab.drive.processes import core_layout, free_port
from lab.drive.servers import Server
from lab.errors import CellError
from lab.paths import ROOT
from lab.record.raw import read_requests
from lab.record.window import read_window
from lab.scenario.models import LoadProfile, ServerSettings
from tests.conftest import lab, start_lab


def test_poisson_streams_add_up_to_the_whole_rate_and_even_streams_interleave_exactly() -> None:
    rate, seconds = 400.0, 60.0
    streams = [arrivals.schedule(rate, seconds, "poisson", 3, i, 4) for i in range(4)]
    total = sum(len(s) for s in streams)
    expected = rate * seconds
    assert abs(total - expected) < 4 * np.sqrt(expected)  # Poisson: sd = sqrt(mean)
    gaps = np.diff(sorted(t for s in streams for t in s))
    # The superposition is Poisson at `rate`: exponential gaps, mean 1/rate, coefficient of variation 1.
    assert gaps.mean() == pytest.approx(1 / rate, rel=0.05) and gaps.std() / gaps.mean() == pytest.approx(1, rel=0.05)
    assert len({tuple(s[:5]) for s in streams}) == 4  # each stream its own seed
    even = sorted(t for i in range(3) for t in arrivals.schedule(300.0, 2.0, "uniform", 0, i, 3))
    assert even == pytest.approx(arrivals.schedule(300.0, 2.0, "uniform"))
    assert arrivals.schedule(50.0, 3.0, "poisson", 9, 0, 1) == arrivals.schedule(50.0, 3.0, "poisson", 9)
    with pytest.raises(ValueError, match="stream 2 of 2"):
        arrivals.schedule(50.0, 3.0, "poisson", 0, 2, 2)


def test_auto_is_one_process_per_generator_core_and_a_closed_model_never_more_than_its_users() -> None:
    assert generators.count("auto", [2, 3, 4], "open", 1) == 3
    assert generators.count("auto", [2, 3, 4], "closed", 2) == 2
    assert generators.count(2, [1], "open", 1) == 2  # as given: the cell is flagged, not corrected
    layout = core_layout()
    available = sorted(os.sched_getaffinity(0))
    if len(available) >= 2:  # the generator gets every core the server does not
        assert sorted(layout.server + layout.generator) == available and not set(layout.server) & set(layout.generator)


def _worker(out: Path, index: int, t0: float, rows: list[str], in_flight: list[str]) -> None:
    folder = out / f"gen-{index}"
    folder.mkdir(parents=True)
    window = {"t0": t0, "warmup_s": 1.0, "duration_s": 2.0, "generator": index, "generators": 2, "model": "open"}
    window.update(rate=50.0, arrivals="poisson", end_s=3.0, drained_s=0.1 * (index + 1))
    (folder / "window.json").write_text(json.dumps(window))
    (folder / "requests.csv").write_text("t,name,response_ms,ok,sched,sent,wait\n" + "".join(f"{r}\n" for r in rows))
    (folder / "in_flight.csv").write_text("t,in_flight\n" + "".join(f"{r}\n" for r in in_flight))
    (folder / "confirmed_keys.txt").write_text(f"key-{index}\n")


def test_worker_files_merge_by_wall_clock_into_the_files_a_single_process_writes(tmp_path: Path) -> None:
    _worker(tmp_path, 0, 1000.0, ["1.5000,/a,10.000,1,1.49000,1.49000,0.00000", "2.5000,/a,20.000,0,2.48000,2.48000,0.00000"], ["1.000,1", "1.010,2"])  # fmt: skip
    _worker(tmp_path, 1, 1000.25, ["1.2000,/a,5.000,1,1.19500,1.19500,0.00000"], ["0.750,3", "0.760,0"])
    generators.merge(tmp_path, 2)
    window = read_window(tmp_path / "window.json")
    assert window.t0 == 1000.0 and window.skew_s == 0.25 and window.rate == 100.0
    assert window.end_s == 3.0 and window.drained_s == 0.2 and window.generators == 2
    requests = read_requests(tmp_path / "requests.csv")
    assert len(requests) == 3  # every worker's rows, none lost or doubled
    assert list(requests["t"]) == [1.45, 1.5, 2.5]  # worker 1 started 0.25 s later: its 1.2 s is 1.45 s
    assert list(requests["sched"]) == pytest.approx([1.445, 1.49, 2.48])
    latency = prepare(requests, window)["latency_ms"]
    assert list(latency) == pytest.approx([5.0, 10.0, 20.0])  # a shift moves both ends of a latency
    flight = pd.read_csv(tmp_path / "in_flight.csv").set_index("t")["in_flight"]
    assert flight[1.0] == 4 and flight[1.01] == 2  # 1 + 3 (worker 1's 0.75 s is 1.0 s), then 2 + 0
    assert (tmp_path / "confirmed_keys.txt").read_text() == "key-0\nkey-1\n"


def test_a_worker_that_wrote_nothing_fails_the_cell_instead_of_lowering_its_rate(tmp_path: Path) -> None:
    _worker(tmp_path, 0, 1000.0, ["1.5000,/a,10.000,1,1.49000,1.49000,0.00000"], ["1.000,1"])
    with pytest.raises(CellError, match="2 Locust workers were to run, 1 wrote a window"):
        generators.merge(tmp_path, 2)


def _server(tmp_path: Path) -> Server:
    layout = core_layout()
    return Server(
        "apps.loop_blocking.fix_await:app",
        ServerSettings(env={"BLOCK_MS": "20"}),
        free_port("127.0.0.1"),
        cores=layout.server,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        log=tmp_path / "server.log",
        cwd=ROOT,
        what="the test's server",
    )


@pytest.mark.e2e
def test_a_master_with_two_workers_keeps_the_rate_and_measures_what_one_process_measures(tmp_path: Path) -> None:
    rate = 150.0
    step = LoadProfile(users=1, spawn_rate=1, warmup_s=1, duration_s=5, model="open", rate=rate, drain_s=3)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    measured_by: dict[int, pd.DataFrame] = {}
    with _server(tmp_path) as server:
        for processes in (1, 2):
            out = tmp_path / f"p{processes}"
            out.mkdir()
            load.run(
                "locustfiles/loop_blocking.py", step, f"http://127.0.0.1:{server.port}", out,
                cores=core_layout().generator, env=env, on_start=lambda _: None, on_tick=lambda _: None,
                seed=7, processes=processes,
            )  # fmt: skip
            window = read_window(out / "window.json")
            inside, _, _ = measured(prepare(read_requests(out / "requests.csv"), window), window)
            measured_by[processes] = inside
    merged = read_requests(tmp_path / "p2" / "requests.csv")
    parts = [read_requests(p / "requests.csv") for p in sorted((tmp_path / "p2").glob("gen-*"))]
    assert len(parts) == 2 and all(len(p) > 0 for p in parts)
    assert len(merged) == sum(len(p) for p in parts)  # the merge is the sum of its workers' samples
    assert merged["t"].is_monotonic_increasing
    expected = rate * step.duration_s
    for processes, inside in measured_by.items():  # the total arrival rate is kept: Poisson, 4 sd
        assert abs(len(inside) - expected) < 4 * np.sqrt(expected), (processes, len(inside))
        assert inside["ok"].all()
    # The server sleeps 20 ms per request and is far from busy: both generators must measure that.
    for q, tolerance in ((0.5, 0.15), (0.9, 0.3)):
        one, two = (float(measured_by[n]["latency_ms"].quantile(q)) for n in (1, 2))
        assert two == pytest.approx(one, rel=tolerance), (q, one, two)
    assert float(measured_by[2]["latency_ms"].quantile(0.5)) >= 20.0


def test_the_cli_refuses_a_generator_count_that_is_not_one(dirs: tuple[Path, Path]) -> None:
    results, _ = dirs
    proc = lab("run", "loop-blocking", "--generators", "0", "--results", str(results))
    assert proc.returncode == 2 and "'auto' or a whole number of Locust processes" in proc.stderr
    assert not results.exists()


@pytest.mark.e2e
def test_workers_started_elsewhere_ship_their_files_to_the_master_over_locust_messages(tmp_path: Path) -> None:
    # Two `lab worker` processes reach the master only through 127.0.0.2 (the master binds nothing
    # else) and write into folders of their own: what the cell reads came over Locust's messages.
    # The step may run to 40 s unless the lab decides it sooner: its end reaches them as a message too.
    rate = 120.0
    step = LoadProfile(
        users=1, spawn_rate=1, warmup_s=1, duration_s=4, max_duration_s=40, model="open", rate=rate, drain_s=3
    )
    port = free_port("127.0.0.2")
    workers = [
        start_lab("worker", "--master", f"127.0.0.2:{port}", "--locustfile", "locustfiles/loop_blocking.py",
                  "--for", "60", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]  # fmt: skip
    out = tmp_path / "cell"
    out.mkdir()
    try:
        with _server(tmp_path) as server:
            load.run(
                "locustfiles/loop_blocking.py", step, f"http://127.0.0.1:{server.port}", out,
                cores=core_layout().generator, env={**os.environ, "PYTHONPATH": str(ROOT)},
                on_start=lambda _: None, on_tick=lambda _: None, seed=3, bounds="p99=100",
                decided=lambda _: True, remote=generators.Remote("127.0.0.2", port, 2),
            )  # fmt: skip
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        said = [worker.communicate(timeout=30)[0] for worker in workers]
    assert all(w.returncode == 130 for w in workers), said
    assert all("served a run as gen-" in text for text in said), said
    assert not any(Path(tempfile.gettempdir()).glob("lab-worker-*/gen-*")), "a worker left its folder behind"
    parts = [read_requests(p / "requests.csv") for p in generators.folders(out)]
    assert len(parts) == 2 and all(len(p) > 0 for p in parts)
    window = read_window(out / "window.json")
    assert window.generators == 2 and window.end_s is not None
    assert window.end_s < step.warmup_s + step.duration_s + 2  # ended when decided, not at 40 s
    inside, _, _ = measured(prepare(read_requests(out / "requests.csv"), window), window)
    expected = rate * step.duration_s
    assert abs(len(inside) - expected) < 4 * np.sqrt(expected) and inside["ok"].all()
    assert float(inside["latency_ms"].quantile(0.5)) >= 20.0  # the app's 20 ms, as one local process sees it


def test_remote_workers_are_opt_in_and_a_bad_address_is_one_line(dirs: tuple[Path, Path]) -> None:
    results, _ = dirs
    cases = [
        (["--remote-workers", "2"], "--remote-workers N and --master-bind ADDR[:PORT] go together"),
        (["--remote-workers", "2", "--master-bind", "myhost"], "give an IP address of this host to bind"),
        (["--remote-workers", "2", "--master-bind", "127.0.0.2:70000"], "the port must be a number from 1 to 65535"),
        (["--remote-workers", "2", "--master-bind", "10.0.0.5"], "cannot reach the server the lab starts on loopback"),
    ]
    for extra, said in cases:
        proc = lab("run", "loop-blocking", *extra, "--results", str(results))
        assert proc.returncode == 2 and said in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert not results.exists()
    proc = lab("worker", "--master", "127.0.0.2", "--for", "0")
    assert proc.returncode == 2 and "--for 0: a number of seconds above 0" in proc.stderr
