"""Base against head on one runner (`lab ci --base REF`), as asv, pyperf and CodSpeed compare.

A baseline measured on another machine cannot gate capacity: a GitHub runner is another CPU. So
the base commit is checked out in a git worktree and both sides run in one job, on the same
cores, as two variants of one run: `base_<variant>` imported from the worktree, `head_<variant>`
from the project root, each repeat on fresh server processes in an order drawn at random, with
the head's locustfile and settings for both (what changed is the code, not the load).

The gate is a set of claims on head / base, judged with intervals across repeats like any claim:
- capacity at the SLO (a sweep): head keeps at least 1 - tolerance of the base's;
- the p99 over arrivals at a stated rate (`[ci] rate`, or a fixed-rate profile's): head at most
  1 + tolerance times the base's;
- each claim of the scenario itself, judged on each side: one the base passes and the head fails.
A regression is such a claim failing: its interval lies wholly past the tolerance. Inside it, or
straddling it, the change is shown and not gated, and the sequential rule adds repeats while a
claim is undecided.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from lab.analysis.claims import BOTH_BOUNDS
from lab.ci.gate import Finding, GateResult, Kind, figures
from lab.drive import machine
from lab.drive.processes import CAN_PIN, available_cores, core_layout
from lab.errors import LabError
from lab.paths import ROOT, shown
from lab.record.models import ClaimResult, RunRecord
from lab.scenario.models import Claim, Scenario

WORKTREES = ROOT / ".lab-worktrees"
SIDES = ("base", "head")
BUSY_PCT = 20.0  # another process above this share of a core before the run: a noisy neighbour


@dataclass(frozen=True)
class Checkout:
    ref: str
    commit: str
    path: Path


def _git(*args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise LabError("--base needs git, which is not installed") from None
    if proc.returncode != 0:
        raise LabError(f"git {' '.join(args)}: {(proc.stderr.strip().splitlines() or ['failed'])[-1]}")
    return proc.stdout.strip()


def checkout(ref: str) -> Checkout:
    """The base commit in a worktree of its own (`.lab-worktrees/<commit>`), made once and reused."""
    try:
        commit = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except LabError:
        raise LabError(
            f"--base {ref!r}: not a commit of the repository at {ROOT} (a branch, tag, sha or HEAD~1; "
            "a shallow clone needs fetch-depth: 0 or the base fetched)"
        ) from None
    path = WORKTREES / commit
    if not (path / ".git").exists():
        WORKTREES.mkdir(exist_ok=True)
        _git("worktree", "prune")
        _git("worktree", "add", "--detach", "--force", str(path), commit)
    return Checkout(ref, commit, path)


def head() -> tuple[str, bool]:
    """The head's commit, and whether the working tree differs from it (what runs is the tree)."""
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return commit, dirty


def runner_check() -> list[str]:
    """The runner, before anything starts: cores, pinning, and other processes busy on it."""
    layout = core_layout()
    lines = [f"runner: {len(available_cores())} cores"]
    if not CAN_PIN:
        lines.append("pinning: not possible on this platform (no sched_setaffinity); server and Locust share cores")
    elif not layout.pinned:
        lines.append("pinning: one core only, so the server and Locust share it; capacities here are not the server's")
    else:
        lines.append(f"pinning: server on cores {layout.server}, Locust on {layout.generator}")
    state = machine.state(sorted({*layout.server, *layout.generator}))
    if state.busy_processes:
        lines.append(
            f"noisy neighbours: {', '.join(state.busy_processes)} busy before the run (load average "
            f"{state.load_average[0]:g}); base and head share them, interleaved, but their intervals widen"
        )
    else:
        lines.append(
            f"noisy neighbours: none above {BUSY_PCT:.0f} % of a core (load average {state.load_average[0]:g})"
        )
    return lines


def side(name: str, variant: str) -> str:
    return f"{name}_{variant}"


