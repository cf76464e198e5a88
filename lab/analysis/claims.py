"""Claims, evaluated against a run's cells, never by calling back into the runner.

A claim's value is the ratio (or the plain value) over each repeat's whole measured window, the
median across repeats. Its interval (lab/analysis/intervals.py) is a t-interval across repeats on
log values, 95 % unless a sequential run's look asks for more: the repeat is the unit, since each
runs on a fresh server process, while the thirds of one window are serially correlated and never
count as samples. A capacity is known only between the rate that met the SLO and the rate that
missed it, so its interval runs from the lower ends' lower bound to the upper ends' upper bound (no
upper bound when the sweep never missed). A share of requests (the error rate) is widened to the
Wilson interval of the pooled counts. One repeat gives a value and no interval, so no verdict. A
claim that there are none of an event (failures, lost writes: `<= 0`) fails once any repeat counted
one, however the others went: a count is an observation, not an estimate.

The verdict is `pass` only when the whole interval clears the threshold, `fail` only when the
whole interval misses it, and `inconclusive` otherwise, and also when a value it needs was not
measured, when fewer than two repeats were measured, when a percentile rests on too few samples (fewer than 10 above it), when fewer
independent repeats than the profile's `min_repeats` were measured, or when a cell's numbers
describe the lab rather than the server (flags). Noise never flips a coin for us.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lab import metrics
from lab.analysis import intervals, sweep
from lab.analysis.steps import judged_steps
from lab.record.models import UNTRUSTED, CellRecord, CellSummary, ClaimResult, RunRecord, Traffic
from lab.scenario.models import Claim

# Shares of requests: their interval also covers the pooled count's own binomial interval, so a share
# measured as zero in every repeat is not claimed to be exactly zero.
SHARES = {"error_rate"}
# Events a claim can say there are none of ("fails none", "loses none"). Each repeat counted them
# exactly, so one event in any repeat refutes "none" outright: an interval on their mean would call
# [0, 0, 340] inconclusive, and a pitfall that strikes in some repeats only could never fail the claim.
EVENT_COUNTS = {"failures", "writes_lost", "writes_duplicated", "db_too_many_clients"}
CONFIDENCE = 0.95
# A ratio whose two sides are both bounds (two capacities past the sweep's top): no number of
# repeats of the same sweep decides it, so the sequential rule does not wait for it.
BOTH_BOUNDS = "bounds on both sides of the ratio"
# Throughput of a generator-bound cell: what the server served at least (it could have served more).
THROUGHPUT = ("rps", "attempted_rps")


def _server_peak(name: str) -> bool:
    """The server's peak memory: a generator that ran out sent less at once than asked, so the peak it
    caused is what the server needed at least (a lower bound), like the throughput it served."""
    return _server_metric(name, "peak")


def _server_cost(name: str) -> bool:
    """A per-request cost read from the server's own process accounting (server CPU per request)."""
    return _server_metric(name, "per_request")


def _server_metric(name: str, reduce: str) -> bool:
    metric = metrics.BY_NAME.get(name)
    return metric is not None and metric.source == "server" and metric.reduce == reduce


# A percentile is only a percentile when this many samples lie above it (a p99 of 50 requests is their max).
ABOVE_PERCENTILE = 10


class Unmeasurable(Exception):
    """A value the claim needs is missing; the message says which, for the verdict's reason."""


def min_samples(metric: str) -> int:
    """Successful requests a percentile needs in every slice it is computed from."""
    q = metrics.PERCENTILES.get(metric.removeprefix("service_").removeprefix("send_lag_").removeprefix("arrival_"))
    return math.ceil(ABOVE_PERCENTILE / (1 - q) - 1e-9) if q is not None else 0


@dataclass(frozen=True)
class Repeat:
    """One repeat's evidence: its value, the range the truth lies in (wider than a point for a
    capacity read off a grid of rates), and, for a share of requests, its count."""

    whole: float
    low: float
    high: float
    count: tuple[int, int] | None = None  # (events, requests) of a share


def _successes(part: Traffic) -> int:
    return part.requests - part.failures


def _value(summary: CellSummary, claim: Claim, role: str) -> float:
    value = summary.value(claim.metric, claim.request)
    if value is None:
        where = "" if claim.request == "all" else f" of {claim.request!r}"
        untrusted = [f for f in summary.flags if f in UNTRUSTED]
        # A sweep stops at its first untrusted step; when that is its first step, no rate is decided.
        why = (
            f": its step at {summary.target_rps:g} req/s was flagged {', '.join(untrusted)}"
            if untrusted and summary.target_rps is not None
            else f": flagged {', '.join(untrusted)}"
            if untrusted
            else ""
        )
        raise Unmeasurable(f"{claim.metric}{where} was not measured for {role}{why}")
    return value


