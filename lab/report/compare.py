"""Two runs of one scenario side by side, for regression tracking: per variant, how throughput and
latency moved, and whether anything that shapes a run differed (then the comparison says so)."""

from __future__ import annotations

from collections.abc import Callable

from lab.analysis.intervals import welch_p
from lab.record.models import RunRecord

# What must match for two runs to be compared as like for like.
SHAPING: list[tuple[str, Callable[[RunRecord], object]]] = [
    ("profile", lambda r: r.profile),
    ("scenario file", lambda r: r.scenario_file.sha256[:12]),
    ("load", lambda r: r.load),
    ("cpu", lambda r: r.environment.cpu_model),
    ("cores", lambda r: (r.pinning.server_cores, r.pinning.generator_cores)),
]
VERSIONS = ["python", "fastapi", "starlette", "pydantic", "uvicorn", "locust", "postgres"]
# The figures compared per variant (registry names).
FIGURES = ["rps", "p50", "p99"]


def differences(base: RunRecord, new: RunRecord) -> list[str]:
    out = [f"{name}: {get(base)} -> {get(new)}" for name, get in SHAPING if get(base) != get(new)]
    for package in VERSIONS:
        a, b = base.environment.version(package), new.environment.version(package)
        if a != b:
            out.append(f"{package}: {a} -> {b}")
    return out


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or a == 0:
        return "-"
    return f"{b / a:.2f}x"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def repeats(rec: RunRecord, group: str, figure: str) -> list[float]:
    """A variant's figure in each of its repeats (its cells' summaries)."""
    found = (c.summary.value(figure) for c in rec.ok_cells() if c.group == group and c.summary is not None)
    return [v for v in found if v is not None]


def significance(base: RunRecord, new: RunRecord, group: str, figure: str) -> str:
    """pyperf's mark: a change the repeats' noise explains (Welch's t on log values, 95 %) is "not
    significant"; with fewer than 2 repeats a side, nothing can be said."""
    p = welch_p(repeats(base, group, figure), repeats(new, group, figure))
    if p is None:
        return "(1 repeat: untested)"
    return "significant" if p < 0.05 else "not significant"


def table(base: RunRecord, new: RunRecord) -> str:
    rows = [["variant", *(h for f in FIGURES for h in ((f if f == "rps" else f"{f} ms"), ""))]]
    verdicts_base = {(c.text, c.setting): c.verdict for c in base.claims}
    for group, v in new.variants.items():
        old = base.variants.get(group)
        if old is None:
            rows.append([group, _fmt(v.rps), "(new)", *[""] * (2 * len(FIGURES) - 2)])
            continue
        row = [group]
        for figure in FIGURES:
            a, b = old.value(figure), v.value(figure)
            row += [f"{_fmt(a)} -> {_fmt(b)}", f"{_ratio(a, b)} {significance(base, new, group, figure)}"]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    changed = [
        f"  {c.text}{' [' + c.setting + ']' if c.setting else ''}: "
        f"{verdicts_base.get((c.text, c.setting), 'absent')} -> {c.verdict}"
        for c in new.claims
        if verdicts_base.get((c.text, c.setting)) != c.verdict
    ]
    lines += ["", "verdicts that changed:", *changed] if changed else ["", "no verdict changed"]
    return "\n".join(lines)


def render(base: RunRecord, new: RunRecord) -> str:
    head = f"{new.scenario}: run {base.run_id} -> {new.run_id}"
    diff = differences(base, new)
    warning = (
        ["", "NOT like for like; these differ (ratios mix their effect with the code's):", *(f"  {d}" for d in diff)]
        if diff
        else ["", "like for like: same profile, scenario file, load, CPU, pinning and versions"]
    )
    return "\n".join([head, *warning, "", table(base, new)])


def as_json(base: RunRecord, new: RunRecord) -> dict[str, object]:
    """`lab compare --json`: what `render` prints, as data."""
    variants: dict[str, object] = {}
    for group, v in new.variants.items():
        old = base.variants.get(group)
        variants[group] = {
            figure: {
                "base": old.value(figure) if old else None,
                "now": v.value(figure),
                "significance": significance(base, new, group, figure) if old else "new",
            }
            for figure in FIGURES
        }
    before = {(c.text, c.setting): c.verdict for c in base.claims}
    return {
        "scenario": new.scenario,
        "base": base.run_id,
        "run": new.run_id,
        "differences": differences(base, new),
        "variants": variants,
        "verdicts": [
            {"claim": c.text, "setting": c.setting, "base": before.get((c.text, c.setting)), "now": c.verdict}
            for c in new.claims
        ],
    }
