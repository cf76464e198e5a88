"""The CI gate: baselines, regressions against noise, the outputs CI reads, the history."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest

from lab.analysis import sequential
from lab.ci import baseline, history
from lab.ci import outputs as ci_outputs
from lab.ci.gate import Figure, gate
from lab.record.models import RunRecord
from tests.conftest import lab, write_scenario
from tests.recorded import loop_blocking
from tests.test_claims import TEMPLATE, cell
from tests.test_claims import claim as make_claim


def _moved(rec: RunRecord, factor: float, verdict: str | None = None) -> RunRecord:
    """The same run with every claim moved (a planted change): `factor` below 1 toward failing (a
    `>=` claim's value times it, a `<=` claim's divided by it), above 1 away from it."""
    claims = []
    for claim in rec.claims:
        update: dict[str, object] = {}
        f = factor if claim.op == ">=" else 1 / factor
        if claim.value is not None and claim.low is not None and claim.high is not None:
            update |= {"value": claim.value * f, "low": claim.low * f, "high": claim.high * f}
        if verdict is not None and claim.verdict == "pass":
            update["verdict"] = verdict
        claims.append(claim.model_copy(update=update))
    return rec.model_copy(update={"claims": claims}, deep=True)


def test_a_rerun_of_the_same_numbers_is_clean() -> None:
    rec = loop_blocking()
    result = gate(baseline.from_run(rec), rec, tolerance=0.25)
    assert result.exit_code == 0 and not result.differences
    assert {f.kind for f in result.findings} == {"unchanged"}


def test_a_change_inside_the_tolerance_passes_and_a_planted_regression_fails() -> None:
    rec = loop_blocking()
    base = baseline.from_run(rec)
    assert gate(base, _moved(rec, 0.9), tolerance=0.25).exit_code == 0  # within noise
    result = gate(base, _moved(rec, 0.3), tolerance=0.25)  # every claim moved far toward failing
    measured = [c for c in rec.claims if c.value is not None]
    assert result.exit_code == 1 and len(result.regressions) == len(measured) > 0
    assert all("moved past" in f.why for f in result.regressions)
    # Moving the better way is an improvement, never a regression.
    assert gate(base, _moved(rec, 3.0), tolerance=0.25).exit_code == 0


def test_a_verdict_that_flips_from_pass_to_fail_is_a_regression_even_inside_the_tolerance() -> None:
    rec = loop_blocking()
    base = baseline.from_run(rec)
    passing = [c for c in rec.claims if c.verdict == "pass"]
    assert passing
    result = gate(base, _moved(rec, 1.0, verdict="fail"), tolerance=0.25)
    assert len(result.regressions) == len(passing)
    assert all(f.why == "verdict went from pass to fail" for f in result.regressions)
    # ...while pass -> inconclusive is shown, not failed: noise must not break the build.
    assert gate(base, _moved(rec, 1.0, verdict="inconclusive"), tolerance=0.25).exit_code == 0


def test_runs_on_other_versions_are_compared_and_say_so() -> None:
    rec = loop_blocking()
    base = baseline.from_run(rec)
    other = rec.model_copy(deep=True)
    other.environment.packages["fastapi"] = "0.129.0"
    other.environment.cpu_model = "another CPU"
    result = gate(base, other, tolerance=0.25)
    assert any(d.startswith("fastapi: ") and d.endswith("-> 0.129.0") for d in result.differences)
    assert any(d.startswith("machine: ") for d in result.differences)
    assert result.exit_code == 0  # the ratios still agree: allowed, and said plainly


def test_absolute_figures_are_gated_only_when_asked_and_on_the_same_machine() -> None:
    rec = loop_blocking()
    base = baseline.from_run(rec)
    slower = rec.model_copy(deep=True)
    for v in slower.variants.values():
        v.rps = (v.rps or 0) * 0.5
    assert gate(base, slower, tolerance=0.25).exit_code == 0
    assert gate(base, slower, tolerance=0.25, gate_absolute=True).exit_code == 1
    slower.environment.cpu_model = "another CPU"
    assert gate(base, slower, tolerance=0.25, gate_absolute=True).exit_code == 0


def test_baselines_round_trip_and_a_broken_one_is_one_line(tmp_path: Path) -> None:
    rec = loop_blocking()
    path = baseline.save(baseline.from_run(rec), tmp_path)
    assert baseline.load(rec.scenario, tmp_path) == baseline.from_run(rec)
    path.write_text('{"scenario": 1}')
    with pytest.raises(Exception, match=r"loop-blocking.json: not a valid baseline: field"):
        baseline.load(rec.scenario, tmp_path)


def test_outputs_parse_and_count_one_case_per_claim(tmp_path: Path) -> None:
    rec = loop_blocking()
    clean = gate(baseline.from_run(rec), rec, tolerance=0.25)
    broken = gate(baseline.from_run(rec), _moved(rec, 1.0, verdict="fail"), tolerance=0.25)
    files = ci_outputs.write_all([broken], tmp_path, could_not_run=["ghost: no baseline"])
    assert {p.name for p in files} == {
        "summary.md",
        "junit.xml",
        "gate.json",
        "bencher.json",
        "benchmark-bigger.json",
        "benchmark-smaller.json",
    }
    root = ET.parse(tmp_path / "junit.xml").getroot()
    suite = root.find("testsuite[@name='loop-blocking']")
    assert suite is not None and len(suite.findall("testcase")) == len(rec.claims)
    failures = suite.findall("testcase/failure")
    assert len(failures) == len(broken.regressions) and "verdict went from pass to fail" in failures[0].text  # type: ignore[operator]
    assert root.find("testsuite[@name='could not run']/testcase/error") is not None
    md = ci_outputs.markdown([clean, broken])
    assert md.count("| | claim | baseline | now (interval) | change |") == 2 and "REGRESSION" in md
    # Bencher Metric Format: {benchmark: {measure: {value[, lower_value, upper_value]}}}, named by
    # what is measured, so rewording a claim keeps its series.
    bmf = json.loads((tmp_path / "bencher.json").read_text())
    for measures in bmf.values():
        for entry in measures.values():
            assert isinstance(entry["value"], float) and set(entry) <= {"value", "lower_value", "upper_value"}
    assert set(bmf["loop-blocking/p99:bad/fix_await[/work]"]["ratio"]) == {"value", "lower_value", "upper_value"}
    assert json.loads((tmp_path / "gate.json").read_text())["regressions"] == len(broken.regressions)


def test_history_round_trips_through_pandas_and_draws_trends(tmp_path: Path) -> None:
    rec = loop_blocking()
    path = tmp_path / "history.parquet"
    history.append(rec, path)
    later = _moved(rec, 0.5).model_copy(update={"run_id": "20991231T000000000Z"})
    history.append(later, path, regressions=[rec.claims[0].text])
    frame = pd.read_parquet(path)
    assert len(frame) == 2 * len(rec.claims)
    assert set(frame["scenario"]) == {"loop-blocking"} and frame["regression"].sum() == 1
    page = history.trends_page(frame, tmp_path).read_text()
    # One panel for the scenario, its claims as small multiples on a category axis of runs.
    assert page.count('class="plotly-graph-div"') == 1
    assert page.count('"type":"category"') == len(rec.claims)
    labels = set(history.run_label(frame))
    assert len(labels) == 2 and all(label in page for label in labels)


def test_early_stopping_decides_a_clear_case_at_the_first_look_and_a_straddling_one_at_the_maximum() -> None:
    rule = sequential.Rule(min_repeats=2, max_repeats=5)
    assert rule.looks == 4 and rule.confidence == pytest.approx(0.9875)
    # Clear: 20x against a 10x threshold in every repeat. The first look decides; three repeats unneeded.
    clear = [c for r in range(1, 5) for c in (cell("bad", [100.0] * 90, r), cell("fix", [5.0] * 90, r))]
    stopped, judged = sequential.replay([make_claim()], clear, rule)
    assert stopped == 2 and [j.verdict for j in judged] == ["pass"]
    assert judged[0].method.startswith("98.75% t-interval")
    # Straddling: repeats alternate between 14x and 6x around the 10x threshold. Never decided: all five run.
    close = [
        c for r in range(1, 6) for c in (cell("bad", [70.0 if r % 2 else 30.0] * 90, r), cell("fix", [5.0] * 90, r))
    ]
    stopped, judged = sequential.replay([make_claim()], close, rule)
    assert stopped == 5 and [j.verdict for j in judged] == ["inconclusive"]
    # A clear fail decides as fast as a clear pass.
    miss = [c for r in range(1, 5) for c in (cell("bad", [20.0] * 90, r), cell("fix", [5.0] * 90, r))]
    assert sequential.replay([make_claim()], miss, rule)[0] == 2
    # What was saved: the skipped cells at their group's measured wall time.
    done = [clear[0].model_copy(update={"wall_s": 12.0}), clear[1].model_copy(update={"wall_s": 8.0})]
    skipped = [dataclasses.replace(TEMPLATE, variant=v, setting={}) for v in ("bad", "fix", "bad", "fix")]
    assert sequential.saved_s(done, skipped) == 40.0
    with pytest.raises(ValueError, match="min_repeats <= max_repeats"):
        sequential.Rule(3, 2)


SLOW_FIX = 'good = "apps.loop_blocking.fix_await:app"'
CLAIM = '[[claims]]\ntext = "the median stays fast"\nmetric = "p50"\nvariant = "good"\nop = "<="\nthreshold = 10\n'


@pytest.mark.e2e
@pytest.mark.slow
def test_bench_ci_gates_a_real_run_against_a_baseline_made_here(tmp_path: Path) -> None:
    """Baseline and a clean re-run (exit 0), then a `time.sleep` planted in the fix (exit 1)."""
    results, baselines, out = tmp_path / "results", tmp_path / "baselines", tmp_path / "ci"
    # Three repeats at the first look: two give a t-interval with t(0.9917, 1) = 38, which decides
    # only when the two p50s agree within a few percent (a coin toss for a 1 ms median).
    path = write_scenario(tmp_path, variants=SLOW_FIX, extra=CLAIM)
    path.write_text("ci = { min_repeats = 3, max_repeats = 4 }\n" + path.read_text())
    common = ["--results", str(results), "--baselines", str(baselines), "--quiet"]
    made = lab("baseline", str(path), *common)
    assert made.returncode == 0, made.stderr[-2000:]
    assert (baselines / "tiny.json").is_file()
    clean = lab("ci", str(path), *common, "--out", str(out), "--reports", str(tmp_path / "reports"))
    assert clean.returncode == 0, clean.stdout[-2000:] + clean.stderr[-2000:]
    summary = (out / "summary.md").read_text()
    assert "no regression" in summary
    # The clear claim is decided at the first look of the sequential rule: two repeats not run.
    assert "Decided after 3 of at most 4 repeats (97.50% intervals per look)" in summary, summary
    # The planted regression: the fix now blocks its loop 30 ms per request (tests/apps/slow_fix.py).
    path.write_text(path.read_text().replace("apps.loop_blocking.fix_await:app", "tests.apps.slow_fix:app"))
    broken = lab("ci", str(path), *common, "--out", str(out), "--reports", str(tmp_path / "reports"))
    assert broken.returncode == 1, broken.stdout[-2000:] + broken.stderr[-2000:]
    summary = (out / "summary.md").read_text()
    assert "1 regression(s)" in summary and "scenario file changed" in summary
    trend = pd.read_parquet(results / "history.parquet")
    assert trend["regression"].sum() == 1
    # A scenario with no baseline could not run: exit 2.
    missing = lab("ci", "loop-blocking", *common, "--out", str(out), "--reports", str(tmp_path / "reports"))
    assert missing.returncode == 2 and "no baseline for loop-blocking" in missing.stderr


def test_a_vanished_or_unmeasurable_claim_fails_the_gate() -> None:
    rec = loop_blocking()
    base = baseline.from_run(rec)
    vanished = rec.model_copy(update={"claims": rec.claims[1:]}, deep=True)
    result = gate(base, vanished, tolerance=0.25)
    assert result.exit_code == 1 and [f.what for f in result.regressions] == [rec.claims[0].text]
    assert result.regressions[0].why.startswith("vanished")
    blank = rec.claims[0].model_copy(update={"value": None, "low": None, "high": None, "reason": "bad did not run"})
    unmeasured = rec.model_copy(update={"claims": [blank, *rec.claims[1:]]}, deep=True)
    [finding] = gate(base, unmeasured, tolerance=0.25).regressions
    assert finding.why == "cannot be measured now: bad did not run"


def test_changes_are_judged_against_the_baselines_interval_not_its_point() -> None:
    """A claim whose interval moved past the baseline's value by the tolerance, but still overlaps
    the baseline's own interval widened by it, is noise: unchanged."""
    rec = loop_blocking()
    claim = next(c for c in rec.claims if c.value is not None and c.op == ">=")
    wide = claim.model_copy(update={"low": claim.value * 0.4, "high": claim.value * 1.2})
    base = baseline.from_run(rec.model_copy(update={"claims": [wide]}, deep=True))
    # Now: an interval wholly below baseline value x 0.75, but above its lower end x 0.75.
    now = claim.model_copy(update={"value": claim.value * 0.6, "low": claim.value * 0.5, "high": claim.value * 0.7})
    [finding] = gate(base, rec.model_copy(update={"claims": [now]}, deep=True), tolerance=0.25).findings
    assert finding.kind == "unchanged"
    far = now.model_copy(update={"low": claim.value * 0.2, "high": claim.value * 0.29})
    [finding] = gate(base, rec.model_copy(update={"claims": [far]}, deep=True), tolerance=0.25).findings
    assert finding.kind == "regression" and "interval's lower end" in finding.why


