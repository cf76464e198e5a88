"""The real thing: loop-blocking's quick profile with real uvicorn, real Locust, real report."""

from __future__ import annotations

from html import escape as html_escape
from pathlib import Path

import pytest

from lab.drive.processes import port_in_use, tagged
from lab.record import store
from lab.record.models import RunRecord
from tests.conftest import keep_on_failure, lab

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunRecord, Path, Path, str]:
    root = tmp_path_factory.mktemp("e2e")
    keep_on_failure(__name__, root)
    results, reports = root / "results", root / "reports"
    proc = lab("run", "loop-blocking", "--profile", "quick", "--results", str(results), "--reports", str(reports))
    assert proc.returncode == 0, proc.stderr[-2000:]
    [directory] = list((results / "loop-blocking").iterdir())
    return store.load(directory), directory, reports, proc.stdout


def test_record_is_complete_and_describes_every_variant(run: tuple[RunRecord, Path, Path, str]) -> None:
    rec, _, _, _ = run
    assert rec.status == "complete" and rec.error is None
    assert set(rec.variants) == {"bad", "fix_await", "fix_threadpool"}
    for name, variant in rec.variants.items():
        assert variant.requests > 0, name
        lat = [variant.value(p) for p in ("p50", "p90", "p99", "p99.9", "max")]
        assert 0 < lat[0] <= lat[1] <= lat[2] <= lat[3] <= lat[4], name  # type: ignore[operator]
        assert variant.value("server_cpu_pct") is not None and variant.value("server_rss_mb") > 0  # type: ignore[operator]
        assert variant.value("generator_cpu_pct") is not None
        assert "/work" in variant.by_request
    for cell in rec.cells:  # open model: a step per offered rate, both request names in the busier ones
        assert [p.target_rps for p in cell.points] == [10, 40, 80], cell.id
        assert "neighbour /health" in cell.points[-1].by_request
    env = rec.environment
    assert env.python and env.cpu_model and env.cpu_count
    assert all(env.packages[p] for p in ("fastapi", "starlette", "pydantic", "uvicorn", "locust"))
    assert rec.pinning.pinned and not set(rec.pinning.server_cores) & set(rec.pinning.generator_cores)


def test_pinning_in_force_and_the_server_end_are_recorded(run: tuple[RunRecord, Path, Path, str]) -> None:
    rec, _, _, _ = run
    for cell in rec.cells:
        assert cell.affinity is not None and cell.affinity.as_requested, cell.id
        assert (
            cell.affinity.server == rec.pinning.server_cores and cell.affinity.generator == rec.pinning.generator_cores
        )
        assert cell.server_exit is not None and not cell.server_exit.killed, cell.id  # uvicorn stops on SIGTERM
        assert cell.summary is not None and "unpinned" not in cell.summary.flags


def test_claims_are_evaluated_from_the_measurements(run: tuple[RunRecord, Path, Path, str]) -> None:
    rec, _, _, stdout = run
    assert len(rec.claims) == 4  # the closed-loop claim is not judged on an open-model run
    assert all(c.needs_model == "open" for c in rec.claims)
    for claim in rec.claims:  # one repeat: a value each, and no interval, so no verdict
        assert claim.value is not None and claim.low is None and claim.high is None
        assert claim.verdict == "inconclusive" and "at least two independent repeats" in claim.reason
        assert f"{claim.verdict.upper():<12} {claim.text}" in stdout
    # The effect itself, without its threshold: at the same offered rate, blocking the loop is slower.
    p99 = {c.variant: c.at(80).value("p99", "/work") for c in rec.cells}  # type: ignore[union-attr]
    assert p99["bad"] > 5 * p99["fix_await"]  # type: ignore[operator]


def test_the_sweep_finds_the_blocked_loops_knee_near_its_physical_ceiling(
    run: tuple[RunRecord, Path, Path, str],
) -> None:
    """One loop blocked 20 ms per request serves at most 50 req/s: the SLO is met below and missed above."""
    rec, _, _, stdout = run
    by_variant = {c.variant: c for c in rec.cells}
    bad = by_variant["bad"]
    low, high = bad.at(10), bad.at(80)
    assert low is not None and high is not None
    seen = (high.slo_decision, high.flags, high.send_lag_ms.get("p99"), high.value("generator_cores_busy_peak"))
    # A busy second on Locust's core (anything on it counts) makes the lab refuse to judge the step:
    # that is its guard working, not the server meeting the SLO (seen once in CI, peak >= 98 %).
    assert high.slo_decision == "misses" or (high.slo_decision == "untrusted" and "generator_bound" in high.flags), seen
    assert low.meets_slo is True, (low.slo_decision, low.flags)
    assert bad.summary.value("capacity") in (10, 40) and bad.capacity_bound == "exact"  # type: ignore[union-attr]
    for fix in ("fix_await", "fix_threadpool"):
        assert by_variant[fix].capacity_bound == "at_least" and by_variant[fix].summary.value("capacity") == 80  # type: ignore[union-attr]
    assert "capacity at the SLO" in stdout and ">=80" in stdout
    # Latency runs from the scheduled time; the send itself was on time.
    for cell in rec.cells:
        for point in cell.points:
            assert point.model == "open" and point.send_lag_ms["p99"] < 10, (cell.id, point.target_rps)
            assert point.offered_rps == pytest.approx(point.target_rps, rel=0.35)
    # Little's law holds where the server keeps up (steady), and the queue model is drawn for bad only.
    for point in by_variant["fix_await"].points:
        assert point.little_ratio == pytest.approx(1.0, abs=point.little_tolerance), point.target_rps
    assert bad.points[0].predicted_ms["p99"] > 0 and not by_variant["fix_await"].points[0].predicted_ms


