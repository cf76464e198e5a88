"""The open model for real: Locust keeps a schedule, and latency runs from it (no coordinated omission)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.analysis.traffic import prepare
from lab.record import store
from lab.record.models import RunRecord
from lab.record.raw import read_requests
from lab.record.window import read_window
from tests.conftest import lab, write_scenario

pytestmark = pytest.mark.e2e


def _run(tmp_path: Path, results: Path, variants: str, profile: str, env: str = "") -> RunRecord:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = write_scenario(tmp_path, variants=variants, extra=f"[profiles.probe]\n{profile}\n")
    path.write_text(path.read_text().replace('BLOCK_MS = "1"\n', f'BLOCK_MS = "1"\n{env}\n'))
    proc = lab("run", str(path), "--profile", "probe", "--results", str(results), "--no-report", "--quiet")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    [run_json] = list(results.glob("*/*/run.json"))
    return store.load(run_json.parent)


def test_the_open_model_keeps_its_schedule_against_a_fast_server(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    profile = 'users = 1\nspawn_rate = 1\nwarmup_s = 1\nduration_s = 5\nmodel = "open"\nrate = 200'
    rec = _run(tmp_path, dirs[0], 'good = "apps.loop_blocking.fix_await:app"', profile)
    [cell] = rec.cells
    summary = cell.summary
    assert summary is not None and summary.model == "open" and summary.target_rps == 200
    # Poisson arrivals: the count in a 5 s window varies by about 1/sqrt(1000) = 3 %.
    assert summary.offered_rps == pytest.approx(200, rel=0.1)
    assert summary.rps == pytest.approx(summary.offered_rps, rel=0.02)  # achieved = offered
    assert summary.failures == 0
    assert summary.send_lag_ms["p99"] < 10 and "generator_bound" not in summary.flags
    # Sent on time to well under a millisecond: on gevent's default epoll loop every sleep rounds up to
    # the next whole millisecond, so the lag spreads over it (a send-lag p50 of 0.55 ms measured); the
    # lab's select() loop does not. 0.45, not 0.3: a clean clone here once read 0.32 ms on select()
    # (cause not measured), still clear of the rounding's half millisecond, which is what this tells.
    assert summary.send_lag_ms["p50"] < 0.45 and "coarse_timing" not in summary.flags
    # Little's law: in flight (sampled by the generator) = arrival rate x mean latency, within the
    # check's own resolution at millisecond latencies (steady points with longer ones: test_e2e).
    assert summary.little_tolerance is not None and summary.little_tolerance < 0.6
    assert summary.little_ratio == pytest.approx(1.0, abs=summary.little_tolerance)
    assert "not_steady" not in summary.flags


STALL = 'STALL_AT = "60"\nSTALL_S = "1.0"'


def test_a_stall_is_reported_by_every_request_scheduled_during_it_and_not_by_closed_loop_users(
    tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    """The server stops for 1 s. Open model at 40 req/s: the ~40 requests due meanwhile each wait for
    its end. Closed loop (4 users, 10 req/s each): the users wait too, so only they see it."""
    variants = 'good = "tests.apps.stall:app"'
    opened = _run(
        tmp_path / "a", dirs[0] / "open", variants,
        'users = 1\nspawn_rate = 1\nwarmup_s = 0.5\nduration_s = 5\nmodel = "open"\nrate = 40\narrivals = "uniform"',
        STALL,
    )  # fmt: skip
    closed = _run(
        tmp_path / "b", dirs[0] / "closed", variants,
        "users = 4\nspawn_rate = 4\nwarmup_s = 0.5\nduration_s = 5\noptions = { pacing = 0.1 }",
        STALL,
    )  # fmt: skip
    slow = {}
    for name, rec in (("open", opened), ("closed", closed)):
        folder = next((dirs[0] / name).glob("*/*/cells/r1-good"))
        requests_csv = next(folder.rglob("requests.csv"))
        frame = prepare(read_requests(requests_csv), read_window(requests_csv.parent / "window.json"))
        slow[name] = int((frame["latency_ms"] > 300).sum())
        assert rec.cells[0].summary is not None and rec.cells[0].summary.latency_ms["max"] > 900, name
    # Open: every request due during the stall (about 40 req/s x 1 s) reports it; closed: a user each.
    assert slow["open"] >= 25, slow
    assert slow["closed"] <= 4, slow
    summary = opened.cells[0].summary
    assert summary is not None and summary.service_ms["max"] < summary.latency_ms["max"] + 1


@pytest.mark.slow
def test_a_claim_at_a_fraction_of_a_measured_capacity_runs_every_variant_at_that_rate(
    tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    """bad (a loop blocked 20 ms) meets p99 <= 100 ms at 10 req/s and misses it at 80: its capacity
    is 10; every variant then runs at 0.8 x 10 = 8 req/s, and the claim is judged there. The steps
    run until decided (80 % one-sided: about 70 clean arrivals, 7 s at 10 req/s; a fixed 3 s
    window of 30 arrivals leaves 10 req/s undecided, and then no capacity rests on it)."""
    variants = 'bad = "apps.loop_blocking.bad:app"\ngood = "apps.loop_blocking.fix_await:app"'
    claim = (
        '[[claims]]\ntext = "at 80 % of bad\'s capacity"\nmetric = "p50"\nvariant = "bad"\nbaseline = "good"\n'
        'at_rate = 0.8\nof = "bad"\nthreshold = 0.5\n'
    )
    profile = (
        'users = 1\nspawn_rate = 1\nwarmup_s = 1\nduration_s = 3\nsettle_s = 0.5\nmodel = "open"\nrates = [10, 80]\n'
        "max_duration_s = 12\ndecide_confidence = 0.8"
    )
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = write_scenario(tmp_path, variants=variants, extra=f"[profiles.probe]\n{profile}\n{claim}")
    text = path.read_text().replace('BLOCK_MS = "1"', 'BLOCK_MS = "20"').replace("waited_ms = 1", "waited_ms = 20")
    path.write_text("slo = { p99_ms = 100 }\n" + text)
    proc = lab("run", str(path), "--profile", "probe", "--results", str(dirs[0]), "--no-report", "--quiet")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rec = store.load(next(dirs[0].glob("*/*/run.json")).parent)
    cells = {c.variant: c for c in rec.cells}
    assert cells["bad"].capacity_bound == "exact" and cells["bad"].summary.value("capacity") == 10  # type: ignore[union-attr]
    for cell in cells.values():
        tagged_points = [p for p in cell.points if p.tag]
        assert [(p.target_rps, p.tag) for p in tagged_points] == [(8.0, "0.8 x capacity of bad")], cell.variant
    [result] = rec.claims
    # One repeat: a value at the step, and no interval to judge it on.
    assert result.value is not None and "at least two independent repeats" in result.reason


def test_a_server_that_falls_behind_the_cap_still_ends_on_time_and_counts_what_was_not_sent(
    tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    """A loop blocked 20 ms per request (50/s) offered 200/s with 5 slots: the slots stay full, the
    schedule falls behind, and at its end the arrivals never sent are failures, not a hang."""
    profile = (
        'users = 1\nspawn_rate = 1\nwarmup_s = 0.5\nduration_s = 3\nmodel = "open"\nrate = 200\n'
        "max_in_flight = 5\ndrain_s = 2"
    )
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = write_scenario(
        tmp_path, variants='bad = "apps.loop_blocking.bad:app"', extra=f"[profiles.probe]\n{profile}\n"
    )
    path.write_text(
        path.read_text().replace('BLOCK_MS = "1"', 'BLOCK_MS = "20"').replace("waited_ms = 1", "waited_ms = 20")
    )
    proc = lab("run", str(path), "--profile", "probe", "--results", str(dirs[0]), "--no-report", "--quiet")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rec = store.load(next(dirs[0].glob("*/*/run.json")).parent)
    summary = rec.cells[0].summary
    assert summary is not None and summary.error_rate is not None and summary.error_rate > 0.3
    assert "(not sent: in-flight cap full at the schedule's end)" in summary.by_request
    assert summary.slot_wait_ms["max"] > 500  # the waits for a slot are measured, and counted in latency


def test_a_step_runs_until_its_slo_is_decided_and_says_so_when_it_never_is(
    tmp_path: Path, dirs: tuple[Path, Path]
) -> None:
    """p99 <= 100 ms, 95 % one-sided: with no late arrival a step needs about 270 arrivals to be
    decided. At 200 req/s that is under 2 s past its 1 s minimum, so the step ends early; at 10 req/s
    its 12 s maximum holds 120, so it ends undecided, and no capacity rests on it."""
    profile = (
        'users = 1\nspawn_rate = 1\nwarmup_s = 0.5\nduration_s = 1\nsettle_s = 0.5\nmodel = "open"\n'
        "rates = [10, 200]\nmax_duration_s = 12\ndecide_confidence = 0.95"
    )
    path = write_scenario(tmp_path, extra=f"[profiles.probe]\n{profile}\n")
    path.write_text("slo = { p99_ms = 100 }\n" + path.read_text())
    proc = lab("run", str(path), "--profile", "probe", "--results", str(dirs[0]), "--no-report", "--quiet")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rec = store.load(next(dirs[0].glob("*/*/run.json")).parent)
    [cell] = rec.cells
    slow, fast = cell.points
    assert slow.slo_decision == "undecided" and slow.meets_slo is None
    assert slow.window_s == pytest.approx(12, abs=0.5) and slow.requests < 200
    assert any("not answered OK within 100 ms" in line for line in slow.slo_misses)
    assert fast.slo_decision == "meets" and 1 <= fast.window_s < 4.5 and fast.requests >= 260
    assert cell.capacity_bound == "at_least" and cell.summary is not None and cell.summary.value("capacity") == 200
