"""Null mode's verdicts: can each claim fail when the code it tells apart is the same?

`lab run NAME --null VARIANT` runs VARIANT's app in every variant's place (an A/A run). `lab audit`
runs one such run per variant (a *direction*), so each ratio claim meets its two sides set to the
same code both ways (all-bad and all-fix), and each claim on one variant meets the other variants'
code in its place. From those runs, each claim is
- `verified`: never `pass` in a null run that puts the other side's code in its place (a fix's for
  a claim on a `bad*` variant, a bad variant's for a claim on a fix), and `fail` in one;
- `defect`: `pass` in such a run (a threshold too loose, a metric that holds whatever the code);
- `unverified`: only ever inconclusive there: it has not been shown able to fail;
- `guard`: it holds by construction, and the null runs show it: a parity ratio that two equal
  sides satisfy by its own math (`at least 1x`), or a claim on a fix that every other variant's
  code passes too (a floor, a property the fix shares with the bad code). A claim on a `bad*`
  variant that other code passes is a defect: it is no symptom of the pitfall.
Guards are derived here, never declared in a scenario file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from lab.record.models import ClaimResult, RunRecord, Verdict
from lab.scenario.models import Claim, is_bad

Status = Literal["verified", "defect", "unverified", "guard", "not run"]


def judge(claim: Claim, null: Mapping[str, Verdict]) -> tuple[Status, str]:
    """A claim's audit status from its verdict in each null direction (the variant that ran everywhere)."""
    if not null:
        return "not run", "no null run"
    if claim.parity:
        return "guard", "a parity claim: two equal sides satisfy it by its own math"
    # A claim on one variant measures that variant's own code in its own direction: not a null case.
    # Nor is a sibling's code of the same side: the `bad*` variants are all forms of the pitfall (a
    # connection per request and an engine per request both open a session per request), so a
    # claim on one of them is put to the fixes' code, and a claim on a fix to the bad code.
    others = dict(null) if claim.baseline else {d: v for d, v in null.items() if is_bad(d) != is_bad(claim.variant)}
    if not others:
        return "unverified", "no null run put other code in its place"
    passes = sorted(d for d, v in others.items() if v == "pass")
    # A fix's own property that the other code shares ("fails no request") holds by construction; a
    # bad variant's symptom that other code shows too is no symptom of the pitfall.
    if claim.baseline is None and not is_bad(claim.variant) and passes and len(passes) == len(others):
        return "guard", f"holds with {', '.join(passes)} in its place too: it does not tell the variants apart"
    if passes:
        return "defect", f"passes in null mode with every variant running {passes[0]}"
    fails = sorted(d for d, v in others.items() if v == "fail")
    if fails:
        return "verified", f"fails in null mode (every variant running {', '.join(fails)})"
    return "unverified", "only ever inconclusive in null mode: not shown able to fail"


@dataclass
class Row:
    scenario: str
    claim: ClaimResult  # as the first null run judged it (its text, setting, declaration)
    null: dict[str, ClaimResult] = field(default_factory=dict)  # direction -> that run's result

    @property
    def verdicts(self) -> dict[str, Verdict]:
        return {d: r.verdict for d, r in self.null.items()}

    @property
    def status(self) -> tuple[Status, str]:
        return judge(self.claim, self.verdicts)

    @property
    def defect(self) -> bool:
        return self.status[0] == "defect"


def rows(records: Sequence[RunRecord]) -> list[Row]:
    """Each claim of the null runs given (one scenario or several), with its verdict per direction."""
    found: dict[tuple[str, str, str], Row] = {}
    for rec in records:
        direction = rec.reference or "?"
        for claim in rec.claims:
            key = (rec.scenario, claim.text, claim.setting)
            row = found.setdefault(key, Row(rec.scenario, claim))
            row.null[direction] = claim
    return list(found.values())


def render(found: Sequence[Row]) -> str:
    lines = ["scenario / claim: its verdict in each null run (every variant running one variant's app)", ""]
    for r in found:
        status, why = r.status
        setting = f" [{r.claim.setting}]" if r.claim.setting else ""
        each = ", ".join(f"all-{d} {v}" for d, v in sorted(r.verdicts.items()))
        lines.append(f"  {r.scenario}: {r.claim.text}{setting}")
        lines.append(f"      {status.upper()}: {why} ({each})")
    counts = {s: sum(r.status[0] == s for r in found) for s in ("verified", "defect", "unverified", "guard")}
    lines += [
        "",
        f"{counts['defect']} defect(s), {counts['verified']} verified, {counts['unverified']} unverified "
        f"(never shown able to fail), {counts['guard']} guard(s), among {len(found)} claims",
    ]
    return "\n".join(lines)


def as_json(found: Sequence[Row]) -> list[dict[str, object]]:
    """`lab audit --json`: each claim's status, why, and its verdict in each null direction."""
    return [
        {
            "scenario": r.scenario,
            "claim": r.claim.text,
            "setting": r.claim.setting,
            "status": r.status[0],
            "why": r.status[1],
            "null_verdicts": dict(sorted(r.verdicts.items())),
        }
        for r in found
    ]
