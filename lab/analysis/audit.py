"""Null mode's verdicts: claims that still pass when bad and fix are the same code are defects.

`lab run NAME --null` runs the reference variant's app in every variant's place (an A/A run).
A claim that tells variants apart must then fail or be inconclusive; one that still passes holds
by construction (a threshold too loose, a metric that holds whatever the code does, an effect of
the load rather than the pitfall). Guards (`guard = true`: "the fix fails no request", a parity
claim at 1x, a floor on a setup with no bad variant) hold in null mode by design and are listed
apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.record.models import ClaimResult, RunRecord


@dataclass(frozen=True)
class Row:
    scenario: str
    claim: ClaimResult

    @property
    def defect(self) -> bool:
        return self.claim.verdict == "pass" and not self.claim.guard


def rows(rec: RunRecord) -> list[Row]:
    return [Row(rec.scenario, c) for c in rec.claims]


def render(found: list[Row]) -> str:
    lines = ["scenario / claim (null mode: every variant runs the reference app)", ""]
    discriminating = [r for r in found if not r.claim.guard]
    guards = [r for r in found if r.claim.guard]
    for title, part in (
        ("claims that must tell bad from fix", discriminating),
        ("guards: a fix itself, parity, a floor (hold in null mode by design)", guards),
    ):
        if not part:
            continue
        lines.append(f"{title}:")
        for r in part:
            setting = f" [{r.claim.setting}]" if r.claim.setting else ""
            mark = "DEFECT: passes in null mode" if r.defect else f"null verdict {r.claim.verdict}"
            lines.append(f"  {r.scenario}: {r.claim.text}{setting}")
            lines.append(f"      {mark}; {r.claim.describe()}")
        lines.append("")
    defects = [r for r in found if r.defect]
    lines.append(
        f"{len(defects)} defect(s) among {len(discriminating)} discriminating claims"
        + (f"; {len(guards)} guards hold or not by design" if guards else "")
    )
    return "\n".join(lines)