def _too_few(summary: CellSummary, claim: Claim, role: str) -> str | None:
    """Why a percentile of this repeat rests on too few samples, or None."""
    need, part = min_samples(claim.metric), summary.part(claim.request)
    counted = "arrivals" if claim.metric.startswith("arrival_") else "successful requests"
    have = (part.requests if counted == "arrivals" else _successes(part)) if part is not None else 0
    if need and part is not None and have < need:
        return (
            f"too few samples for {claim.metric} of {claim.request}: {have} {counted} "
            f"in a repeat of {role}, {need} needed ({ABOVE_PERCENTILE} above the percentile)"
        )
    return None


def _ratio(a: float, b: float, claim: Claim) -> float:
    if math.isinf(a) and math.isinf(b):
        raise Unmeasurable(
            f"{claim.metric} is infinite on both sides (more arrivals failed than the percentile allows)"
        )
    if b == 0:
        raise Unmeasurable(f"{claim.metric} of the baseline {claim.baseline!r} is zero")
    return a / b


def _range(cell: CellRecord, point: CellSummary, claim: Claim) -> tuple[float, float]:
    """Where a repeat's true value lies: a capacity between the highest rate that met the SLO and the
    lowest that missed it above (0 and infinity where the sweep ran out); any other value is a point."""
    value = _value(point, claim, cell.variant)
    return capacity_range(cell) if claim.metric == "capacity" else (value, value)


def capacity_range(cell: CellRecord) -> tuple[float, float]:
    """Where a sweep's true capacity lies: from the highest rate decided to meet the SLO to the
    lowest decided to miss above it (infinity where no rate missed)."""
    lo, hi = sweep.bracket(judged_steps(cell.points))
    return lo, math.inf if hi is None else hi


def ratio_range(lo: float, hi: float, base_lo: float, base_hi: float) -> tuple[float, float]:
    """Where a ratio lies when each side lies in a range: its lowest over the baseline's highest,
    its highest over the baseline's lowest (0 and infinity where a side is unbounded)."""
    low = 0.0 if lo == 0 or math.isinf(base_hi) else lo / base_hi
    high = math.inf if math.isinf(hi) or base_lo == 0 else hi / base_lo
    return low, high


def _repeat(cell: CellRecord, base: CellRecord | None, claim: Claim, at: float | None, tag: str | None) -> Repeat:
    point = _at(cell, at, tag)
    mine = _value(point, claim, claim.variant)
    lo, hi = _range(cell, point, claim)
    if base is None:
        part = point.part(claim.request)
        count = (part.failures, part.requests) if claim.metric in SHARES and part is not None else None
        return Repeat(mine, lo, hi, count)
    theirs_point = _at(base, at, tag)
    theirs = _value(theirs_point, claim, str(claim.baseline))
    blo, bhi = _range(base, theirs_point, claim)
    whole = _ratio(mine, theirs, claim)
    return Repeat(whole, *ratio_range(lo, hi, blo, bhi))


def interval(repeats: Sequence[Repeat], confidence: float = CONFIDENCE) -> intervals.Interval:
    """The repeats' interval at `confidence` (lab/analysis/intervals.py); needs two repeats."""
    if any(math.isinf(r.whole) for r in repeats):
        found = intervals.order_range([r.whole for r in repeats])
    elif any(r.low != r.whole or r.high != r.whole for r in repeats):
        found = intervals.bounded([r.low for r in repeats], [r.high for r in repeats], confidence)
    else:
        found = intervals.t_interval([r.whole for r in repeats], confidence)
    counts = [r.count for r in repeats if r.count is not None]
    if len(counts) == len(repeats) and counts:
        events, trials = sum(c[0] for c in counts), sum(c[1] for c in counts)
        low, high = intervals.wilson(events, trials, confidence)
        found = intervals.Interval(
            max(0.0, min(found.low, low)),
            min(1.0, max(found.high, high)),  # a share's t-interval on log values can run past 1
            confidence,
            f"{found.method}, widened to the Wilson interval of the pooled {events} of {trials} requests",
        )
    return found


