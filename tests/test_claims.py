"""Claims: ratios across variants, spread over repeats and segments, honest verdicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lab.analysis import claims
from lab.analysis.cell import summarise
from lab.analysis.claims import evaluate
from lab.errors import LabError
from lab.record import store
from lab.record.models import CellRecord
from lab.record.store import new_cell
from lab.record.window import Window
from lab.scenario.loading import load
from lab.scenario.models import Claim
from lab.scenario.plan import expand
from tests.recorded import loop_blocking

WINDOW = Window.model_validate({"t0": 0.0, "warmup_s": 0.0, "duration_s": 9.0, "end_s": 9.0})
NO_SAMPLES = pd.DataFrame(columns=["ts", "cell", "metric", "value"])
TEMPLATE = expand(load("loop-blocking"), "quick")[0]


def cell(
    variant: str,
    latencies_ms: list[float],
    repeat: int = 1,
    flags: tuple[str, ...] = (),
    name: str = "/work",
    samples: pd.DataFrame = NO_SAMPLES,
) -> CellRecord:
    """A measured cell whose requests are spread evenly over a 9 s window."""
    t = np.linspace(0, 8.999, len(latencies_ms))
    requests = pd.DataFrame({"t": t, "name": name, "response_ms": latencies_ms, "ok": 1})
    summary = summarise(requests, WINDOW, samples)
    summary.flags += list(flags)  # type: ignore[arg-type]
    base = new_cell(TEMPLATE, summary=summary)
    return base.model_copy(update={"variant": variant, "group": variant, "repeat": repeat})


def thrice(*cells: CellRecord) -> list[CellRecord]:
    """The same cells measured in three repeats (identical values: a zero-width interval)."""
    return [c.model_copy(update={"repeat": r}) for r in (1, 2, 3) for c in cells]


def claim(**kw: object) -> Claim:
    base = {"text": "t", "metric": "p50", "variant": "bad", "baseline": "fix", "threshold": 10.0}
    return Claim.model_validate({**base, **kw})


def test_clear_ratio_passes_and_reports_value_and_spread() -> None:
    cells = thrice(cell("bad", [100.0] * 90), cell("fix", [5.0] * 90))
    [result] = evaluate([claim()], cells)
    assert result.verdict == "pass"
    assert result.value == 20.0 and result.low == 20.0 and result.high == 20.0
    assert result.samples == 3 and result.repeats == 3
    assert "p50 bad / fix = 20x (95% interval 20-20, 3 repeats)" in result.describe()


def test_one_repeat_gives_a_value_but_no_interval_and_no_verdict() -> None:
    """The thirds of one window are serially correlated: they are not independent samples."""
    [result] = evaluate([claim()], [cell("bad", [100.0] * 90), cell("fix", [5.0] * 90)])
    assert result.value == 20.0 and result.low is None and result.high is None
    assert result.verdict == "inconclusive" and "at least two independent repeats" in result.reason
    assert "no interval: 1 repeat" in result.describe()


def test_clear_miss_fails() -> None:
    [result] = evaluate([claim()], thrice(cell("bad", [20.0] * 90), cell("fix", [5.0] * 90)))
    assert result.verdict == "fail" and result.value == 4.0


def test_spread_across_the_threshold_is_inconclusive() -> None:
    # One repeat 30x worse, the others 5x and 6x: their median says one thing, the spread another.
    cells = [
        c for r, v in ((1, 150.0), (2, 25.0), (3, 30.0)) for c in (cell("bad", [v] * 90, r), cell("fix", [5.0] * 90, r))
    ]
    [result] = evaluate([claim()], cells)
    assert result.low is not None and result.high is not None
    assert result.low < 10 < result.high
    assert result.verdict == "inconclusive"
    assert result.reason == "the interval straddles the threshold"


def test_repeats_take_the_median_and_bound_the_interval() -> None:
    cells = [
        cell("bad", [100.0] * 90, repeat=1),
        cell("fix", [5.0] * 90, repeat=1),
        cell("bad", [60.0] * 90, repeat=2),
        cell("fix", [5.0] * 90, repeat=2),
    ]
    [result] = evaluate([claim()], cells)
    # Student's t with one degree of freedom, 97.5 %: 12.706 (any table); on the logs of 20x and 12x.
    centre, half = (np.log(20) + np.log(12)) / 2, 12.7062 * abs(np.log(20) - np.log(12)) / 2
    assert result.value == 16.0 and result.repeats == 2
    assert result.low == pytest.approx(np.exp(centre - half), rel=1e-3)
    assert result.high == pytest.approx(np.exp(centre + half), rel=1e-3)
    assert result.verdict == "inconclusive"  # two repeats 1.7x apart decide nothing at 95 %
    assert result.method == "95% t-interval on log values of 2 repeats"


def test_the_interval_narrows_with_more_repeats() -> None:
    noisy = [70.0, 130.0, 95.0, 110.0, 85.0, 120.0, 100.0, 90.0]

    def width(n: int) -> float:
        cells = [
            c for i, v in enumerate(noisy[:n]) for c in (cell("bad", [v] * 90, i + 1), cell("fix", [5.0] * 90, i + 1))
        ]
        [result] = evaluate([claim()], cells)
        assert result.low is not None and result.high is not None
        return result.high - result.low

    assert width(8) < width(3)


def test_fewer_repeats_than_the_profile_needs_are_never_pass_or_fail() -> None:
    cells = [cell("bad", [100.0] * 90, r) for r in (1, 2)] + [cell("fix", [5.0] * 90, r) for r in (1, 2)]
    [result] = evaluate([claim()], cells, min_repeats=3)
    assert result.verdict == "inconclusive" and result.value == 20.0
    assert result.reason == "2 independent repeats; this profile needs 3 for a verdict"


def test_a_percentile_from_too_few_samples_is_inconclusive() -> None:
    # 900 requests: a p99 would rest on 9 samples above it (10 needed), a p50 on 450 (fine).
    cells = thrice(cell("bad", [100.0] * 900), cell("fix", [5.0] * 900))
    [p99] = evaluate([claim(metric="p99")], cells)
    assert p99.verdict == "inconclusive"
    assert p99.reason == (
        "too few samples for p99 of all: 900 successful requests in a repeat of bad, 1000 needed (10 above the percentile)"
    )
    assert evaluate([claim(metric="p50")], cells)[0].verdict == "pass"
    cells = thrice(cell("bad", [100.0] * 1200), cell("fix", [5.0] * 1200))
    [result] = evaluate([claim(metric="p99")], cells)
    assert result.verdict == "pass" and result.samples == 3


def test_at_most_claims_and_plain_values() -> None:
    cells = thrice(cell("bad", [100.0] * 90), cell("fix", [5.0] * 90))
    rps = claim(metric="rps", op="<=", threshold=1.5)  # equal load offered: the ratio is 1
    assert evaluate([rps], cells)[0].verdict == "pass"
    ceiling = claim(metric="max", baseline=None, op="<=", threshold=50.0)
    [result] = evaluate([ceiling], cells)
    assert result.verdict == "fail" and result.value == 100.0


@pytest.mark.parametrize("flag", ["generator_bound", "unpinned", "no_requests"])
def test_cells_whose_numbers_describe_the_lab_never_pass_or_fail(flag: str) -> None:
    cells = thrice(cell("bad", [100.0] * 90), cell("fix", [5.0] * 90, flags=(flag,)))
    [result] = evaluate([claim()], cells)
    assert result.verdict == "inconclusive"
    assert flag in result.reason


def test_missing_cells_or_zero_baseline_are_inconclusive() -> None:
    [missing] = evaluate([claim()], [cell("bad", [100.0] * 90)])
    assert missing.verdict == "inconclusive" and missing.reason == "no measured cells for this claim"
    [zero] = evaluate([claim(metric="failures")], [cell("bad", [1.0] * 90), cell("fix", [1.0] * 90)])
    assert zero.verdict == "inconclusive" and "baseline 'fix' is zero" in zero.reason


def test_a_baseline_without_the_metric_is_inconclusive_not_a_raw_value() -> None:
    # bad measured /work, the fix never did: the claim must not compare bad's raw p99 (in ms) with
    # a ratio threshold (the silent pass of schema 1).
    cells = [cell("bad", [100.0] * 90), cell("fix", [5.0] * 90, name="/other")]
    [result] = evaluate([claim(request="/work")], cells)
    assert result.verdict == "inconclusive" and result.value is None
    assert result.reason == "p50 of '/work' was not measured for fix"


def test_a_cell_metric_missing_from_the_baseline_is_inconclusive() -> None:
    cpu = pd.DataFrame({"ts": [1.0, 2.0, 3.0], "cell": "x", "metric": "server_cpu_pct", "value": [50.0] * 3})
    cells = [cell("bad", [1.0] * 90, samples=cpu), cell("fix", [1.0] * 90)]
    [result] = evaluate([claim(metric="server_cpu_pct", threshold=1.0)], cells)
    assert result.verdict == "inconclusive" and "server_cpu_pct was not measured for fix" in result.reason


def test_claims_on_the_recorded_run_are_what_the_lab_printed() -> None:
    rec = loop_blocking()
    # The claims as the record states them (the scenario file has moved on to the open model since).
    # Their values are the same; their intervals are today's method (the record kept a bootstrap's).
    declared = [Claim.model_validate(c.model_dump(include=set(Claim.model_fields))) for c in rec.claims]
    again = evaluate(declared, rec.ok_cells())
    assert [c.value for c in again] == [c.value for c in rec.claims]
    assert all(c.repeats == 2 and "t-interval" in c.method for c in again)


def test_unknown_metric_and_request_on_a_cell_metric_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown metric 'p42'"):
        claim(metric="p42")
    with pytest.raises(ValueError, match="measured per cell, not per request name"):
        claim(metric="server_cpu_pct", request="/work")


def test_a_scenario_with_request_on_a_cell_metric_fails_to_load(tmp_path: object) -> None:
    from pathlib import Path

    from tests.conftest import write_scenario

    extra = '[[claims]]\ntext = "x"\nmetric = "server_cpu_pct"\nrequest = "/work"\nvariant = "good"\nthreshold = 1\n'
    path = write_scenario(Path(str(tmp_path)), extra=extra)
    with pytest.raises(LabError, match=r"claims\.0.*measured per cell"):
        load(str(path))


def test_a_generator_bound_throughput_is_a_lower_bound_so_only_the_safe_verdict_stands() -> None:
    """fix's rps capped by the generator: the server could have served more. A ratio with it on top
    can only be higher than measured (a pass stands, a fail would not); with it below, only lower."""
    fast, slow = [5.0] * 900, [5.0] * 90  # 100 vs 10 req/s over the 9 s window
    on_top = thrice(cell("fix", fast, flags=("generator_bound",)), cell("bad", slow))
    [passed] = evaluate([claim(metric="rps", variant="fix", baseline="bad", threshold=2)], on_top)
    assert passed.verdict == "pass" and passed.value == 10.0
    [held] = evaluate([claim(metric="rps", variant="fix", baseline="bad", threshold=20)], on_top)
    assert held.verdict == "inconclusive" and "ran out first" in held.reason and "only a pass" in held.reason
    below = thrice(cell("bad", slow), cell("fix", fast, flags=("generator_bound",)))
    [failed] = evaluate([claim(metric="rps", variant="bad", baseline="fix", threshold=1)], below)
    assert failed.verdict == "fail" and failed.value == 0.1
    # Latency from a generator-bound cell is still never judged.
    [latency] = evaluate([claim(variant="fix", baseline="bad")], on_top)
    assert latency.verdict == "inconclusive" and "generator_bound" in latency.reason


def test_server_cpu_per_request_is_judged_on_a_generator_bound_cell() -> None:
    """The generator bounds how many requests reach the server, not what each costs its process: a
    cost-per-request claim is judged; the same cells' latency and CPU total are not."""

    def cpu_counter(ms_per_s: float) -> pd.DataFrame:
        ts = np.arange(0.0, 9.5, 0.5)
        return pd.DataFrame({"ts": ts, "cell": "x", "metric": "server_cpu_ms", "value": ts * ms_per_s})

    fast = cell("fix", [1.0] * 900, flags=("generator_bound",), samples=cpu_counter(200.0))  # 2 ms a request
    slow = cell("bad", [10.0] * 90, samples=cpu_counter(200.0))  # 20 ms a request
    cost = claim(metric="server_cpu_ms_per_request", threshold=5)
    [result] = evaluate([cost], thrice(slow, fast))
    assert result.verdict == "pass" and result.value == pytest.approx(10.0, rel=0.05)
    [share] = evaluate([claim(metric="server_cpu_ms", threshold=1)], thrice(slow, fast))
    assert share.verdict == "inconclusive" and "generator_bound" in share.reason


