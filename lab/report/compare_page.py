"""`reports/compare-<scenario>-<base>-<run>.html`: two runs side by side, in the report's layout.

The terminal's comparison (lab/report/compare.py) as a page: what differs between the runs first, each
variant's figures and their ratio, the verdicts of both, and each run's charts beside the other's.
"""

from __future__ import annotations

from pathlib import Path

from lab.record.models import RunRecord
from lab.report import charts, data
from lab.report.compare import FIGURES, differences
from lab.report.html import esc, figure, page, write


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.4g}"


def build(base: RunRecord, base_dir: Path, new: RunRecord, new_dir: Path, reports: Path) -> Path:
    diff = differences(base, new)
    note = (
        "<p class='claim'><b>Not like for like.</b> These differ, so ratios mix their effect with the code's: "
        + "; ".join(esc(d) for d in diff)
        + "</p>"
        if diff
        else "<p class='muted'>Like for like: same profile, scenario file, load, CPU, pinning and versions.</p>"
    )
    head = "".join(f"<th>{esc(f)} base</th><th>{esc(f)} now</th><th>ratio</th>" for f in FIGURES)
    rows = []
    for group, v in new.variants.items():
        old = base.variants.get(group)
        cells = ""
        for name in FIGURES:
            a, b = (old.value(name) if old else None), v.value(name)
            ratio = f"{b / a:.2f}x" if a and b is not None else "-"
            cells += f"<td class='num'>{_fmt(a)}</td><td class='num'>{_fmt(b)}</td><td class='num'>{ratio}</td>"
        rows.append(f"<tr><td>{esc(group)}</td>{cells}</tr>")
    before = {(c.text, c.setting): c for c in base.claims}
    verdicts = []
    for c in new.claims:
        old_claim = before.get((c.text, c.setting))
        old_text = (
            f"<span class='verdict {old_claim.verdict}'>{old_claim.verdict}</span> {esc(old_claim.describe())}"
            if old_claim
            else "absent"
        )
        verdicts.append(
            f"<tr><td>{esc(c.text)}</td><td>{old_text}</td>"
            f"<td><span class='verdict {c.verdict}'>{c.verdict}</span> {esc(c.describe())}</td></tr>"
        )
    palette = charts.colors(list(dict.fromkeys([*base.variants, *new.variants])))
    side = "".join(
        f"<div><h3>{esc(label)}: run {esc(rec.run_id)}</h3>"
        f"{figure(charts.latency_percentiles(data.percentiles(rec), palette), f'compare-{label}-latency')}</div>"
        for label, rec in (("base", base), ("now", new))
    )
    body = f"""
<p class='muted'><a href='index.html'>all scenarios</a></p>
<h1>{esc(new.title)}: two runs</h1>
<p>Base <code>{esc(base.run_id)}</code> ({esc(base.profile)}), now <code>{esc(new.run_id)}</code> ({esc(new.profile)}).</p>
{note}
<h2>Variants</h2>
<div class='wide'><table><tr><th>variant</th>{head}</tr>{"".join(rows)}</table></div>
<h2>Verdicts</h2>
<table><tr><th>claim</th><th>base</th><th>now</th></tr>{"".join(verdicts)}</table>
<h2>Latency, each run</h2>
<div class='cards'>{side}</div>
"""
    path = reports / f"compare-{new.scenario}-{base.run_id}-{new.run_id}.html"
    return write(path, page(f"{new.title}: compare - FastAPI perf lab", body))