def test_the_mechanism_is_measured_inside_the_app(run: tuple[RunRecord, Path, Path, str]) -> None:
    """A loop blocked 20 ms per request runs a 10 ms timer at least 10 ms late; awaiting does not.
    The threadpool fix borrows threadpool tokens; the others never do."""
    rec, _, reports, _ = run
    lag = {v: s.value("app_loop_lag_ms_peak") for v, s in rec.variants.items()}
    tokens = {v: s.value("app_threadpool_in_use_peak") for v, s in rec.variants.items()}
    assert lag["bad"] is not None and lag["bad"] >= 10 and lag["bad"] > 3 * (lag["fix_await"] or 0), lag
    assert tokens["fix_threadpool"] and tokens["fix_threadpool"] >= 1 and tokens["fix_await"] == 0, tokens
    assert 'id="loop-blocking-mechanism"' in (reports / "loop-blocking.html").read_text()


def test_raw_outputs_are_kept(run: tuple[RunRecord, Path, Path, str]) -> None:
    _, directory, _, _ = run
    assert (directory / "samples.csv").stat().st_size > 0
    for cell in ("r1-bad", "r1-fix_await", "r1-fix_threadpool"):
        assert (directory / "cells" / cell / "server.log").exists()
        for rate in ("rate-10", "rate-40", "rate-80"):
            for name in (
                "requests.csv",
                "window.json",
                "in_flight.csv",
                "locust_stats.csv",
                "locust_stats_history.csv",
            ):
                assert (directory / "cells" / cell / rate / name).exists(), f"{cell}/{rate}/{name}"


def test_report_has_the_charts_and_works_offline(run: tuple[RunRecord, Path, Path, str]) -> None:
    rec, _, reports, _ = run
    html = (reports / "loop-blocking.html").read_text()
    for chart in ("latency", "throughput", "p99-time", "rps-time", "resources", "hockey-stick", "achieved"):
        assert f'id="loop-blocking-{chart}"' in html, chart
    assert "Capacity at the SLO" in html and "batches queue model" in html
    # Offline: plotly.js from beside the page, nothing from a CDN (base64 chart data may spell 'cdn').
    assert "<script src='plotly.min.js'>" in html and "cdn.plot.ly" not in html and "src='http" not in html
    assert (reports / "plotly.min.js").stat().st_size > 1_000_000
    assert rec.run_id in html
    for claim in rec.claims:  # each verdict with its measured value, as the record has it
        assert html_escape(claim.describe()) in html
    index = (reports / "index.html").read_text()
    counts = {v: sum(c.verdict == v for c in rec.claims) for v in ("pass", "fail", "inconclusive")}
    assert "loop-blocking.html" in index
    assert all(f"{n} {v}</span>" in index for v, n in counts.items() if n)


def test_nothing_is_left_running(run: tuple[RunRecord, Path, Path, str]) -> None:
    rec, _, _, _ = run
    assert tagged(rec.run_id) == []
    for cell in rec.cells:
        assert cell.port is not None and not port_in_use("127.0.0.1", cell.port)


def test_report_rebuilds_from_the_record_alone(run: tuple[RunRecord, Path, Path, str], tmp_path: Path) -> None:
    rec, directory, _, _ = run
    proc = lab(
        "report",
        "loop-blocking",
        "--run",
        rec.run_id,
        "--results",
        str(directory.parent.parent),
        "--reports",
        str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "loop-blocking.html").exists() and (tmp_path / "index.html").exists()


@pytest.mark.slow
def test_null_mode_gives_no_passing_discriminating_claim(dirs: tuple[Path, Path]) -> None:
    """Every variant running bad's code, twice: no claim that tells them apart may pass."""
    results, _ = dirs
    proc = lab("audit", "loop-blocking", "--only", "bad", "--repeats", "2", "--results", str(results), timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    [run_json] = list(results.glob("loop-blocking/*/run.json"))
    rec = store.load(run_json.parent)
    assert rec.null_mode and rec.reference == "bad"
    assert {c.app for c in rec.cells} == {"apps.loop_blocking.bad:app"}
    assert rec.claims and all(c.verdict != "pass" for c in rec.claims)
    assert "0 defect(s)" in proc.stdout


@pytest.mark.slow
def test_repeats_interleave_and_give_an_interval(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    from tests.conftest import write_scenario

    variants = 'one = "apps.loop_blocking.fix_await:app"\ntwo = "apps.loop_blocking.fix_threadpool:app"'
    claim = '[[claims]]\ntext = "alike"\nmetric = "rps"\nvariant = "one"\nbaseline = "two"\nop = "<="\nthreshold = 2\n'
    path = write_scenario(tmp_path, variants=variants, extra=claim)
    args = ["run", str(path), "--profile", "quick", "--repeats", "3", "--results", str(dirs[0]), "--no-report"]
    proc = lab(*args, "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    [run_json] = list(dirs[0].glob("*/*/run.json"))
    rec = store.load(run_json.parent)
    assert [c.id for c in rec.cells] == ["r1-one", "r1-two", "r2-one", "r2-two", "r3-one", "r3-two"]
    assert len({c.port for c in rec.cells}) >= 1 and all(c.server_exit for c in rec.cells)  # a fresh server each
    [result] = rec.claims
    assert result.repeats == 3 and result.method == "95% t-interval on log values of 3 repeats"
    assert result.low is not None and result.high is not None and result.low <= result.value <= result.high  # type: ignore[operator]
    assert result.verdict == "pass"  # the same rate offered to both: the ratio is about 1
