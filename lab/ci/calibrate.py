"""The gate's false-alarm rate and null mode's pass rate, measured on A/A runs (`make calibrate`).

One null-mode run with many repeats (every variant running the scenario's reference app) is the
pool. A trial takes two disjoint sets of repeats from it (every distinct pair, or a sample of them
without repeats), each as many as the CI profile's sequential rule takes at least, judges the
claims on each as a run of its own, and gates one against the other as head against base:
- a **false alarm** is a trial whose gate finds a regression (nothing changed: the same code ran);
- a **null pass** is a discriminating claim (a ratio whose sides are now the same code, not a
  parity) judged `pass` on a set.
Each rate comes with its Wilson interval and its number of trials. Trials resample one pool, so
they share repeats and are not independent: the interval is as narrow as if they were, which
overstates what a pool of a few repeats can show, and the figure to read beside it is how many
distinct repeats the pool holds. Whether a resampled pair behaves like two fresh CI runs is not
shown here (a fresh run also differs in its machine state between runs).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from lab.analysis.claims import declared, evaluate
from lab.analysis.intervals import wilson
from lab.analysis.repeats import aggregate
from lab.ci import baseline
from lab.ci.gate import gate
from lab.record.models import CellRecord, ClaimResult, RunRecord


@dataclass(frozen=True)
class Rate:
    events: int
    trials: int
    low: float
    high: float

    @classmethod
    def of(cls, events: int, trials: int, confidence: float = 0.95) -> Rate:
        low, high = wilson(events, trials, confidence)
        return cls(events, trials, round(low, 4), round(high, 4))

    def text(self) -> str:
        share = self.events / self.trials if self.trials else 0.0
        return f"{share:.1%} ({self.events} of {self.trials}; 95 % Wilson {self.low:.1%}-{self.high:.1%})"


@dataclass(frozen=True)
class Calibration:
    scenario: str
    run_id: str
    pool_repeats: int
    repeats_per_run: int
    tolerance: float
    false_alarms: Rate  # trials whose gate found a regression
    null_passes: Rate  # discriminating claims judged pass, over claims x sets
    alarms_by_finding: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def text(self) -> str:
        worst = ", ".join(f"{k} ({n})" for k, n in sorted(self.alarms_by_finding.items(), key=lambda kv: -kv[1])[:3])
        return (
            f"{self.scenario} (null run {self.run_id}: {self.pool_repeats} repeats of the reference app; "
            f"each trial gates {self.repeats_per_run} of them against {self.repeats_per_run} others, "
            f"tolerance {self.tolerance:.0%})\n"
            f"  gate false alarms: {self.false_alarms.text()}\n"
            f"  null-mode passes of discriminating claims: {self.null_passes.text()}"
            + (f"\n  what alarmed: {worst}" if worst else "")
        )


def _subset(rec: RunRecord, cells: Sequence[CellRecord], repeats: Sequence[int]) -> RunRecord:
    """The run as if only these repeats had run (renumbered 1..k), its claims judged on them."""
    renumber = {r: i + 1 for i, r in enumerate(repeats)}
    kept = [
        c.model_copy(update={"repeat": renumber[c.repeat], "id": f"r{renumber[c.repeat]}-{c.variant}"})
        for c in cells
        if c.repeat in renumber
    ]
    claims = evaluate(declared(rec), kept, min(rec.load.min_repeats, len(repeats)))
    return rec.model_copy(update={"cells": kept, "claims": claims, "variants": aggregate(kept), "sequential": None})


def discriminating(claim: ClaimResult) -> bool:
    """A claim that A/A must not pass: a ratio between two variants now running the same code."""
    return claim.baseline is not None and not claim.parity


def calibrate(rec: RunRecord, per_run: int, trials: int, tolerance: float, seed: int = 0) -> Calibration:
    if not rec.null_mode:
        raise ValueError(f"{rec.scenario} run {rec.run_id} is not a null-mode run")
    cells = rec.ok_cells()
    pool = sorted({c.repeat for c in cells})
    if len(pool) < 2 * per_run:
        raise ValueError(f"{len(pool)} repeats in the pool; two disjoint sets of {per_run} need {2 * per_run}")
    # Every distinct (base, head) pair of disjoint sets, or a sample of them without repeats.
    splits = [
        (base, head)
        for base in itertools.combinations(pool, per_run)
        for head in itertools.combinations([r for r in pool if r not in base], per_run)
    ]
    if len(splits) > trials:
        splits = random.Random(seed).sample(splits, trials)
    alarms, passes, judged = 0, 0, 0
    by_finding: dict[str, int] = {}
    for base_repeats, head_repeats in splits:
        base = _subset(rec, cells, list(base_repeats))
        head = _subset(rec, cells, list(head_repeats))
        found = gate(baseline.from_run(base), head, tolerance)
        if found.regressions:
            alarms += 1
            for finding in found.regressions:
                by_finding[finding.what] = by_finding.get(finding.what, 0) + 1
        for run in (base, head):
            for claim in run.claims:
                if discriminating(claim):
                    judged += 1
                    passes += claim.verdict == "pass"
    return Calibration(
        rec.scenario,
        rec.run_id,
        len(pool),
        per_run,
        tolerance,
        Rate.of(alarms, len(splits)),
        Rate.of(passes, judged),
        by_finding,
    )
