"""Open-model sweeps: which rate to run next, what a step's outcome is, the capacity, and the queue
model's prediction beside each step.

A sweep runs on one server process, one Locust run per rate. Each step starts with its own
warm-up (`warmup_s` for the first, `settle_s` after), and the previous step drained its answers
(up to `drain_s`) before it ended, so a step starts from the server's steady state at the new rate
rather than from the previous step's backlog.

Order: the planned rates ascending (`rates`, or `search` growing geometrically), stopping after
two steps in a row miss the SLO (one, for a search), or at the first step whose numbers describe
the generator rather than the server; then `bisect` halvings between the highest rate that met
the SLO and the lowest that missed it above it. Capacity is the highest rate that met the SLO
below every rate that missed it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from lab.analysis import queue
from lab.analysis.decision import Tally, decide
from lab.record import raw
from lab.record.models import UNTRUSTED, CellSummary
from lab.scenario.models import LoadProfile, Slo

# `undecided`: its binomial bound still straddles the SLO's allowed share (lab/analysis/decision.py).
Outcome = Literal["meets", "misses", "untrusted", "undecided"]
# How a capacity relates to the truth: `exact` (between a met and a missed rate), `at_least` (no
# rate missed, or the generator ran out first), `below` (even the lowest rate missed).
Bound = Literal["exact", "at_least", "below"]


@dataclass(frozen=True)
class Step:
    rate: float
    outcome: Outcome


def outcome(
    summary: CellSummary, slo: Slo, tallies: Mapping[str, Tally] | None = None, confidence: float = 0.95
) -> tuple[Outcome, list[str]]:
    """A step's outcome. With `tallies` (its arrivals, and how many were not answered OK within
    each bound), the latency bounds are decided by a binomial bound; without, by the percentiles'
    point values (a record from before the decision). The error rate and goodput are point checks."""
    if any(f in UNTRUSTED for f in summary.flags):
        return "untrusted", [f"flagged {', '.join(f for f in summary.flags if f in UNTRUSTED)}"]
    # Judged on every arrival (a failure, a drop or an unsent one counted as never answered), as an
    # SLO is defined; a record from before arrival percentiles has answered ones only.
    latency = summary.arrival_latency_ms or summary.latency_ms
    others = slo.misses(latency, summary.error_rate, achieved_share(summary), latency=tallies is None)
    if tallies is None or others:
        return ("misses" if others else "meets"), others
    return decide(tallies, slo, confidence)


def achieved_share(summary: CellSummary) -> float | None:
    """Goodput (completions in the window) over the offered rate, allowing for the window's edges:
    arrivals at the end of the window complete just after it, those at the start of the next. Their
    count is a few requests at most in a steady state (rate x latency at each edge, Poisson), which
    on a short, slow step is several percent (measured: 29 completions for 31 arrivals at 10 req/s
    in 3 s, two of them scheduled in the last 25 ms). A backlog is far beyond that allowance."""
    offered = summary.offered_rps or summary.target_rps
    if summary.rps is None or not offered:
        return None
    arrivals = offered * summary.window_s
    p50_s = (summary.latency_ms.get("p50") or 0.0) / 1000.0
    edges = 1.0 + 3.0 * math.sqrt(2.0 * offered * p50_s)
    return min(1.0, (summary.rps * summary.window_s + edges) / arrivals) if arrivals > 0 else None


def next_rate(load: LoadProfile, done: Sequence[Step]) -> float | None:
    planned = load.planned_rates()
    if not load.sweep:
        return planned[0] if not done else None
    in_row = 1 if load.search else load.misses_to_stop
    ran_planned = [s for s in done if s.rate in planned]
    stopped = any(s.outcome == "untrusted" for s in done) or (
        len(ran_planned) >= in_row and all(s.outcome == "misses" for s in ran_planned[-in_row:])
    )
    if not stopped and len(ran_planned) < len(planned):
        return planned[len(ran_planned)]
    if len(done) - len(ran_planned) >= load.bisect or any(s.outcome == "untrusted" for s in done):
        return None
    lo, hi = bracket(done)
    if hi is None:
        return None
    mid = float(f"{(lo + hi) / 2:.3g}")
    return None if mid in {s.rate for s in done} or mid <= lo else mid


def bracket(done: Sequence[Step]) -> tuple[float, float | None]:
    """The highest rate decided to meet the SLO below every miss, and the lowest decided miss above
    it (an undecided step is neither)."""
    misses = sorted(s.rate for s in done if s.outcome == "misses")
    meets = sorted(s.rate for s in done if s.outcome == "meets" and (not misses or s.rate < misses[0]))
    lo = meets[-1] if meets else 0.0
    above = [m for m in misses if m > lo]
    return lo, (above[0] if above else None)


def capacity(done: Sequence[Step]) -> tuple[float | None, Bound | None]:
    if not done:
        return None, None
    lo, hi = bracket(done)
    if lo == 0.0:
        # No rate decided to meet: the capacity lies below the lowest decided miss (if any).
        return (hi, "below") if hi is not None else (None, None)
    return lo, ("exact" if hi is not None else "at_least")


def service_pool(requests: pd.DataFrame) -> dict[str, np.ndarray]:
    """Service times (s) by request name: the queue model's input, from the sweep's lowest rate.

    Only requests that had the server to themselves count (none other in flight from their send to
    their answer): at any rate, some arrivals still meet a busy server, and their time from send
    includes that queueing, which the model must add itself, not be fed."""
    ok = requests[requests["sent"].notna()].sort_values("sent")
    sent, done = ok["sent"].to_numpy(float), ok["t"].to_numpy(float)
    before = np.maximum.accumulate(np.concatenate([[-np.inf], done[:-1]]))  # latest answer of earlier sends
    after = np.concatenate([sent[1:], [np.inf]])  # the next send
    alone = ok[(before <= sent) & (done <= after) & (ok["ok"] == 1).to_numpy()]
    return {str(name): part["response_ms"].to_numpy(float) / 1000.0 for name, part in alone.groupby("name")}


def predict(
    requests: pd.DataFrame,
    pool: dict[str, np.ndarray],
    servers: int,
    start: float,
    end: float,
    seed: int = 0,
    discipline: str = "fifo",
    request: str = "",
    read: str = "",
    round_trip_s: float = 0.0,
) -> dict[str, float | None]:
    """Latency percentiles (ms) a queue with `servers` servers would give the requests of one step:
    the step's own arrival times (warm-up included, so the queue starts as the server's did), each
    with a service time drawn from the pool of its request name. `request`: only that name goes
    through the queue; `read`: the percentiles are of that name's arrivals (every name queued still
    takes its turn). `round_trip_s`: the time of each answer spent outside the server, taken out of
    its service time (the server's occupancy) and added back to its latency. Also `load`: the offered
    work per server over the window (utilisation, rho)."""
    everything = np.concatenate(list(pool.values())) if pool else np.array([])
    rows = requests[requests["sched"].notna() & ~requests["name"].isin(raw.NOT_REQUESTS)].sort_values("sched")
    if request:
        rows = rows[rows["name"] == request]
    if rows.empty or everything.size == 0:
        return {}
    rng = np.random.default_rng(seed)
    drawn = np.array([float(rng.choice(pool.get(str(name), everything))) for name in rows["name"]])
    services = np.maximum(drawn - round_trip_s, 0.0)
    queued = np.array(queue.queue_latency(rows["sched"].tolist(), services.tolist(), servers, discipline, seed))
    latency = (queued + (drawn - services)) * 1000.0
    window = ((rows["sched"] >= start) & (rows["sched"] < end)).to_numpy()
    inside = latency[window & (rows["name"] == read).to_numpy()] if read else latency[window]
    if inside.size == 0:
        return {}
    out: dict[str, float | None] = {
        k: round(float(np.quantile(inside, q)), 3) for k, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
    }
    out["load"] = round(float(services[window].sum()) / ((end - start) * servers), 4) if end > start else None
    return out
