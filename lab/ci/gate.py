"""The CI gate: a run against its baseline, with noise taken into account.

A **regression** is
- a claim whose verdict went from `pass` to `fail`;
- a claim whose interval (95 %, or each look's stricter one in a sequential run) now lies wholly on
  the worse side of the baseline's interval moved by the scenario's tolerance (worse = toward
  failing: lower for a `>=` claim, higher for `<=`): both runs' noise is taken into account;
- a claim of the baseline that is no longer judged (vanished), or that is judged but cannot be
  measured now, or has no interval now: a gate that cannot compare must not pass;
- a capacity whose every repeat's range (up to the rate it missed) now lies below the baseline's
  lowest moved by the tolerance (capacities are absolute: gated only when the machine matches);
- an absolute figure (rps, p99) moved past the tolerance the worse way (registry direction),
  only when the scenario opts in (`[ci] gate_absolute = true`) and the machine matches.
Everything else that moved is shown, not gated: a verdict that became inconclusive, a change
inside the tolerance, an improvement. Runs that differ in versions, load or machine are compared
anyway, and the differences are listed first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from lab import metrics
from lab.analysis.capacity import capacities, mark
from lab.ci.baseline import VERSIONS, Baseline, BaselineClaim
from lab.record.models import ClaimResult, RunRecord, Sequential

Kind = Literal["regression", "improvement", "unchanged", "new"]


@dataclass(frozen=True)
class Finding:
    kind: Kind
    what: str  # the claim's text and setting, or `capacity of fix_await`
    base: str  # the baseline's figure, as shown
    now: str
    change: float | None  # now / baseline - 1
    why: str = ""
    claim: ClaimResult | None = None


@dataclass(frozen=True)
class Figure:
    """One variant's absolute figure in a gated run, for benchmark trackers (outputs.py)."""

    group: str  # the variant, at its matrix point
    measure: Literal["capacity", "latency-p99"]  # req/s; ms, over every arrival
    value: float
    low: float | None = None  # the repeats' lowest and highest
    high: float | None = None


def figures(rec: RunRecord) -> list[Figure]:
    """Each variant's capacity at the SLO (sweeps) and p99 over arrivals, with the repeats' range."""
    out = []
    for found in capacities(rec):
        out.append(Figure(found.group, "capacity", found.median, min(found.capacities), max(found.capacities)))
    for group, summary in rec.variants.items():
        p99 = summary.value("arrival_p99")
        if p99 is not None:
            per = [c.summary.value("arrival_p99") for c in rec.ok_cells() if c.group == group and c.summary]
            known = [v for v in per if v is not None]
            out.append(Figure(group, "latency-p99", p99, min(known, default=None), max(known, default=None)))
    return out


@dataclass
class GateResult:
    scenario: str
    baseline_run: str
    run: str
    tolerance: float
    differences: list[str]
    findings: list[Finding] = field(default_factory=list)
    sequential: Sequential | None = None  # how many repeats the run took to decide, and what that saved
    figures: list[Figure] = field(default_factory=list)  # each variant's capacity and p99, for trackers

    @property
    def regressions(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "regression"]

    @property
    def claims_gated(self) -> list[Finding]:
        return [f for f in self.findings if f.claim is not None or f.now == "not judged"]

    @property
    def multiplicity(self) -> str:
        """How many claims were judged at once, and what that means for a false alarm."""
        gated = self.claims_gated
        levels = sorted({f.claim.confidence for f in gated if f.claim is not None}) or [0.95]
        miss = 1 - levels[0]
        return (
            f"{len(gated)} claims gated at once. A regression needs the run's interval wholly past the "
            f"baseline's (each {levels[0]:.2%} or stricter, each missing its side at most {miss / 2:.2%} of the "
            f"time), so an unchanged claim is flagged at most {miss:.0%} of the time and, by Bonferroni, the "
            f"gate at most {min(1.0, len(gated) * miss):.0%}; `make calibrate` measures the actual rate."
        )

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0


def differences(base: Baseline, rec: RunRecord) -> list[str]:
    out = []
    if base.profile != rec.profile:
        out.append(f"profile: {base.profile} -> {rec.profile}")
    if base.scenario_sha256 != rec.scenario_file.sha256:
        out.append("scenario file changed")
    for package in VERSIONS:
        now = rec.environment.version(package)
        if base.versions.get(package) != now:
            out.append(f"{package}: {base.versions.get(package)} -> {now}")
    if not same_machine(base, rec):
        out.append(
            f"machine: {base.cpu_model} ({base.cores} cores) -> {rec.environment.cpu_model} "
            f"({rec.environment.cpus_available} cores)"
        )
    return out


def same_machine(base: Baseline, rec: RunRecord) -> bool:
    return base.cpu_model == rec.environment.cpu_model and base.cores == rec.environment.cpus_available


def _shown(value: float | None, low: float | None = None, high: float | None = None, unit: str = "") -> str:
    if value is None:
        return "not measured"
    spread = "" if low is None else f" ({low:.3g}-{high:.3g})" if high is not None else f" (>={low:.3g})"
    return f"{value:.3g}{unit}{spread}"