def test_the_summary_states_how_many_claims_were_gated_at_once() -> None:
    rec = loop_blocking()
    result = gate(baseline.from_run(rec), rec, tolerance=0.25)
    text = ci_outputs.markdown([result])
    assert f"{len(rec.claims)} claims gated at once" in text and "Bonferroni" in text


def test_a_capacity_regresses_only_when_its_whole_range_fell() -> None:
    """bad met 10 req/s and missed 40 in the baseline. Now meeting 5 and missing 10, its capacity
    lies in 5-10: its point (5) is under 10 x 0.75, but the truth may be 9.9, so it is no regression.
    Meeting 2 and missing 5, the whole range lies under 7.5: a regression."""
    from tests.test_claims import swept

    def run(bad: dict[float, bool]) -> RunRecord:
        cells = [c for r in (1, 2, 3) for c in (swept("fix", {10: True, 40: True, 80: True}, r), swept("bad", bad, r))]
        return loop_blocking().model_copy(update={"cells": cells, "claims": []})

    base = baseline.from_run(run({10: True, 40: False}))
    near = gate(base, run({5: True, 10: False}), tolerance=0.25)
    assert not [f for f in near.regressions if f.what == "capacity of bad"]
    far = gate(base, run({2: True, 5: False}), tolerance=0.25)
    [finding] = [f for f in far.regressions if f.what == "capacity of bad"]
    assert finding.why == "every repeat's capacity range under 7.5 req/s"


