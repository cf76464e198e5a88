"""A sweep step's SLO decision from its arrivals so far: meets, misses, or not yet decided.

An SLO such as p99_ms = 100 holds when at most 1 % of arrivals were not answered OK within 100 ms.
Each arrival is one Bernoulli trial: good (answered OK within the bound) or not (answered late,
failed, dropped, never sent, or still unanswered once the bound has passed). The step's share of
not-good arrivals is bounded with Wilson's score interval, one-sided at `confidence` on each side:
- its upper bound under the allowed share for every bound of the SLO: the step meets it;
- its lower bound over the allowed share for any bound: the step misses it;
- otherwise it is undecided, and the step runs on (up to the profile's `max_duration_s`).

What it takes: with no bad arrival at all, 95 % one-sided needs about 270 arrivals to show a share
under 1 %, so a p99 step at 10 req/s needs 27 s, at 100 req/s under 3 s; a step far past its knee
misses within a second. An arrival counts only once its bound has passed (an arrival scheduled
less than 100 ms ago may still be answered in time), so nothing is judged on answers still due.

Caveat, stated where it is used: arrivals near a queue's knee are not independent (delays come in
bursts), so the bound is optimistic there; the minimum window (`duration_s`) spans several bursts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from lab import metrics
from lab.analysis.intervals import score_bounds
from lab.scenario.models import Slo

Decision = Literal["meets", "misses", "undecided"]


@dataclass(frozen=True)
class Tally:
    """Arrivals of a step whose bound has passed, and how many of them were not good."""

    arrivals: int
    bad: int


def one_sided(bad: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson's score bounds on bad / n, each one-sided at `confidence`."""
    return score_bounds(bad, n, NormalDist().inv_cdf(confidence))


def bounds_ms(slo: Slo) -> dict[str, float]:
    """The SLO's latency bounds by percentile name: {"p99": 100.0}."""
    found = {"p50": slo.p50_ms, "p90": slo.p90_ms, "p99": slo.p99_ms}
    return {k: v for k, v in found.items() if v is not None}


def allowed(percentile: str) -> float:
    """The share of arrivals a percentile bound lets be slower: 1 % for p99."""
    return 1.0 - metrics.PERCENTILES[percentile]


def decide(tallies: Mapping[str, Tally], slo: Slo, confidence: float) -> tuple[Decision, list[str]]:
    """The step's decision, and one line per bound saying why (`p99: 3 of 412 late, 0.3-2.0 %`)."""
    lines: list[str] = []
    meets = True
    for name, bound in bounds_ms(slo).items():
        tally = tallies.get(name, Tally(0, 0))
        low, high = one_sided(tally.bad, tally.arrivals, confidence)
        share = allowed(name)
        lines.append(
            f"{name}: {tally.bad} of {tally.arrivals} arrivals not answered OK within {bound:g} ms "
            f"({low:.1%}-{high:.1%}, {confidence:.0%} one-sided each; {share:.0%} allowed)"
        )
        if low > share:
            return "misses", lines
        meets = meets and high < share
    return ("meets" if meets else "undecided"), lines


def needed(percentile: str, confidence: float) -> int:
    """Arrivals a step needs, none of them bad, before it can be decided to meet this bound."""
    share = allowed(percentile)
    n = 1
    while one_sided(0, n, confidence)[1] >= share:
        n = math.ceil(n * 1.1) + 1
    return n