def test_a_generator_bound_servers_peak_memory_is_a_lower_bound_so_only_the_safe_verdict_stands() -> None:
    """A generator that ran out sent less at once than asked: the server's peak memory is what it
    needed at least. On top of a ratio, a pass stands and a fail does not."""

    def peak(mb: float) -> pd.DataFrame:
        return pd.DataFrame({"ts": [1.0, 5.0], "cell": "x", "metric": "server_rss_mb_hwm", "value": [mb / 2, mb]})

    whole = cell("bad", [5.0] * 90, flags=("generator_bound",), samples=peak(400.0))
    streamed = cell("fix", [5.0] * 90, samples=peak(50.0))
    [passed] = evaluate([claim(metric="server_rss_mb_hwm", threshold=3)], thrice(whole, streamed))
    assert passed.verdict == "pass" and passed.value == pytest.approx(8.0)
    assert passed.bound == "at_least"  # a lower bound on top: the pass stands
    [held] = evaluate([claim(metric="server_rss_mb_hwm", threshold=10)], thrice(whole, streamed))
    assert held.verdict == "inconclusive" and "only a pass" in (held.reason or "")


def test_paced_users_that_fell_behind_make_latency_a_lower_bound() -> None:
    """Closed loop, pacing 0.2 s: a cell where more than 1 % of answers outlast it is flagged
    coordinated_omission, and a latency ratio with it on top keeps only the verdict it could not lose."""
    late = [100.0] * 85 + [400.0] * 5  # 5.6 % of requests slower than the 200 ms pacing
    flagged = summarise(
        pd.DataFrame({"t": np.linspace(0, 8.999, 90), "name": "/work", "response_ms": late, "ok": 1}),
        WINDOW,
        NO_SAMPLES,
        pacing_s=0.2,
    )
    assert flagged.late_share == pytest.approx(5 / 90, abs=1e-4) and "coordinated_omission" in flagged.flags
    on_time = summarise(
        pd.DataFrame({"t": np.linspace(0, 8.999, 90), "name": "/work", "response_ms": [150.0] * 90, "ok": 1}),
        WINDOW,
        NO_SAMPLES,
        pacing_s=0.2,
    )
    assert on_time.late_share == 0 and "coordinated_omission" not in on_time.flags
    # Back-to-back exports of 2 s beside paced reads: their length is the point, not a user behind.
    names = ["/orders/{id}"] * 85 + ["/export"] * 5
    mixed = pd.DataFrame({"t": np.linspace(0, 8.999, 90), "name": names, "response_ms": late, "ok": 1})
    unpaced = summarise(mixed, WINDOW, NO_SAMPLES, pacing_s=0.2, unpaced=["/export"])
    assert unpaced.late_share == 0 and "coordinated_omission" not in unpaced.flags
    bad_behind = thrice(cell("bad", [100.0] * 90, flags=("coordinated_omission",)), cell("fix", [5.0] * 90))
    [passed] = evaluate([claim(threshold=10)], bad_behind)
    assert passed.verdict == "pass"  # 20x, and the true ratio can only be higher
    assert passed.bound == "at_least" and "= >=20x" in passed.describe()
    [held] = evaluate([claim(threshold=40)], bad_behind)
    assert held.verdict == "inconclusive" and "coordinated omission" in held.reason and "only a pass" in held.reason
    fix_behind = thrice(cell("bad", [100.0] * 90), cell("fix", [5.0] * 90, flags=("coordinated_omission",)))
    [capped] = evaluate([claim(threshold=10)], fix_behind)
    assert capped.verdict == "inconclusive" and "only a fail" in capped.reason and capped.bound == "at_most"
    # Throughput is not latency: a flagged cell's rps is judged as usual.
    [count] = evaluate([claim(metric="rps", op="<=", threshold=1.5)], bad_behind)
    assert count.verdict == "pass"