def paired(scenario: Scenario, base: Checkout, profile: str, rate: float | None, tolerance: float) -> Scenario:
    """The scenario with each variant twice, base's from the worktree and head's from here, and
    the gate's claims on head / base."""
    load = scenario.profile(profile)
    variants = {side(s, v): app for v, app in scenario.variants.items() for s in SIDES}
    claims: list[Claim] = []
    for v in scenario.variants:
        pair = {"variant": side("head", v), "baseline": side("base", v)}
        if load.sweep and scenario.slo is not None:
            claims.append(
                Claim(
                    text=f"capacity of {v}: head keeps at least {1 - tolerance:.0%} of the base's",
                    metric="capacity",
                    threshold=round(1 - tolerance, 6),
                    **pair,
                )
            )
        at = rate if load.sweep else load.rate
        if at is not None:
            claims.append(
                Claim(
                    text=f"p99 of {v} at {at:g} req/s: head at most {1 + tolerance:g}x the base's",
                    metric="arrival_p99",
                    op="<=",
                    threshold=round(1 + tolerance, 6),
                    at_rps=at if load.sweep else None,
                    **pair,
                )
            )
    for claim in scenario.claims:
        if claim.of is not None:
            continue  # a fraction of the first variant's capacity: not defined across two checkouts
        for s in SIDES:
            update = {"text": f"[{s}] {claim.text}", "variant": side(s, claim.variant)}
            if claim.baseline is not None:
                update["baseline"] = side(s, claim.baseline)
            claims.append(claim.model_copy(update=update))
    data = scenario.model_dump(by_alias=True)
    # Only the gate's profile runs; it stands in for the two every scenario must have.
    one = data["profiles"][profile]
    data.update(
        profiles={"quick": one, "default": one, profile: one},
        ci={**data["ci"], "profile": profile},
        variants=variants,
        variant_roots={side("base", v): str(base.path) for v in scenario.variants},
        variant_flags={side(s, v): f for v, f in scenario.variant_flags.items() for s in SIDES},
        reference=None,
        claims=[c.model_dump(by_alias=True) for c in claims],
    )
    return Scenario.model_validate(data)


def _shown(claim: ClaimResult) -> str:
    if claim.value is None:
        return f"not measured ({claim.reason})" if claim.reason else "not measured"
    return f"{claim.shown}{f' ({claim.spread})' if claim.spread else ''} {claim.verdict}"


def gate(scenario: Scenario, rec: RunRecord, base: Checkout, tolerance: float) -> GateResult:
    """Findings from the paired run's claims: a head / base claim that failed, or a scenario claim
    the base passes and the head fails, is a regression."""
    result = GateResult(scenario.name, f"{base.ref} ({base.commit[:12]})", rec.run_id, tolerance, [])
    result.sequential, result.figures = rec.sequential, figures(rec)
    own = {c.text: c for c in rec.claims if c.text.startswith("[")}
    for claim in rec.claims:
        if claim.text.startswith("[base] "):
            continue
        if claim.text.startswith("[head] "):
            before = own.get("[base] " + claim.text.removeprefix("[head] "))
            regressed = claim.verdict == "fail" and before is not None and before.verdict == "pass"
            kind: Kind = "regression" if regressed else "unchanged"
            why = "the base passes it, the head fails it" if regressed else ""
            result.findings.append(
                Finding(
                    kind,
                    claim.text.removeprefix("[head] "),
                    before.verdict if before else "not judged",
                    f"{claim.verdict}",
                    None,
                    why,
                    claim,
                )
            )
            continue
        kind_: Kind
        if claim.value is None and not claim.reason.startswith(BOTH_BOUNDS):
            kind_, why = "regression", f"cannot be measured ({claim.reason}): a gate that cannot compare must not pass"
        elif claim.verdict == "fail":
            kind_, why = "regression", "its interval lies wholly past the tolerance"
        else:
            kind_, why = ("improvement", "") if _better(claim) else ("unchanged", "")
        change = claim.value - 1 if claim.value is not None else None
        result.findings.append(Finding(kind_, claim.text, "1x", _shown(claim), change, why, claim))
    return result


def _better(claim: ClaimResult) -> bool:
    """The whole interval on the better side of no change."""
    if claim.low is None or claim.high is None:
        return False
    return claim.low > 1 if claim.op == ">=" else claim.high < 1


def describe(base: Checkout, commit: str, dirty: bool) -> str:
    tree = " with uncommitted changes" if dirty else ""
    return f"base {base.ref} = {base.commit[:12]} (worktree {shown(base.path)}) against head {commit[:12]}{tree}"
