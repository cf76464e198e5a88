"""The queue model as a check: at each offered rate, the measured percentiles of the queue's request
set against the queue model fed the same arrivals and request names (lab/analysis/sweep.py: predict).

Each repeat gives one ratio per percentile (measured over every arrival / the model's); the ratio's
interval is Student's t across repeats (lab/analysis/intervals.py). Where the model's utilisation is
at most RHO_LIMIT, a gap wider than GAP is a finding to explain: the pitfall is then not (only) the
queue the scenario names. Past RHO_LIMIT a step's percentiles are dominated by the few bursts of its
window and both sides swing with them, so the gap is shown and not called.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median
from typing import Literal

from lab.analysis.intervals import Interval, t_interval
from lab.record.models import RunRecord

GAP = 0.15
RHO_LIMIT = 0.9
CONFIDENCE = 0.95
KEYS = ("p50", "p90", "p99")

Status = Literal["within", "gap", "unclear", "past rho 0.9", "one repeat", "no value"]


@dataclass(frozen=True)
class Gap:
    """One percentile at one rate: measured / model, over the repeats."""

    measured: float | None  # median over repeats (ms)
    predicted: float | None  # median over repeats (ms)
    ratio: float | None  # median of the repeats' ratios
    interval: Interval | None  # None with one repeat, or a ratio that is not finite
    status: Status

    def shown(self) -> str:
        if self.ratio is None:
            return "-"
        pct = f"{(self.ratio - 1) * 100:+.0f}%"
        if self.interval is None:
            return pct
        return f"{pct} ({(self.interval.low - 1) * 100:+.0f}..{(self.interval.high - 1) * 100:+.0f})"


@dataclass(frozen=True)
class Row:
    group: str
    rate: float
    load: float | None  # the model's utilisation (rho), median over repeats
    repeats: int
    gaps: dict[str, Gap]
    fifo: dict[str, Gap]  # a model with another discipline: FIFO's gaps beside it (empty otherwise)


def rows(rec: RunRecord) -> list[Row]:
    """Per group and listed rate (bisection steps differ between repeats and are left out): the gaps."""
    Pairs = dict[str, tuple[float, float]]  # per percentile: (measured / model, model ms)
    steps: dict[tuple[str, float], list[tuple[float | None, Pairs, Pairs]]] = {}
    for cell in rec.ok_cells():
        for point in cell.points:
            rate = point.target_rps
            if point.tag or rate is None or not point.predicted_ms or rate not in cell.load.planned_rates():
                continue
            pairs: Pairs = {}
            fifo: Pairs = {}
            for k in KEYS:
                ratio, model = point.metrics.get(f"queue_ratio_{k}"), point.predicted_ms.get(k)
                if ratio is None or not model:
                    continue
                pairs[k] = (float(ratio), float(model))
                other = point.predicted_ms.get(f"fifo_{k}")
                if other:
                    fifo[k] = (float(ratio) * float(model) / float(other), float(other))
            steps.setdefault((cell.group, rate), []).append((point.queue_load, pairs, fifo))
    order = {group: i for i, group in enumerate(rec.variants)}
    out = []
    for (group, rate), found in sorted(steps.items(), key=lambda kv: (order.get(kv[0][0], 0), kv[0][1])):
        loads = [load for load, _, _ in found if load is not None]
        load = median(loads) if loads else None
        gaps = {key: _gap([p[key] for _, p, _ in found if key in p], load) for key in KEYS}
        beside = {
            key: _gap([f[key] for _, _, f in found if key in f], load)
            for key in KEYS
            if any(key in f for _, _, f in found)
        }
        out.append(Row(group, rate, load, len(found), gaps, beside))
    return out


def _gap(pairs: list[tuple[float, float]], load: float | None) -> Gap:
    if not pairs:
        return Gap(None, None, None, None, "no value")
    ratios = [r for r, _ in pairs]
    measured = median(r * model for r, model in pairs) if all(math.isfinite(r) for r in ratios) else math.inf
    predicted = median(model for _, model in pairs)
    ratio = median(ratios)
    finite = all(math.isfinite(r) and r > 0 for r in ratios)
    interval = t_interval(ratios, CONFIDENCE) if len(ratios) >= 2 and finite else None
    status: Status
    if load is not None and load > RHO_LIMIT:
        status = "past rho 0.9"
    elif interval is None:
        status = "one repeat" if len(ratios) < 2 else "unclear"
    elif interval.low >= 1 - GAP and interval.high <= 1 + GAP:
        status = "within"
    elif interval.low > 1 + GAP or interval.high < 1 - GAP:
        status = "gap"
    else:
        status = "unclear"
    return Gap(measured, predicted, ratio, interval, status)


def findings(found: list[Row], fifo: bool = False) -> list[str]:
    """One line per percentile whose gap is wider than GAP at a utilisation up to RHO_LIMIT: against
    the scenario's model, or (`fifo`) against FIFO beside it."""
    model = "FIFO" if fifo else "model"
    return [
        f"{row.group} at {row.rate:g} req/s (rho {row.load:.2f}): {key} measured {gap.measured:.1f} ms, {model} "
        f"{gap.predicted:.1f} ms ({gap.shown()})"
        for row in found
        for key, gap in (row.fifo if fifo else row.gaps).items()
        if gap.status == "gap" and row.load is not None and gap.measured is not None and gap.predicted is not None
    ]


def verdict(row: Row, gaps: dict[str, Gap] | None = None) -> str:
    """The row's reading in a few words: which percentiles are beyond GAP, or whether all are within."""
    statuses = {key: gap.status for key, gap in (row.gaps if gaps is None else gaps).items()}
    beyond = [key for key, status in statuses.items() if status == "gap"]
    if beyond:
        return f"gap at {', '.join(beyond)}"
    if all(status == "within" for status in statuses.values()):
        return f"within {GAP:.0%}"
    shown = sorted(set(statuses.values()))
    return "past rho 0.9" if shown == ["past rho 0.9"] else ", ".join(shown)


def describe(rec: RunRecord) -> str:
    """What the check compares, in one sentence."""
    model = rec.queue
    if model is None:
        return ""
    read = model.reads or "every request"
    return (
        f"measured / a {model.discipline} queue with {model.servers} server(s) fed each step's own arrivals and "
        f"request names ({read}, every arrival); a gap over {GAP:.0%} up to rho {RHO_LIMIT:g} is a finding"
    )
