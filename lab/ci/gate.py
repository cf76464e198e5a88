"""The CI gate: a run against its baseline, with noise taken into account.

A **regression** is
- a claim whose verdict went from `pass` to `fail`;
- a claim whose interval (95 %, or each look's stricter one in a sequential run) now lies wholly on the worse side of the baseline's value moved by
  the scenario's tolerance (worse = toward failing: lower for a `>=` claim, higher for `<=`);
- a capacity whose highest repeat now lies below the baseline's lowest moved by the tolerance
  (capacities are absolute: gated only when the machine matches the baseline's);
- an absolute figure (rps, p99) moved past the tolerance the worse way (registry direction),
  only when the scenario opts in (`[ci] gate_absolute = true`) and the machine matches.
Everything else that moved is shown, not gated: a verdict that became inconclusive, a change
inside the tolerance, an improvement. Runs that differ in versions, load or machine are compared
anyway, and the differences are listed first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lab import metrics
from lab.analysis.capacity import capacities, mark
from lab.ci.baseline import VERSIONS, Baseline, BaselineClaim
from lab.record.models import ClaimResult, RunRecord, Sequential

Kind = Literal["regression", "improvement", "unchanged", "new", "missing"]


@dataclass(frozen=True)
class Finding:
    kind: Kind
    what: str  # the claim's text and setting, or `capacity of fix_await`
    base: str  # the baseline's figure, as shown
    now: str
    change: float | None  # now / baseline - 1
    why: str = ""
    claim: ClaimResult | None = None


@dataclass
class GateResult:
    scenario: str
    baseline_run: str
    run: str
    tolerance: float
    differences: list[str]
    findings: list[Finding] = field(default_factory=list)
    sequential: Sequential | None = None  # how many repeats the run took to decide, and what that saved

    @property
    def regressions(self) -> list[Finding]:
        return [f for f in self.findings if f.kind == "regression"]

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
    spread = f" ({low:.3g}-{high:.3g})" if low is not None and high is not None else ""
    return f"{value:.3g}{unit}{spread}"


def _claim(base: BaselineClaim, now: ClaimResult, tolerance: float) -> Finding:
    unit = "x" if now.baseline else ""
    what = f"{now.text}{f' [{now.setting}]' if now.setting else ''}"
    shown_base = f"{_shown(base.value, base.low, base.high, unit)} {base.verdict}"
    shown_now = f"{_shown(now.value, now.low, now.high, unit)} {now.verdict}"
    change = now.value / base.value - 1 if now.value is not None and base.value else None
    if base.verdict == "pass" and now.verdict == "fail":
        return Finding("regression", what, shown_base, shown_now, change, "verdict went from pass to fail", now)
    if base.value is None or now.value is None or now.low is None or now.high is None:
        return Finding("unchanged", what, shown_base, shown_now, change, "not measured on one side", now)
    lower_is_worse = now.op == ">="
    worse_edge = base.value * (1 - tolerance) if lower_is_worse else base.value * (1 + tolerance)
    better_edge = base.value * (1 + tolerance) if lower_is_worse else base.value * (1 - tolerance)
    if (now.high < worse_edge) if lower_is_worse else (now.low > worse_edge):
        why = f"the whole interval moved past {worse_edge:.3g}{unit} (baseline {tolerance:.0%} the worse way)"
        return Finding("regression", what, shown_base, shown_now, change, why, now)
    if (now.low > better_edge) if lower_is_worse else (now.high < better_edge):
        return Finding(
            "improvement", what, shown_base, shown_now, change, "moved past the tolerance the better way", now
        )
    return Finding("unchanged", what, shown_base, shown_now, change, "within the tolerance", now)


def gate(base: Baseline, rec: RunRecord, tolerance: float, gate_absolute: bool = False) -> GateResult:
    result = GateResult(rec.scenario, base.run_id, rec.run_id, tolerance, differences(base, rec))
    result.sequential = rec.sequential
    now = {(c.text, c.setting): c for c in rec.claims}
    for claim in base.claims:
        current = now.pop(claim.key, None)
        if current is None:
            result.findings.append(Finding("missing", claim.text, claim.verdict, "not judged", None))
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
            low_now, high_now = min(found.capacities), max(found.capacities)
            change = found.median / variant.capacity - 1 if variant.capacity else None
            base_shown = f"{mark((variant.capacity_bound or 'exact').split(','))}{variant.capacity:g} req/s"
            now_shown = f"{found.shown} req/s"
            edge = (variant.capacity_low or variant.capacity) * (1 - tolerance)
            if machine and high_now < edge:
                why = f"every repeat under {edge:g} req/s"
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