def test_an_error_rate_is_judged_on_whole_windows_and_covers_its_pooled_count() -> None:
    """A stalled first third (10 answers, all failing) and two busy ones (100 each, none failing):
    the window's share is 10/210 (the mean of the thirds' shares would be a third). Three identical
    repeats: the interval is still the Wilson interval of 30 failures in 630, not a point."""
    t = np.concatenate([np.linspace(0, 2.9, 10), np.linspace(3.0, 8.999, 200)])
    ok = [0] * 10 + [1] * 200
    requests = pd.DataFrame({"t": t, "name": "/work", "response_ms": 5.0, "ok": ok})
    summary = summarise(requests, WINDOW, NO_SAMPLES)
    stalled = new_cell(TEMPLATE, summary=summary).model_copy(update={"variant": "bad", "group": "bad"})
    [result] = evaluate([claim(metric="error_rate", baseline=None, threshold=0.2)], thrice(stalled))
    assert result.value == pytest.approx(10 / 210, abs=1e-4)
    assert result.low is not None and result.high is not None
    assert result.low < result.value < result.high and result.high - result.low > 0.02
    assert "Wilson interval of the pooled 30 of 630 requests" in result.method
    assert result.verdict == "fail"


def _failing(repeat: int, failed: int) -> CellRecord:
    """A repeat of 90 requests of which the first `failed` failed."""
    t = np.linspace(0, 8.999, 90)
    requests = pd.DataFrame({"t": t, "name": "/work", "response_ms": 5.0, "ok": [0] * failed + [1] * (90 - failed)})
    summary = summarise(requests, WINDOW, NO_SAMPLES)
    made = new_cell(TEMPLATE, summary=summary)
    return made.model_copy(update={"variant": "fix", "group": "fix", "repeat": repeat})


