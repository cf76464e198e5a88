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
from collections.abc import Sequence

from lab import metrics
from lab.record import UNTRUSTED, CellRecord, CellSummary, ClaimResult
from lab.scenario import Claim

# A third of the window holds a third of the requests: counts compare across segments only as ratios.
COUNTS = {"requests", "failures"}


class Unmeasurable(Exception):
    """A value the claim needs is missing; the message says which, for the verdict's reason."""


def _value(summary: CellSummary, claim: Claim, role: str) -> float:
    value = summary.value(claim.metric, claim.request)
    if value is None:
        where = "" if claim.request == "all" else f" of {claim.request!r}"
        raise Unmeasurable(f"{claim.metric}{where} was not measured for {role}")
    return value


def _ratio(a: float, b: float, claim: Claim) -> float:
    if b == 0:
        raise Unmeasurable(f"{claim.metric} of the baseline {claim.baseline!r} is zero")
    return a / b


def _values(cell: CellSummary, base: CellSummary | None, claim: Claim) -> tuple[float, list[float]]:
    """The whole-window value of one repeat, and the values it adds to the spread (its segments too)."""
    mine = _value(cell, claim, claim.variant)
    whole = mine if base is None else _ratio(mine, _value(base, claim, str(claim.baseline)), claim)
    spread = [whole]
    per_segment = metrics.BY_NAME.get(claim.metric)
    if claim.segments and per_segment is not None and per_segment.scope == "request":
        if base is None and claim.metric in COUNTS:
            return whole, spread
        mine_segs = cell.segment_values(claim.metric, claim.request)
        base_segs = base.segment_values(claim.metric, claim.request) if base else [1.0] * len(mine_segs)
        if len(mine_segs) != len(base_segs) or None in mine_segs or None in base_segs:
            raise Unmeasurable(f"{claim.metric} is missing in a segment of the window")
        for a, b in zip(mine_segs, base_segs, strict=True):
            assert a is not None and b is not None
            spread.append(a if base is None else _ratio(a, b, claim))
    return whole, spread


def evaluate_one(claim: Claim, cells: Sequence[CellRecord], setting: str) -> ClaimResult:
    result = ClaimResult(**claim.model_dump(), setting=setting)
    by_repeat: dict[int, dict[str, CellRecord]] = {}
    for cell in cells:
        if cell.setting == setting and cell.summary is not None:
            by_repeat.setdefault(cell.repeat, {})[cell.variant] = cell
    pairs = [
        (r[claim.variant], r[claim.baseline] if claim.baseline else None)
        for r in by_repeat.values()
        if claim.variant in r and (not claim.baseline or claim.baseline in r)
    ]
    if not pairs:
        return result.model_copy(update={"reason": "no measured cells for this claim"})
    whole: list[float] = []
    spread: list[float] = []
    try:
        for cell, base in pairs:
            assert cell.summary is not None
            value, values = _values(cell.summary, base.summary if base else None, claim)
            whole.append(value)
            spread += values
    except Unmeasurable as exc:
        return result.model_copy(update={"reason": str(exc)})

    flagged = sorted({f for cell, base in pairs for c in (cell, base) if c and c.summary for f in c.summary.flags})
    untrusted = [f for f in flagged if f in UNTRUSTED]
    measured = {
        "value": round(statistics.median(whole), 4),
        "low": round(min(spread), 4),
        "high": round(max(spread), 4),
        "samples": len(spread),
    }
    if untrusted:
        reason = f"cells flagged {', '.join(untrusted)}: the numbers describe the lab, not the server"
        return result.model_copy(update={**measured, "reason": reason})
    low, high = measured["low"], measured["high"]
    if claim.op == ">=":
        verdict = "pass" if low >= claim.threshold else "fail" if high < claim.threshold else "inconclusive"
    else:
        verdict = "pass" if high <= claim.threshold else "fail" if low > claim.threshold else "inconclusive"
    reason = "the spread over repeats and window segments straddles the threshold" if verdict == "inconclusive" else ""
    return result.model_copy(update={**measured, "verdict": verdict, "reason": reason})


def evaluate(claims: Sequence[Claim], cells: Sequence[CellRecord]) -> list[ClaimResult]:
    points = {c.setting: c.setting_values for c in cells}
    return [
        evaluate_one(claim, cells, label)
        for claim in claims
        for label, values in points.items()
        if all(str(values.get(k)) == str(v) for k, v in claim.where.items())
    ]
