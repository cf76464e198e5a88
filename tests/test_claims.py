"""Claims: ratios across variants, spread over repeats and segments, honest verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lab.claims import describe, evaluate
from lab.scenario import Claim
from lab.summary import summarise

WINDOW = {"t0": 0.0, "warmup_s": 0.0, "duration_s": 9.0, "end_s": 9.0}
NO_SAMPLES = pd.DataFrame(columns=["ts", "cell", "metric", "value"])


def cell(variant: str, latencies_ms: list[float], repeat: int = 1, flags: tuple[str, ...] = ()) -> dict:
    """A measured cell whose requests are spread evenly over a 9 s window."""
    t = np.linspace(0, 8.999, len(latencies_ms))
    requests = pd.DataFrame({"t": t, "name": "/work", "response_ms": latencies_ms, "ok": 1})
    summary = summarise(requests, WINDOW, NO_SAMPLES)
    summary["flags"] += list(flags)
    return {"variant": variant, "repeat": repeat, "setting": "", "summary": summary}


def claim(**kw: object) -> Claim:
    base = {"text": "t", "metric": "p50", "variant": "bad", "baseline": "fix", "threshold": 10.0}
    return Claim.model_validate({**base, **kw})


def test_clear_ratio_passes_and_reports_value_and_spread() -> None:
    cells = [cell("bad", [100.0] * 90), cell("fix", [5.0] * 90)]
    [result] = evaluate([claim()], cells)
    assert result["verdict"] == "pass"
    assert result["value"] == 20.0 and result["low"] == 20.0 and result["high"] == 20.0
    assert result["samples"] == 4  # the whole window and its three segments
    assert "p50 bad / fix = 20x" in describe(result)


def test_clear_miss_fails() -> None:
    [result] = evaluate([claim()], [cell("bad", [20.0] * 90), cell("fix", [5.0] * 90)])
    assert result["verdict"] == "fail" and result["value"] == 4.0


def test_spread_across_the_threshold_is_inconclusive() -> None:
    # First third 30x worse, the rest only 5x: the whole-window median says one thing, the spread another.
    bad = [150.0] * 30 + [25.0] * 60
    [result] = evaluate([claim()], [cell("bad", bad), cell("fix", [5.0] * 90)])
    assert result["low"] < 10 < result["high"]
    assert result["verdict"] == "inconclusive"
    assert "straddles" in result["reason"]


def test_repeats_take_the_median_and_widen_the_spread() -> None:
    cells = [
        cell("bad", [100.0] * 90, repeat=1),
        cell("fix", [5.0] * 90, repeat=1),
        cell("bad", [60.0] * 90, repeat=2),
        cell("fix", [5.0] * 90, repeat=2),
    ]
    [result] = evaluate([claim()], cells)
    assert result["value"] == 16.0 and result["low"] == 12.0 and result["high"] == 20.0
    assert result["samples"] == 8 and result["verdict"] == "pass"


def test_at_most_claims_and_plain_values() -> None:
    cells = [cell("bad", [100.0] * 90), cell("fix", [5.0] * 90)]
    rps = claim(metric="rps", op="<=", threshold=1.5)  # equal load offered: the ratio is 1
    assert evaluate([rps], cells)[0]["verdict"] == "pass"
    ceiling = claim(metric="max", baseline=None, op="<=", threshold=50.0)
    [result] = evaluate([ceiling], cells)
    assert result["verdict"] == "fail" and result["value"] == 100.0


def test_generator_bound_cells_never_pass_or_fail() -> None:
    cells = [cell("bad", [100.0] * 90), cell("fix", [5.0] * 90, flags=("generator_bound",))]
    [result] = evaluate([claim()], cells)
    assert result["verdict"] == "inconclusive"
    assert "generator_bound" in result["reason"]


def test_missing_cells_or_zero_baseline_are_inconclusive() -> None:
    [missing] = evaluate([claim()], [cell("bad", [100.0] * 90)])
    assert missing["verdict"] == "inconclusive" and missing["reason"] == "no measured cells for this claim"
    [zero] = evaluate([claim(metric="failures")], [cell("bad", [1.0] * 90), cell("fix", [1.0] * 90)])
    assert zero["verdict"] == "inconclusive" and "baseline is zero" in zero["reason"]