def _claim(base: BaselineClaim, now: ClaimResult, tolerance: float) -> Finding:
    unit = "x" if now.baseline else ""
    what = f"{now.text}{f' [{now.setting}]' if now.setting else ''}"
    shown_base = f"{_shown(base.value, base.low, base.high, unit)} {base.verdict}"
    shown_now = f"{_shown(now.value, now.low, now.high, unit)} {now.verdict}"
    change = now.value / base.value - 1 if now.value is not None and base.value else None

    def found(kind: Kind, why: str) -> Finding:
        return Finding(kind, what, shown_base, shown_now, change, why, now)

    if base.verdict == "pass" and now.verdict == "fail":
        return found("regression", "verdict went from pass to fail")
    if now.value is None:
        if base.value is None:
            return found("unchanged", "not measured in the baseline either")
        return found("regression", f"cannot be measured now: {now.reason}")
    if now.low is None:
        return found("regression", f"no interval now, so no comparison: {now.reason}")
    if base.value is None:
        return found("unchanged", "not measured in the baseline")
    # The baseline's own interval, not its point: a change must clear both runs' noise.
    base_low = base.low if base.low is not None else base.value
    base_high = base.high if base.high is not None else math.inf if base.low is not None else base.value
    now_high = now.high if now.high is not None else math.inf
    lower_is_worse = now.op == ">="
    if now.op == "between":  # a band: moving out of the baseline's interval either way is worse
        low_edge, high_edge = base_low * (1 - tolerance), base_high * (1 + tolerance)
        if now_high < low_edge or now.low > high_edge:
            return found(
                "regression",
                f"the whole interval left {low_edge:.3g}-{high_edge:.3g}{unit} (the baseline's, widened by {tolerance:.0%})",
            )
        return found("unchanged", "the intervals overlap within the tolerance")
    if lower_is_worse:
        worse, edge = now_high < base_low * (1 - tolerance), base_low * (1 - tolerance)
        better = now.low > base_high * (1 + tolerance)
    else:
        worse, edge = now.low > base_high * (1 + tolerance), base_high * (1 + tolerance)
        better = now_high < base_low * (1 - tolerance)
    if worse:
        side = "lower end" if lower_is_worse else "upper end"
        why = f"the whole interval moved past {edge:.3g}{unit} (the baseline interval's {side}, {tolerance:.0%} the worse way)"
        return found("regression", why)
    if better:
        return found(
            "improvement", "the whole interval moved past the baseline's, beyond the tolerance, the better way"
        )
    return found("unchanged", "the intervals overlap within the tolerance")


def gate(base: Baseline, rec: RunRecord, tolerance: float, gate_absolute: bool = False) -> GateResult:
    result = GateResult(rec.scenario, base.run_id, rec.run_id, tolerance, differences(base, rec))
    result.sequential, result.figures = rec.sequential, figures(rec)
    now = {(c.text, c.setting): c for c in rec.claims}
    for claim in base.claims:
        current = now.pop(claim.key, None)
        if current is None:
            why = "vanished: no longer judged (removed, reworded, or its matrix point or variant is gone)"
            result.findings.append(Finding("regression", claim.text, claim.verdict, "not judged", None, why))
            continue
        result.findings.append(_claim(claim, current, tolerance))
    for current in now.values():
        result.findings.append(
            Finding("new", current.text, "-", f"{current.value} {current.verdict}", None, claim=current)
        )
    machine = same_machine(base, rec)
    caps = {c.group: c for c in capacities(rec)}
    for variant in base.variants:
        found = caps.get(variant.group)
        if variant.capacity is not None and found is not None:
            # Each repeat's capacity lies between the rate it met and the rate it missed: a regression
            # needs every repeat's upper end under the baseline, an improvement every lower end over it.
            low_now = min(found.capacities)
            high_now = max(math.inf if hi is None else hi for _, hi in found.ranges)
            change = found.median / variant.capacity - 1 if variant.capacity else None
            base_shown = f"{mark((variant.capacity_bound or 'exact').split(','))}{variant.capacity:g} req/s"
            now_shown = f"{found.shown} req/s"
            edge = (variant.capacity_low or variant.capacity) * (1 - tolerance)
            if machine and high_now < edge:
                why = f"every repeat's capacity range under {edge:g} req/s"
                result.findings.append(
                    Finding("regression", f"capacity of {variant.group}", base_shown, now_shown, change, why)
                )
            else:
                kind: Kind = (
                    "improvement"
                    if low_now > (variant.capacity_high or variant.capacity) * (1 + tolerance)
                    else "unchanged"
                )
                why = "" if machine else "another machine: shown, not gated"
                result.findings.append(
                    Finding(kind, f"capacity of {variant.group}", base_shown, now_shown, change, why)
                )
        summary = rec.variants.get(variant.group)
        if summary is None or not gate_absolute:
            continue
        for figure in ("rps", "p99"):
            before, after = getattr(variant, figure), summary.value(figure)
            if before is None or after is None or not before:
                continue
            better = metrics.BY_NAME[figure].better
            worse = after < before * (1 - tolerance) if better == "higher" else after > before * (1 + tolerance)
            kind = "regression" if worse and machine else "unchanged"
            why = "absolute figure, gated (same machine)" if machine else "another machine: shown, not gated"
            result.findings.append(
                Finding(kind, f"{figure} of {variant.group}", f"{before:.4g}", f"{after:.4g}", after / before - 1, why)
            )
    return result