def test_a_claim_of_none_fails_on_one_repeat_that_counted_any() -> None:
    """Repeats counting 0, 0 and 30 failures: the mean's interval straddles zero, but "fails none"
    is refuted by the repeat that counted 30. Three clean repeats pass it."""
    none = claim(metric="failures", variant="fix", baseline=None, op="<=", threshold=0)
    [mixed] = evaluate([none], [_failing(1, 0), _failing(2, 0), _failing(3, 30)])
    assert mixed.verdict == "fail" and "30 counted in one repeat" in mixed.reason
    [clean] = evaluate([none], [_failing(r, 0) for r in (1, 2, 3)])
    assert clean.verdict == "pass"
    # A ceiling above zero is about the mean: one repeat over it refutes nothing by itself.
    [some] = evaluate([none.model_copy(update={"threshold": 20})], [_failing(1, 0), _failing(2, 0), _failing(3, 30)])
    assert some.verdict == "inconclusive"


def test_a_share_s_interval_never_runs_past_one() -> None:
    """Error rates of 0.2, 0.5 and 0.96 across repeats: the t-interval on log values would reach
    past 1 (session-leak's bad read 0.221-1.05), but no share of requests can."""
    rate = claim(metric="error_rate", variant="fix", baseline=None, threshold=0.1)
    [result] = evaluate([rate], [_failing(1, 18), _failing(2, 45), _failing(3, 86)])
    assert result.high == 1.0 and result.low is not None and result.low < 0.2