def test_trackers_get_each_variants_capacity_and_p99_with_units_a_file_per_direction(tmp_path: Path) -> None:
    rec = loop_blocking()
    result = gate(baseline.from_run(rec), rec, tolerance=0.25)
    result.figures = [
        Figure("fix_await", "capacity", 640.0, 600.0, 700.0),
        Figure("fix_await", "latency-p99", 2.5, 2.0, 3.0),
        Figure("bad", "capacity", 20.0),
    ]
    ci_outputs.write_all([result], tmp_path)
    bmf = json.loads((tmp_path / "bencher.json").read_text())
    assert bmf["loop-blocking/fix_await"] == {
        "capacity": {"value": 640.0, "lower_value": 600.0, "upper_value": 700.0},
        "latency-p99": {"value": 2.5, "lower_value": 2.0, "upper_value": 3.0},
    }
    assert bmf["loop-blocking/bad"] == {"capacity": {"value": 20.0}}
    # github-action-benchmark's custom tools: [{name, unit, value[, range]}], a file per direction.
    bigger = json.loads((tmp_path / "benchmark-bigger.json").read_text())
    smaller = json.loads((tmp_path / "benchmark-smaller.json").read_text())
    for entry in [*bigger, *smaller]:
        assert set(entry) <= {"name", "unit", "value", "range", "extra"} and isinstance(entry["value"], float)
    assert {
        "name": "loop-blocking/fix_await (capacity)",
        "unit": "req/s",
        "value": 640.0,
        "range": "600 to 700",
    } in bigger
    assert {"name": "loop-blocking/fix_await (latency-p99)", "unit": "ms", "value": 2.5, "range": "2 to 3"} in smaller
    # A claim's value goes where its operator puts "toward passing": `>=` bigger, `<=` smaller.
    assert any(e["name"] == "loop-blocking/p99:bad/fix_await[/work] (ratio)" and e["unit"] == "x" for e in bigger)
    assert any(e["name"] == "loop-blocking/rps:bad/fix_await (ratio)" for e in smaller)
