"""Null mode in both directions, judged on recorded cells: a claim must be able to fail, never pass."""

from __future__ import annotations

from lab.analysis import audit
from lab.analysis.claims import declared, evaluate
from lab.record.models import CellRecord, RunRecord
from tests.recorded import loop_blocking
from tests.test_claims import cell, claim


def null_run(rec: RunRecord, direction: str, claims: list | None = None) -> RunRecord:  # type: ignore[type-arg]
    """The recorded run as null mode would have measured it: `direction`'s cells in every variant's slot."""
    source = [c for c in rec.ok_cells() if c.variant == direction]
    cells: list[CellRecord] = [
        c.model_copy(update={"variant": v, "group": v, "id": f"r{c.repeat}-{v}"})
        for v in sorted({c.variant for c in rec.cells})
        for c in source
    ]
    judged = evaluate(claims if claims is not None else declared(rec), cells, 2)
    return rec.model_copy(update={"claims": judged, "cells": cells, "null_mode": True, "reference": direction})


def test_every_direction_of_the_recorded_run_refutes_its_ratio_claims() -> None:
    rec = loop_blocking()
    found = audit.rows([null_run(rec, d) for d in ("bad", "fix_await", "fix_threadpool")])
    assert len(found) == len(rec.claims)
    for row in found:
        assert set(row.verdicts) == {"bad", "fix_await", "fix_threadpool"}
        assert "pass" not in row.verdicts.values(), row.claim.text
    # Each verified claim failed in at least one direction; none is a defect.
    assert not any(r.defect for r in found)
    assert {r.status[0] for r in found} <= {"verified", "unverified"}
    assert any(r.status[0] == "verified" for r in found)
    assert "0 defect(s)" in audit.render(found)


def test_a_one_sided_plateau_claim_passes_with_faster_code_and_the_band_catches_it() -> None:
    """threadpool-exhaustion's plateau ("within 15 % of 200/s"), once claimed as at least 170/s: with
    a faster fix's code in bad's place (300/s) it still passed. As a band (170 to 230) it fails."""
    slow, fast = [5.0] * 1800, [5.0] * 2700  # 200 and 300 requests/s over the 9 s window
    one_sided = claim(text="at least 170/s", metric="rps", variant="bad", baseline=None, threshold=170)
    band = claim(
        text="170 to 230/s", metric="rps", variant="bad", baseline=None, op="between", threshold=170, upper=230
    )

    def run_as(direction: str, latencies: list[float]) -> RunRecord:
        cells = [c for r in (1, 2, 3) for c in (cell("bad", latencies, r), cell("fix", latencies, r))]
        judged = evaluate([one_sided, band], cells, 2)
        return loop_blocking().model_copy(update={"claims": judged, "null_mode": True, "reference": direction})

    own, other = run_as("bad", slow), run_as("fix", fast)
    by_text = {r.claim.op: r for r in audit.rows([own, other])}
    assert by_text[">="].status[0] == "defect" and by_text[">="].verdicts == {"bad": "pass", "fix": "pass"}
    assert by_text["between"].status == ("verified", "fails in null mode (every variant running fix)")


def test_guards_come_from_the_null_runs_and_the_claims_own_math() -> None:
    parity = claim(metric="rps", op="<=", threshold=1.5)  # equal sides satisfy it: a guard by its math
    assert audit.judge(parity, {"bad": "pass", "fix": "pass"})[0] == "guard"
    floor = claim(metric="failures", variant="fix", baseline=None, op="<=", threshold=0)
    assert audit.judge(floor, {"bad": "pass", "fix": "pass"})[0] == "guard"  # bad's code passes it too
    assert audit.judge(floor, {"bad": "fail", "fix": "pass"})[0] == "verified"
    assert audit.judge(claim(), {"bad": "inconclusive", "fix": "inconclusive"})[0] == "unverified"
    assert audit.judge(claim(), {})[0] == "not run"


def test_a_claim_on_one_bad_variant_is_put_to_the_fixes_code_not_its_siblings() -> None:
    """connection-per-request: "connecting per request opens at least 0.8 sessions per request" passes
    with bad_engine's code in bad's place (an engine per request connects per request too) and fails
    with the pool's: the pitfall's two forms share the symptom, the fix does not."""
    on_bad = claim(metric="db_sessions_per_request", variant="bad", baseline=None, op=">=", threshold=0.8)
    null = {"bad": "pass", "bad_engine": "pass", "fix_pool": "fail"}
    assert audit.judge(on_bad, null) == ("verified", "fails in null mode (every variant running fix_pool)")
    assert audit.judge(on_bad, {**null, "fix_pool": "pass"})[0] == "defect"  # the fix's code shows it too
    on_fix = claim(metric="db_sessions_per_request", variant="fix_pool", baseline=None, op="<=", threshold=0.01)
    both_fail = {"bad": "fail", "bad_engine": "fail", "fix_pool": "pass", "fix_other": "pass"}
    assert audit.judge(on_fix, both_fail)[0] == "verified"  # another fix sharing the property is no defect


def test_calibration_counts_false_alarms_and_null_passes_with_their_trials() -> None:
    """Four A/A repeats (the recorded run's two, twice): trials gate two against two. Identical code
    and near-identical numbers: no false alarm and no null pass, each stated with its trials."""
    from lab.ci.calibrate import calibrate

    rec = null_run(loop_blocking(), "fix_await")
    again = [c.model_copy(update={"repeat": c.repeat + 2, "id": f"r{c.repeat + 2}-{c.variant}"}) for c in rec.cells]
    pool = rec.model_copy(update={"cells": [*rec.cells, *again]})
    found = calibrate(pool, per_run=2, trials=30, tolerance=0.25)
    assert found.pool_repeats == 4 and found.false_alarms.trials == 6  # 4C2 x 2C2 distinct splits
    assert found.false_alarms.events == 0 and found.false_alarms.high < 0.5
    assert found.null_passes.events == 0 and found.null_passes.trials > 0
    assert "gate false alarms: 0.0% (0 of 6; 95 % Wilson 0.0%-" in found.text()