def test_rejudge_judges_a_recorded_run_again_from_its_cells_and_declared_claims(tmp_path: Path) -> None:
    import shutil

    from tests.conftest import lab
    from tests.recorded import LOOP_BLOCKING

    copy = tmp_path / "results" / "loop-blocking" / LOOP_BLOCKING.name
    shutil.copytree(LOOP_BLOCKING, copy)
    proc = lab("rejudge", "loop-blocking", "--results", str(tmp_path / "results"))
    assert proc.returncode == 0, proc.stderr
    again = store.load(copy)
    recorded = loop_blocking()
    assert again.rejudged_by and [c.value for c in again.claims] == [c.value for c in recorded.claims]
    assert [c.model_dump() for c in again.claims] == [
        c.model_dump() for c in evaluate(claims.declared(recorded), recorded.ok_cells())
    ]
    assert "changed: none" in proc.stdout


def test_a_claim_across_matrix_points_takes_its_baseline_from_the_other_point() -> None:
    """The same variant on two dependency sets: old / new, judged at the old set's point only."""

    def at(deps: str, latencies: list[float], repeat: int = 1) -> CellRecord:
        base = cell("fix", latencies, repeat=repeat)
        return base.model_copy(update={"setting": f"deps={deps}", "setting_values": {"deps": deps}})

    cells = [at("old", [40.0] * 90), at("new", [10.0] * 90), at("old", [44.0] * 90, 2), at("new", [11.0] * 90, 2)]
    across = claim(variant="fix", baseline="fix", where={"deps": "old"}, baseline_at={"deps": "new"}, threshold=3)
    [result] = evaluate([across], cells)
    assert result.setting == "deps=old" and result.verdict == "pass" and result.value == pytest.approx(4.0)
    assert "fix / fix [deps=new] = 4x" in result.describe()
    # A run without the dimension (no dependency sets) skips the claim rather than judging it.
    assert evaluate([across], [cell("fix", [40.0] * 90)]) == []
    with pytest.raises(ValueError, match="baseline_at needs a baseline"):
        claim(baseline=None, baseline_at={"deps": "new"})


