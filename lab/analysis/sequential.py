"""Deciding fast: a run stops adding repeats once every claim is decided (CI's sequential rule).

After each complete repeat from `min_repeats` on (a *look*), every claim is judged as usual but with
a stricter interval: confidence 1 - alpha/K, where K = max_repeats - min_repeats + 1 is the number
of looks the run may take. The run stops at the first look where every claim is `pass` or `fail`;
at `max_repeats` it stops anyway and what is still undecided stays `inconclusive`.

Why alpha/K. A verdict is wrong only when an interval lies wholly on the wrong side of the true
value. Each look's interval misses on a given side with probability at most alpha/K, so the chance
that any of the K looks does is at most alpha (Bonferroni's bound, the simplest rule for repeated
confidence intervals; conservative, since consecutive looks share their data). A claim's chance of
a wrong verdict therefore stays within the fixed-size run's 5 % however early the run stops: the
t-interval across repeats has its stated coverage at any confidence (lab/analysis/intervals.py,
checked by simulation in tests/test_intervals.py).
The price of looking often is width: each look's interval is a little wider than a single 95 %
interval, so a close call runs to `max_repeats` and may stay inconclusive there.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from lab.analysis.claims import BOTH_BOUNDS, evaluate
from lab.record.models import CellRecord, ClaimResult
from lab.scenario.models import CiSettings, Claim
from lab.scenario.plan import Cell

ALPHA = 0.05


@dataclass(frozen=True)
class Rule:
    min_repeats: int
    max_repeats: int
    alpha: float = ALPHA

    def __post_init__(self) -> None:
        if not 1 <= self.min_repeats <= self.max_repeats:
            raise ValueError(f"need 1 <= min_repeats <= max_repeats, got {self.min_repeats} and {self.max_repeats}")

    @property
    def looks(self) -> int:
        return self.max_repeats - self.min_repeats + 1

    @property
    def confidence(self) -> float:
        return 1 - self.alpha / self.looks

    @classmethod
    def of(cls, ci: CiSettings) -> Rule:
        """The rule a scenario's [ci] table asks for."""
        return cls(ci.min_repeats, ci.max_repeats)

    def looks_after(self, repeat: int) -> bool:
        return self.min_repeats <= repeat <= self.max_repeats


def undecided(results: Sequence[ClaimResult]) -> list[ClaimResult]:
    """Claims more repeats could still decide (not one whose sides are both bounds: BOTH_BOUNDS)."""
    return [r for r in results if r.verdict not in ("pass", "fail") and not r.reason.startswith(BOTH_BOUNDS)]


def decided(results: Sequence[ClaimResult]) -> bool:
    """Every claim has a verdict (a run without claims has nothing to decide early)."""
    return bool(results) and not undecided(results)


def saved_s(done: Sequence[CellRecord], skipped: Sequence[Cell]) -> float:
    """Wall time the skipped cells would have taken: each at the median of its group's measured cells
    (the run's median cell when its group has none)."""
    walls: dict[str, list[float]] = {}
    for cell in done:
        if cell.wall_s:
            walls.setdefault(cell.group, []).append(cell.wall_s)
    every = [w for ws in walls.values() for w in ws]
    if not every:
        return 0.0
    fallback = statistics.median(every)
    return round(sum(statistics.median(walls.get(c.group, [fallback])) for c in skipped), 1)


def judge(claims: Sequence[Claim], cells: Sequence[CellRecord], rule: Rule) -> list[ClaimResult]:
    """One look: the claims judged on the cells measured so far, at the look's confidence."""

    return evaluate(claims, cells, rule.min_repeats, rule.confidence)


def replay(claims: Sequence[Claim], cells: Sequence[CellRecord], rule: Rule) -> tuple[int, list[ClaimResult]]:
    """The repeat a recorded run would have stopped after under the rule, and the verdicts there."""
    repeats = sorted({c.repeat for c in cells if c.repeat <= rule.max_repeats})
    judged: list[ClaimResult] = []
    for repeat in repeats:
        if not rule.looks_after(repeat):
            continue
        judged = judge(claims, [c for c in cells if c.repeat <= repeat], rule)
        if decided(judged):
            return repeat, judged
    return (repeats[-1] if repeats else 0), judged