def evaluate_one(
    claim: Claim,
    cells: Sequence[CellRecord],
    setting: str,
    min_repeats: int = 1,
    confidence: float = CONFIDENCE,
    base_setting: str | None = None,
) -> ClaimResult:
    result = ClaimResult(**claim.model_dump(), setting=setting, confidence=confidence)
    base_setting = base_setting if base_setting is not None else setting
    by_repeat: dict[int, dict[tuple[str, str], CellRecord]] = {}
    for cell in cells:
        if cell.setting in (setting, base_setting) and cell.summary is not None:
            by_repeat.setdefault(cell.repeat, {})[(cell.setting, cell.variant)] = cell
    mine, theirs = (setting, claim.variant), (base_setting, str(claim.baseline))
    pairs = [
        (r[mine], r[theirs] if claim.baseline else None)
        for r in by_repeat.values()
        if mine in r and (not claim.baseline or theirs in r)
    ]
    if not pairs:
        return result.model_copy(update={"reason": "no measured cells for this claim"})
    at, tag = claim.at_rps, claim.at_tag
    missing = [c.variant for cell, base in pairs for c in (cell, base) if c is not None and c.at(at, tag) is None]
    if missing:
        where = f"at {tag}" if tag else f"{at:g} req/s (its sweep stopped below)"
        return result.model_copy(update={"reason": f"{missing[0]} did not run {where}"})
    try:
        repeats = [_repeat(c, b, claim, at, tag) for c, b in pairs]
    except Unmeasurable as exc:
        return result.model_copy(update={"reason": str(exc)})

    measured: dict[str, Any] = {
        "value": round(statistics.median(r.whole for r in repeats), 4),
        "samples": len(repeats),
        "repeats": len(repeats),
    }
    if len(repeats) >= 2:
        found = interval(repeats, confidence)
        measured |= {
            "low": round(found.low, 4),
            "high": None if math.isinf(found.high) else round(found.high, 4),
            "confidence": round(found.confidence, 6),
            "method": f"{result.model_copy(update={'confidence': found.confidence}).confidence_label} {found.method}",
        }
    low = measured.get("low")
    high = math.inf if measured.get("low") is not None and measured.get("high") is None else measured.get("high")
    flagged = sorted({f for cell, base in pairs for c in (cell, base) if c and (p := c.at(at, tag)) for f in p.flags})
    # A claim about the generator's own schedule is judged on exactly what the flag would hide; one on
    # throughput reads a generator-bound cell as a lower bound of the server's (see _censored); one on
    # the server's own CPU per request holds too: the generator bounds how many requests arrive, not
    # what each costs the server's process.
    bounded_ok = (
        claim.metric.startswith("send_lag")
        or claim.metric in THROUGHPUT
        or _server_cost(claim.metric)
        or _server_peak(claim.metric)
    )
    untrusted = [f for f in flagged if f in UNTRUSTED and not (f == "generator_bound" and bounded_ok)]
    if untrusted:
        reason = f"cells flagged {', '.join(untrusted)}: the numbers describe the lab, not the server"
        return result.model_copy(update={**measured, "reason": reason})
    thin = [
        why
        for cell, base in pairs
        for c, role in ((cell, claim.variant), (base, claim.baseline))
        if c is not None and (p := c.at(at, tag)) is not None and (why := _too_few(p, claim, str(role)))
    ]
    if thin:
        return result.model_copy(update={**measured, "reason": thin[0]})
    censored = _censored(claim, [(c, b) for c, b in pairs], at, tag)
    if low is None or high is None:
        reason = (
            f"{len(repeats)} repeat: an interval needs at least two independent repeats "
            "(the parts of one window are serially correlated)"
        )
        return result.model_copy(update={**measured, "reason": reason})
    if len(repeats) < min_repeats:
        reason = f"{len(repeats)} independent repeats; this profile needs {min_repeats} for a verdict"
        return result.model_copy(update={**measured, "reason": reason})
    if claim.op == "between":
        upper = claim.upper if claim.upper is not None else math.inf
        inside = low >= claim.threshold and high <= upper
        verdict = "pass" if inside else "fail" if high < claim.threshold or low > upper else "inconclusive"
    elif claim.op == ">=":
        verdict = "pass" if low >= claim.threshold else "fail" if high < claim.threshold else "inconclusive"
    else:
        verdict = "pass" if high <= claim.threshold else "fail" if low > claim.threshold else "inconclusive"
    reason = "the interval straddles the threshold" if verdict == "inconclusive" else ""
    if (counted := _refutes_none(claim, repeats)) is not None:
        verdict, reason = "fail", f"{counted:g} counted in one repeat: a single one refutes none"
    if censored and verdict != "inconclusive" and verdict != censored[0]:
        verdict, reason = "inconclusive", censored[1]
    bound = censored[2] if censored else None
    return result.model_copy(update={**measured, "verdict": verdict, "reason": reason, "bound": bound})