def swept(variant: str, outcomes: dict[float, bool], repeat: int) -> CellRecord:
    """An open-model cell whose steps met (True) or missed (False) the SLO at these rates."""
    base = cell(variant, [5.0] * 90, repeat)
    assert base.summary is not None
    points = [base.summary.model_copy(update={"target_rps": r, "meets_slo": m}) for r, m in outcomes.items()]
    met = [r for r, m in outcomes.items() if m]
    summary = base.summary.model_copy(deep=True)
    summary.set_metric("capacity", max(met))
    bound = "exact" if not all(outcomes.values()) else "at_least"
    return base.model_copy(update={"summary": summary, "points": points, "capacity_bound": bound})


def test_a_capacity_ratio_spans_the_grid_between_met_and_missed_rates() -> None:
    """fix met every rate up to 80 (no upper end); bad met 10 and missed 40: bad's truth lies in
    [10, 40), so fix / bad is at least 80 / 40 = 2, not the grid's point 8."""
    cells = [
        c
        for r in (1, 2, 3)
        for c in (swept("fix", {10: True, 40: True, 80: True}, r), swept("bad", {10: True, 40: False, 80: False}, r))
    ]
    [result] = evaluate([claim(metric="capacity", variant="fix", baseline="bad", threshold=5)], cells)
    assert result.value == 8.0 and result.low == 2.0 and result.high is None
    assert result.verdict == "inconclusive" and "= >=8x (95% interval >=2" in result.describe()
    [clear] = evaluate([claim(metric="capacity", variant="fix", baseline="bad", threshold=1.5)], cells)
    assert clear.verdict == "pass"
