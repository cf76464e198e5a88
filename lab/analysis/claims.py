"""Claims, evaluated against a run's cells, never by calling back into the runner.

A claim's value is the ratio (or the plain value) over the whole measured window, the median
across repeats. Its interval is a 95 % bootstrap interval of that median: repeats are resampled
with replacement and, within each, the thirds of its window when every third holds enough
samples (a repeat's value is then the mean of its resampled thirds). Cell-level metrics (CPU,
database counts) and plain counts resample repeats only.

The verdict is `pass` only when the whole interval clears the threshold, `fail` only when the
whole interval misses it, and `inconclusive` otherwise, and also when a value it needs was not
measured, when a percentile rests on too few samples (fewer than 10 above it), when fewer
independent repeats than the profile's `min_repeats` were measured, or when a cell's numbers
describe the lab rather than the server (flags). Noise never flips a coin for us.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from lab import metrics
from lab.record.models import UNTRUSTED, CellRecord, CellSummary, ClaimResult, RunRecord, Traffic
from lab.scenario.models import Claim

# A third of the window holds a third of the requests: counts compare across segments only as ratios.
COUNTS = {"requests", "failures"}
# Shares of requests: a third's share weighs as much as any other third in the resampling, whatever
# its request count, so a stalled third (few answers, most failing) would pull the interval away
# from the window's own share (measured: session-leak's 0.30 outside its per-third 0.35-0.97).
# Judged on whole repeats.
SHARES = {"error_rate"}
RESAMPLES = 2000
CONFIDENCE = 0.95
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
    q = metrics.PERCENTILES.get(metric.removeprefix("service_").removeprefix("send_lag_"))
    return math.ceil(ABOVE_PERCENTILE / (1 - q) - 1e-9) if q is not None else 0


@dataclass(frozen=True)
class Repeat:
    """One repeat's evidence: its whole-window value, and its segments' values if they can be used."""

    whole: float
    segments: list[float]


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
    if need and part is not None and _successes(part) < need:
        return (
            f"too few samples for {claim.metric} of {claim.request}: {_successes(part)} successful requests "
            f"in a repeat of {role}, {need} needed ({ABOVE_PERCENTILE} above the percentile)"
        )
    return None


def _ratio(a: float, b: float, claim: Claim) -> float:
    if b == 0:
        raise Unmeasurable(f"{claim.metric} of the baseline {claim.baseline!r} is zero")
    return a / b


def _counter_segments(cell: CellSummary, base: CellSummary | None, claim: Claim, known: metrics.Metric) -> list[float]:
    """Per-third values of a counter: rates always, counts only as ratios (a third holds a third)."""
    if known.reduce not in ("per_request", "delta") or (known.reduce == "delta" and base is None):
        return []
    mine = cell.segment_values(claim.metric)
    theirs = base.segment_values(claim.metric) if base else [1.0] * len(mine)
    if not mine or len(mine) != len(theirs) or any(v is None for v in [*mine, *theirs]):
        return []
    pairs = [(float(a), float(b)) for a, b in zip(mine, theirs, strict=True) if a is not None and b is not None]
    return [] if any(b == 0 for _, b in pairs) else [a / b for a, b in pairs]


def _segments(cell: CellSummary, base: CellSummary | None, claim: Claim) -> list[float]:
    """Per-third values, or none when the claim is not judged per third or a third is too thin."""
    known = metrics.BY_NAME.get(claim.metric)
    if not claim.segments or known is None or claim.metric in SHARES:
        return []
    if known.scope == "cell":
        return _counter_segments(cell, base, claim, known)
    if base is None and claim.metric in COUNTS:
        return []
    need = min_samples(claim.metric)
    mine = cell.segments.get(claim.request, [])
    theirs = base.segments.get(claim.request, []) if base else mine
    if not mine or len(mine) != len(theirs) or any(_successes(s) < need for s in [*mine, *theirs]):
        return []
    out = []
    for a, b in zip(mine, theirs, strict=True):
        va, vb = a.value(claim.metric), b.value(claim.metric)
        if va is None or vb is None:
            return []
        if base is None:
            out.append(va)
        elif vb != 0:
            out.append(va / vb)
        else:
            return []
    return out


def _repeat(cell: CellSummary, base: CellSummary | None, claim: Claim) -> Repeat:
    mine = _value(cell, claim, claim.variant)
    whole = mine if base is None else _ratio(mine, _value(base, claim, str(claim.baseline)), claim)
    return Repeat(whole, _segments(cell, base, claim))


def interval(repeats: Sequence[Repeat], seed: int = 0, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Bootstrap interval (95 % unless told) of the median over repeats (two-level when segments are there)."""
    rng = np.random.default_rng(seed)
    n = len(repeats)
    stats = np.empty(RESAMPLES)
    for i in range(RESAMPLES):
        picked = [repeats[j] for j in rng.integers(0, n, n)]
        values = [float(np.mean(rng.choice(r.segments, len(r.segments)))) if r.segments else r.whole for r in picked]
        stats[i] = float(np.median(values))
    tail = (1 - confidence) / 2 * 100
    return float(np.percentile(stats, tail)), float(np.percentile(stats, 100 - tail))


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
        repeats = [_repeat(_at(c, at, tag), _at(b, at, tag) if b else None, claim) for c, b in pairs]
    except Unmeasurable as exc:
        return result.model_copy(update={"reason": str(exc)})

    low, high = interval(repeats, confidence=confidence)
    per = f" x {len(repeats[0].segments)} thirds" if all(r.segments for r in repeats) else ""
    measured = {
        "value": round(statistics.median(r.whole for r in repeats), 4),
        "low": round(low, 4),
        "high": round(high, 4),
        "samples": sum(len(r.segments) or 1 for r in repeats),
        "repeats": len(repeats),
        "method": f"{result.confidence_label} bootstrap interval of the median, {len(repeats)} repeats{per}",
    }
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
    if len(repeats) < min_repeats:
        reason = f"{len(repeats)} independent repeats; this profile needs {min_repeats} for a verdict"
        return result.model_copy(update={**measured, "reason": reason})
    if claim.op == ">=":
        verdict = "pass" if low >= claim.threshold else "fail" if high < claim.threshold else "inconclusive"
    else:
        verdict = "pass" if high <= claim.threshold else "fail" if low > claim.threshold else "inconclusive"
    reason = "the interval straddles the threshold" if verdict == "inconclusive" else ""
    if censored and verdict != "inconclusive" and verdict != censored[0]:
        verdict, reason = "inconclusive", censored[1]
    bound = censored[2] if censored else None
    return result.model_copy(update={**measured, "verdict": verdict, "reason": reason, "bound": bound})


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
        return "inconclusive", f"bounds on both sides of the ratio: {why}", None
    higher = sides == {1}
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
    return [
        evaluate_one(claim, cells, label, min_repeats, confidence, _elsewhere(values, claim.baseline_at))
        for claim in claims
        if claim.needs_model is None or claim.needs_model in models
        for label, values in points.items()
        if all(str(values.get(k)) == str(v) for k, v in claim.where.items())
        and all(k in values for k in claim.baseline_at)  # a run without that dimension skips the claim
    ]


def _elsewhere(values: dict[str, Any], moved: dict[str, Any]) -> str | None:
    """The label of the matrix point `values` with `moved`'s values instead (None: the same point)."""
    if not moved:
        return None
    return ",".join(f"{k}={moved.get(k, v)}" for k, v in values.items())