def _refutes_none(claim: Claim, repeats: Sequence[Repeat]) -> float | None:
    """The largest count of a claim that there are none of an event (`<= 0`), when a repeat counted any."""
    if claim.baseline is not None or claim.metric not in EVENT_COUNTS or claim.op != "<=" or claim.threshold != 0:
        return None
    most = max(r.whole for r in repeats)
    return most if most > 0 else None


def _at(cell: CellRecord, rate: float | None, tag: str | None) -> CellSummary:
    found = cell.at(rate, tag)
    assert found is not None
    return found


def _censored(
    claim: Claim, pairs: Sequence[tuple[CellRecord, CellRecord | None]], at: float | None, tag: str | None
) -> tuple[str, str, Literal["at_least", "at_most"] | None] | None:
    """A value that is a bound, not a measurement, makes the claim's value a bound too, and then only
    the verdict on the bound's safe side stands: a capacity beyond the sweep's top (`at_least`) or
    below its bottom (`below`), the throughput of a cell whose generator ran out first (the
    server could have served more: a lower bound), and the latency of a closed-loop cell whose
    paced users fell behind (coordinated omission: arrivals it would have sent went unmeasured, so
    the true latency is higher). Returns (the verdict that still stands, why the other does not,
    which bound the claim's value is), or None when nothing is censored."""
    # +1: the value can only be higher than measured; -1: only lower.
    sides: set[int] = set()
    causes: set[str] = set()
    known = metrics.get(claim.metric)
    latency = known is not None and known.is_latency
    for cell, base in pairs:
        for c, sign in ((cell, 1), (base, -1)):
            if c is None:
                continue
            if claim.metric == "capacity" and c.capacity_bound in ("at_least", "below"):
                sides.add(sign if c.capacity_bound == "at_least" else -sign)
                causes.add("a capacity lies beyond the sweep's rates")
            point = c.at(at, tag)
            if claim.metric in THROUGHPUT and point is not None and "generator_bound" in point.flags:
                sides.add(sign)
                causes.add(f"{c.variant}'s generator ran out first (its throughput is a lower bound)")
            if _server_peak(claim.metric) and point is not None and "generator_bound" in point.flags:
                sides.add(sign)
                causes.add(f"{c.variant}'s generator ran out first (the server's peak memory is a lower bound)")
            if latency and point is not None and "coordinated_omission" in point.flags:
                sides.add(sign)
                causes.add(
                    f"{c.variant}'s paced users fell behind their schedule "
                    "(coordinated omission: its latency is a lower bound)"
                )
    if not sides:
        return None
    why = "; ".join(sorted(causes))
    if len(sides) == 2:
        return "inconclusive", f"{BOTH_BOUNDS}: {why}", None
    higher = sides == {1}
    if claim.op == "between":
        return (
            "inconclusive",
            f"{why}: the value is a bound, and a band needs both of its ends",
            ("at_least" if higher else "at_most"),
        )
    stands = ("pass" if claim.op == ">=" else "fail") if higher else ("fail" if claim.op == ">=" else "pass")
    return (
        stands,
        f"{why}: the value is a bound, so only a {stands} can be concluded",
        "at_least" if higher else "at_most",
    )


def declared(rec: RunRecord) -> list[Claim]:
    """The claims a record was judged on, once each (its results repeat them per matrix point)."""
    found = [Claim.model_validate(c.model_dump(include=set(Claim.model_fields))) for c in rec.claims]
    return list({c.model_dump_json(): c for c in found}.values())


def evaluate(
    claims: Sequence[Claim], cells: Sequence[CellRecord], min_repeats: int = 1, confidence: float = CONFIDENCE
) -> list[ClaimResult]:
    points = {c.setting: c.setting_values for c in cells}
    models = {c.load.model for c in cells}
    # A profile that runs some variants only (`variants = [...]`): claims on the others are not judged.
    listed = {v for c in cells for v in c.load.variants}
    return [
        evaluate_one(claim, cells, label, min_repeats, confidence, _elsewhere(values, claim.baseline_at))
        for claim in claims
        if (claim.needs_model is None or claim.needs_model in models)
        and (not listed or all(v in listed for v in (claim.variant, claim.baseline, claim.of) if v))
        for label, values in points.items()
        if all(str(values.get(k)) == str(v) for k, v in claim.where.items())
        and all(k in values for k in claim.baseline_at)  # a run without that dimension skips the claim
    ]


def _elsewhere(values: dict[str, Any], moved: dict[str, Any]) -> str | None:
    """The label of the matrix point `values` with `moved`'s values instead (None: the same point)."""
    if not moved:
        return None
    return ",".join(f"{k}={moved.get(k, v)}" for k, v in values.items())
