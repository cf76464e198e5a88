"""Claims, evaluated against a run's cells, never by calling back into the runner.

A claim's value is the ratio (or the plain value) from the whole measured window, the median
across repeats. Its spread is the range over every repeat and every segment (third) of the
window, for traffic metrics; cell-level metrics (CPU, database counts) and plain counts spread
over repeats only.
The verdict is `pass` only when the whole spread clears the threshold, `fail` only when the
whole spread misses it, and `inconclusive` otherwise: noise never flips a coin for us.
"""

from __future__ import annotations

import statistics
from typing import Any

from lab.scenario import Claim
from lab.summary import ALL, TRAFFIC_METRICS, metric

UNTRUSTED_FLAGS = {"generator_bound", "no_requests"}
COUNTS = {"requests", "failures"}


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None:
        return None
    if b is None:
        return a
    return a / b if b != 0 else None


def _segment_values(cell: dict[str, Any], claim: Claim) -> list[float | None]:
    segs = cell["summary"]["segments"].get(claim.request, [])
    return [metric(seg, claim.metric) for seg in segs]


def evaluate_one(claim: Claim, cells: list[dict[str, Any]], setting: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        **claim.model_dump(),
        "setting": setting,
        "value": None,
        "low": None,
        "high": None,
        "samples": 0,
        "verdict": "inconclusive",
        "reason": "",
    }
    mine = [c for c in cells if c["setting"] == setting]
    by_repeat: dict[int, dict[str, dict[str, Any]]] = {}
    for cell in mine:
        by_repeat.setdefault(cell["repeat"], {})[cell["variant"]] = cell
    pairs = [
        (r[claim.variant], r.get(claim.baseline) if claim.baseline else None)
        for r in by_repeat.values()
        if claim.variant in r and (not claim.baseline or claim.baseline in r)
    ]
    if not pairs:
        result["reason"] = "no measured cells for this claim"
        return result

    whole: list[float | None] = []
    spread: list[float | None] = []
    for cell, base in pairs:
        value = _ratio(
            metric(cell["summary"], claim.metric, claim.request),
            metric(base["summary"], claim.metric, claim.request) if base else None,
        )
        whole.append(value)
        spread.append(value)
        # A third of the window holds a third of the requests: counts compare across segments only as ratios.
        if claim.segments and claim.metric in TRAFFIC_METRICS and (base is not None or claim.metric not in COUNTS):
            mine_segs = _segment_values(cell, claim)
            base_segs = _segment_values(base, claim) if base else [None] * len(mine_segs)
            spread += [_ratio(a, b if base else None) for a, b in zip(mine_segs, base_segs, strict=True)]

    flagged = sorted(
        {f for cell, base in pairs for c in (cell, base) if c for f in c["summary"]["flags"]} & UNTRUSTED_FLAGS
    )
    if None in whole or None in spread:
        result["reason"] = f"{claim.metric} missing or baseline is zero for {claim.request!r}"
        return result
    known = [v for v in spread if v is not None]
    result.update(
        value=round(statistics.median(v for v in whole if v is not None), 4),
        low=round(min(known), 4),
        high=round(max(known), 4),
        samples=len(known),
    )
    if flagged:
        result["reason"] = f"cells flagged {', '.join(flagged)}: the numbers describe the load generator"
        return result
    above = result["low"] >= claim.threshold
    below = result["high"] < claim.threshold
    if claim.op == ">=":
        result["verdict"] = "pass" if above else "fail" if below else "inconclusive"
    else:
        result["verdict"] = (
            "pass"
            if result["high"] <= claim.threshold
            else ("fail" if result["low"] > claim.threshold else "inconclusive")
        )
    if result["verdict"] == "inconclusive":
        result["reason"] = "the spread over repeats and window segments straddles the threshold"
    return result


def evaluate(claims: list[Claim], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    points = {c["setting"]: c.get("setting_values", {}) for c in cells}
    return [
        evaluate_one(claim, cells, label)
        for claim in claims
        for label, values in points.items()
        if all(str(values.get(k)) == str(v) for k, v in claim.where.items())
    ]


def describe(result: dict[str, Any]) -> str:
    """`p99 bad / fix_await = 41.2x (range 35.0-47.9), needs >= 10`"""
    subject = f"{result['variant']} / {result['baseline']}" if result["baseline"] else result["variant"]
    request = "" if result["request"] == ALL else f" of {result['request']}"
    if result["value"] is None:
        return f"{result['metric']}{request} {subject}: not measurable ({result['reason']})"
    unit = "x" if result["baseline"] else ""
    return (
        f"{result['metric']}{request} {subject} = {result['value']:.3g}{unit} "
        f"(range {result['low']:.3g}-{result['high']:.3g} over {result['samples']} samples), "
        f"needs {result['op']} {result['threshold']:g}{unit}"
    )
