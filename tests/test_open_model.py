"""The open model's logic on synthetic data: schedules, the queue model, sweeps, capacity, Little's law."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from lab.analysis import queue, sweep
from lab.analysis.cell import summarise
from lab.analysis.flags import RESOLUTION_MS, decide_flags, floor_line, littles_law, timing_floor
from lab.analysis.traffic import prepare
from lab.drive import arrivals
from lab.record.models import CellSummary
from lab.record.window import Window
from lab.scenario.models import LoadProfile, Search, Slo
from tests import recorded

# A window of the open model: `prepare` reads only its model.
OPEN = Window(t0=0.0, warmup_s=0.0, duration_s=1.0, model="open")


def test_poisson_schedule_has_the_asked_rate_and_exponential_gaps() -> None:
    times = arrivals.schedule(200.0, 50.0, "poisson", seed=1)
    assert len(times) == pytest.approx(200 * 50, rel=0.03)
    gaps = np.diff(times)
    # Exponential gaps: the standard deviation equals the mean (a paced schedule's would be ~0).
    assert statistics.pstdev(gaps) == pytest.approx(float(np.mean(gaps)), rel=0.05)
    even = np.diff(arrivals.schedule(200.0, 5.0, "uniform"))
    assert np.allclose(even, 1 / 200)
    assert arrivals.schedule(10.0, 5.0, seed=3) == arrivals.schedule(10.0, 5.0, seed=3)


def test_bad_schedule_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        arrivals.schedule(0, 1)
    with pytest.raises(ValueError, match="'poisson' or 'uniform'"):
        arrivals.schedule(1, 1, "bursty")


def test_fifo_queue_matches_lindley_and_md1_mean_wait() -> None:
    # Hand-checked: arrivals 0, 1, 2 with service 3 each queue behind each other.
    assert queue.fifo_latency([0, 1, 2], [3, 3, 3]) == [3, 5, 7]
    # Two servers: the second arrival does not wait.
    assert queue.fifo_latency([0, 1, 2], [3, 3, 3], servers=2) == [3, 3, 4]
    # M/D/1 at utilisation 0.8: mean wait = rho / (2 mu (1 - rho)) = 0.8 / (2 * 50 * 0.2) = 40 ms.
    times = arrivals.schedule(40.0, 5000.0, seed=7)
    latency = queue.fifo_latency(times, [0.02] * len(times))
    assert statistics.mean(latency) - 0.02 == pytest.approx(0.040, rel=0.1)


def _steps(*pairs: tuple[float, str]) -> list[sweep.Step]:
    return [sweep.Step(rate, outcome) for rate, outcome in pairs]  # type: ignore[arg-type]


def _open(**fields: object) -> LoadProfile:
    base = {"users": 1, "spawn_rate": 1, "warmup_s": 1, "duration_s": 1, "model": "open"}
    return LoadProfile.model_validate({**base, **fields})


def test_listed_rates_stop_after_two_misses_then_bisect() -> None:
    load = _open(rates=[5, 40, 80, 160], bisect=2)
    assert sweep.next_rate(load, []) == 5
    done = _steps((5, "meets"), (40, "misses"))
    assert sweep.next_rate(load, done) == 80
    done += _steps((80, "misses"))
    assert sweep.next_rate(load, done) == 22.5  # between the last rate met (5) and the first missed (40)
    done += _steps((22.5, "meets"))
    assert sweep.next_rate(load, done) == 31.2
    done += _steps((31.2, "misses"))
    assert sweep.next_rate(load, done) is None
    assert sweep.capacity(done) == (22.5, "exact")


def test_a_sweep_that_never_misses_has_a_lower_bound_and_one_that_always_misses_an_upper() -> None:
    load = _open(rates=[10, 20], bisect=2)
    done = _steps((10, "meets"), (20, "meets"))
    assert sweep.next_rate(load, done) is None
    assert sweep.capacity(done) == (20, "at_least")
    assert sweep.capacity(_steps((10, "misses"), (20, "misses"))) == (10, "below")


def test_a_step_the_generator_could_not_keep_ends_the_sweep() -> None:
    load = _open(search={"start": 10, "factor": 2, "max": 160}, bisect=3)
    done = _steps((10, "meets"), (20, "meets"), (40, "untrusted"))
    assert sweep.next_rate(load, done) is None
    assert sweep.capacity(done) == (20, "at_least")
    assert Search(start=10, factor=2, max=160).steps() == [10, 20, 40, 80, 160]


def test_slo_outcome_names_what_was_missed() -> None:
    slo = Slo(p99_ms=100)
    assert slo.misses({"p99": 50.0}, 0.0, 1.0) == []
    assert slo.misses({"p99": 150.0}, 0.05, 0.5) == [
        "p99 150.0 ms > 100 ms",
        "error rate 0.05 > 0.01",
        "achieved 0.5 of offered < 0.95",
    ]


def test_a_server_that_fails_two_percent_fast_misses_a_p99_slo_its_successes_meet() -> None:
    """The SLO counts every arrival: 2 % refused in 1 ms are 2 % never answered OK, so the p99 of
    arrivals is infinite while the p99 of the answered ones is 10 ms."""
    from lab.analysis import sweep
    from lab.analysis.traffic import traffic

    n = 2000
    ok = np.ones(n, dtype=int)
    ok[::50] = 0  # 2 % fail, fast
    requests = pd.DataFrame(
        {
            "t": np.linspace(0, 9.9, n),
            "sched": np.linspace(0, 9.9, n),
            "name": "/work",
            "response_ms": 10.0,
            "ok": ok,
            "wait": 0.0,
        }
    )
    requests["sent"] = requests["sched"]
    requests["latency_ms"] = np.where(ok == 1, 10.0, 1.0)
    part = traffic(requests, 10.0)
    assert part.latency_ms["p99"] == 10.0 and part.arrival_latency_ms["p99"] == math.inf
    assert part.arrival_latency_ms["p50"] == 10.0
    summary = CellSummary(
        **part.model_dump(), window_s=10.0, by_request={}, segments={}, model="open", target_rps=200.0
    )
    result, misses = sweep.outcome(summary, Slo(p99_ms=100, error_rate=0.05))
    assert result == "misses" and misses == ["p99 among the arrivals never answered OK > 100 ms"]
    # One failure in a thousand stays inside a p99: the SLO holds on its arrivals.
    ok[:] = 1
    ok[::1000] = 0
    requests["ok"] = ok
    assert traffic(requests, 10.0).arrival_latency_ms["p99"] == 10.0


def test_the_achieved_share_allows_for_the_window_edges_but_not_for_a_backlog() -> None:
    from lab.analysis.sweep import achieved_share

    def step(offered: float, completed: int, p50_ms: float) -> CellSummary:
        return CellSummary(
            requests=round(offered * 3), failures=0, error_rate=0.0, rps=completed / 3, latency_ms={"p50": p50_ms},
            offered_rps=offered, window_s=3.0, by_request={}, segments={}, model="open", target_rps=offered,
        )  # fmt: skip

    # Recorded here: 31 arrivals at 10 req/s in 3 s, 29 completed inside (two came in its last 25 ms).
    assert achieved_share(step(31 / 3, 29, 22.0)) == 1.0
    # An overloaded step: 80 req/s offered, 158 completed in 3 s, the rest answered long after.
    share = achieved_share(step(80.0, 158, 40.0))
    assert share is not None and share < 0.8


def _open_requests(rate: float, seconds: float, service_s: float, process: str = "uniform") -> pd.DataFrame:
    """A synthetic open-model cell: arrivals on schedule, served by a single FIFO server."""
    sched = arrivals.schedule(rate, seconds, process, seed=5)
    free, rows = 0.0, []
    for s in sched:
        start = max(s, free)
        free = start + service_s
        rows.append(
            {"t": free, "name": "/x", "response_ms": (free - s) * 1000.0, "ok": 1, "sched": s, "sent": s, "wait": 0.0}
        )
    return pd.DataFrame(rows)


def test_open_model_latency_runs_from_the_scheduled_time_and_service_time_from_the_send() -> None:
    requests = _open_requests(20.0, 10.0, 0.01)
    # A client that could not send during a stall: its send is late by the stall, its service is not.
    late = requests["sched"].between(4.0, 5.0)
    requests.loc[late, "sent"] = 5.0
    requests.loc[late, "t"] = 5.0 + 0.01
    requests.loc[late, "response_ms"] = 10.0
    window = Window.model_validate(
        {"t0": 0.0, "warmup_s": 1.0, "duration_s": 8.0, "end_s": 9.0, "model": "open", "rate": 20.0}
    )
    summary = summarise(requests, window, pd.DataFrame(columns=["ts", "metric", "value"]))
    assert summary.model == "open" and summary.target_rps == 20
    assert summary.offered_rps == pytest.approx(20, rel=0.01)
    assert summary.service_ms["max"] == pytest.approx(10.0, abs=0.5)
    # The request scheduled at 4.0 s waited a whole second: the latency shows it, the service time does not.
    assert summary.latency_ms["max"] == pytest.approx(1010, abs=60)
    assert summary.send_lag_ms["max"] == pytest.approx(1000, abs=60)
    assert summary.value("service_p99") == summary.service_ms["p99"]
    # A twentieth of the arrivals went out a second late: past the resolution goal, the step says so.
    assert summary.send_lag_ms["p99"] > RESOLUTION_MS and "coarse_timing" in decide_flags(summary, pinned=True)


def test_every_run_states_the_largest_send_lag_of_the_steps_it_reports_as_its_floor() -> None:
    rec = recorded.loop_blocking()  # a closed-model run: no schedule, so no floor to state
    assert timing_floor(rec) is None and floor_line(rec) == ""
    cells = [c.summary for c in rec.cells if c.summary is not None]
    for lag, cell in zip((0.4, 1.2, 0.9, 50.0), cells, strict=False):
        cell.send_lag_ms = {"p99": lag}
    # The 50 ms step was flagged generator_bound: already set aside, its lag is not the others' floor.
    cells[3].flags = ["generator_bound"]
    assert timing_floor(rec) == 1.2 and "at most 1.20 ms" in floor_line(rec) and "within" in floor_line(rec)
    cells[3].flags = []
    assert timing_floor(rec) == 50.0 and "OVER the 2 ms goal" in floor_line(rec)


def test_past_capacity_goodput_counts_completions_in_the_window_not_arrivals_answered_later() -> None:
    # 40 arrivals/s at one server of 50 ms (20/s): the backlog grows, and requests scheduled in the
    # window are answered long after it. Goodput is what the server completed inside the window.
    requests = _open_requests(40.0, 20.0, 0.05)
    window = Window.model_validate(
        {"t0": 0.0, "warmup_s": 2.0, "duration_s": 8.0, "end_s": 10.0, "model": "open", "rate": 40.0}
    )
    summary = summarise(requests, window, pd.DataFrame(columns=["ts", "metric", "value"]))
    assert summary.offered_rps == pytest.approx(40, rel=0.01)
    assert summary.rps == pytest.approx(20, rel=0.02) and summary.attempted_rps == summary.rps
    assert summary.value("rps", "/x") == summary.rps
    assert [seg.rps for seg in summary.segments["/x"]] == pytest.approx([20] * 3, rel=0.05)
    # Latency still belongs to the scheduled window: an arrival at s is answered at 2s, so the
    # window's last arrivals (s near 10) waited about 10 s.
    assert summary.latency_ms["max"] == pytest.approx(10000, rel=0.05)


def test_littles_law_holds_on_a_steady_queue_and_not_on_a_growing_one() -> None:
    steady = prepare(_open_requests(20.0, 30.0, 0.03, "poisson"), OPEN)
    # In flight at each sample time, counted from the requests themselves (what the generator samples).
    ts = np.arange(0, 30, 0.05)
    counts = [int(((steady["sched"] <= t) & (steady["t"] > t)).sum()) for t in ts]
    sampled = pd.DataFrame({"t": ts, "in_flight": counts})
    inside = steady[(steady["at"] >= 5) & (steady["at"] < 25)]
    mean, ratio = littles_law(inside, sampled, 5, 25)
    assert mean == pytest.approx(20 * float(inside["latency_ms"].mean()) / 1000, rel=0.1)
    assert ratio == pytest.approx(1.0, abs=0.1)
    # A generator whose in-flight count is off (lost requests) breaks the law: flagged by the summary.
    _, off = littles_law(inside, sampled.assign(in_flight=sampled["in_flight"] * 2), 5, 25)
    assert off == pytest.approx(2.0, abs=0.2)


def test_queue_prediction_of_a_fifo_server_matches_a_fifo_server() -> None:
    requests = _open_requests(40.0, 30.0, 0.02, "poisson")
    pool = {"/x": np.full(100, 0.02)}
    predicted = sweep.predict(requests, pool, servers=1, start=5, end=25)
    measured = prepare(requests, OPEN)
    inside = measured[(measured["at"] >= 5) & (measured["at"] < 25)]["latency_ms"]
    assert predicted["p50"] == pytest.approx(float(inside.quantile(0.5)), rel=0.05)
    assert predicted["p99"] == pytest.approx(float(inside.quantile(0.99)), rel=0.05)


def test_the_queue_is_fed_every_path_and_read_on_one() -> None:
    # A blocked loop serving 90 % /work (20 ms) and 10 % /health (0.3 ms): /health's arrivals take
    # their turn in the queue, and the percentiles are /work's alone.
    sched = arrivals.schedule(35.0, 60.0, "poisson", seed=3)
    rng = np.random.default_rng(3)
    names = np.where(rng.random(len(sched)) < 0.9, "/work", "/health")
    # Each answer also spends 1 ms outside the server (client, kernel): alone, /work takes 21 ms.
    free, rows, trip = 0.0, [], 0.001
    for s, name in zip(sched, names, strict=True):
        service = 0.02 if name == "/work" else 0.0003
        start = max(s, free)
        free = start + service
        done = free + trip
        rows.append({"t": done, "name": name, "response_ms": (done - s) * 1e3, "ok": 1, "sched": s, "sent": s})
    requests = pd.DataFrame(rows).assign(wait=0.0)
    pool = {"/work": np.full(50, 0.02 + trip), "/health": np.full(50, 0.0003 + trip)}
    predicted = sweep.predict(requests, pool, servers=1, start=5, end=55, read="/work", round_trip_s=trip)
    served = requests[(requests["sched"] >= 5) & (requests["sched"] < 55)]
    work = served.loc[served["name"] == "/work", "response_ms"]
    for key, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
        assert predicted[key] == pytest.approx(float(work.quantile(q)), rel=0.02), key
    # rho: the work the window's arrivals bring to the server, per second of window.
    expected = float(np.where(served["name"] == "/work", 0.02, 0.0003).sum()) / 50
    assert predicted["load"] == pytest.approx(expected, rel=1e-3) and 0.6 < expected < 0.75
    # Read on every path instead, /health's fast answers pull the median down.
    assert sweep.predict(requests, pool, servers=1, start=5, end=55, round_trip_s=trip)["p50"] < predicted["p50"]
    # The round trip counted as the server's own time: rho and the queue overstated.
    whole = sweep.predict(requests, pool, servers=1, start=5, end=55, read="/work")
    assert whole["load"] > predicted["load"] * 1.04 and whole["p90"] > predicted["p90"] * 1.05


def test_outcome_of_a_flagged_step_is_untrusted() -> None:
    summary = CellSummary(
        requests=100, failures=0, error_rate=0.0, rps=10.0, latency_ms={"p99": 5.0}, window_s=10,
        by_request={}, segments={}, flags=["generator_bound"], offered_rps=10.0,
    )  # fmt: skip
    assert sweep.outcome(summary, Slo(p99_ms=100))[0] == "untrusted"
    summary.flags = []
    assert sweep.outcome(summary, Slo(p99_ms=100)) == ("meets", [])
    summary.rps = 5.0
    assert sweep.outcome(summary, Slo(p99_ms=100))[0] == "misses"


def test_service_pool_keeps_only_requests_that_had_the_server_to_themselves() -> None:
    # Two overlapping requests (the second waited 5 ms behind the first), then one alone.
    requests = pd.DataFrame(
        {"t": [0.010, 0.015, 0.100], "name": "/x", "response_ms": [10.0, 10.0, 10.0], "ok": 1,
         "sched": [0.0, 0.005, 0.090], "sent": [0.0, 0.005, 0.090], "wait": 0.0}
    )  # fmt: skip
    assert sweep.service_pool(requests)["/x"].tolist() == [0.010]


def test_other_queue_disciplines_keep_the_mean_and_move_the_tail() -> None:
    times = arrivals.schedule(40.0, 2000.0, seed=11)
    services = [0.02] * len(times)
    fifo = queue.queue_latency(times, services, 1, "fifo")
    for discipline in ("random", "batches"):
        other = queue.queue_latency(times, services, 1, discipline, seed=2)
        # Work-conserving, same work: the same mean time in system (within sampling noise)...
        assert statistics.mean(other) == pytest.approx(statistics.mean(fifo), rel=0.05), discipline
        # ...but serving out of arrival order stretches the tail.
        assert np.quantile(other, 0.999) > np.quantile(fifo, 0.999), discipline
    with pytest.raises(ValueError, match="'fifo', 'random' or 'batches'"):
        queue.queue_latency(times, services, 1, "lifo")


def test_the_wrk_check_tells_a_generator_gap_from_a_server_that_moved() -> None:
    from lab.drive.wrkcheck import Check

    lags = (1.2, 1.3, 1.1)
    # Each open run against the mean of the wrk runs on either side: 1.0, 1.0, 1.02.
    assert Check((49.0, 51.0, 49.0, 50.0), (50.0, 50.0, 50.5), 65.0, lags).verdict == "within"
    # The pairs straddle the tolerance (1.08, 0.94, 1.10): the server moved, the median is 1.08.
    moved = Check((48.0, 52.0, 50.0, 50.0), (54.0, 47.0, 55.0), 65.0, lags)
    assert moved.verdict == "inconclusive" and "inconclusive" in moved.render()
    # Every pair 12-14 % short: the generator fell short.
    assert Check((50.0, 50.5, 49.5, 50.0), (43.0, 44.0, 43.5), 65.0, lags).verdict == "outside"
