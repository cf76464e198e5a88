"""`reports/index.html`: every scenario with the verdicts of its newest complete run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lab import record, scenario
from lab.errors import LabError
from lab.report.html import esc, page, write
from lab.results import latest


def build_index(results: Path, reports: Path) -> Path:
    rows = []
    for name in scenario.known():
        try:
            title = scenario.load(name).title
        except LabError as exc:
            rows.append(f"<tr><td>{esc(name)}</td><td colspan='3'>invalid scenario file: {esc(exc)}</td></tr>")
            continue
        directory = latest(name, results)
        if directory is None:
            rows.append(
                f"<tr><td>{esc(name)}</td><td>{esc(title)}</td><td class='muted'>not run yet</td><td></td></tr>"
            )
            continue
        rec = record.load(directory)
        counts = Counter(c.verdict for c in rec.claims)
        verdicts = " ".join(f"<span class='verdict {v}'>{n} {v}</span>" for v, n in sorted(counts.items()))
        link = f"<a href='{esc(name)}.html'>{esc(name)}</a>" if (reports / f"{name}.html").exists() else esc(name)
        rows.append(
            f"<tr><td>{link}</td><td>{esc(title)}</td><td>{verdicts or 'no claims'}</td>"
            f"<td class='muted'>{esc(rec.run_id)} ({esc(rec.profile)})</td></tr>"
        )
    body = (
        "<h1>FastAPI performance lab</h1><p>Each claim measured on this machine; newest complete run of "
        "every scenario.</p><table><tr><th>scenario</th><th>pitfall</th><th>verdicts</th><th>run</th></tr>"
        f"{''.join(rows)}</table>"
    )
    return write(reports / "index.html", page("FastAPI performance lab", body))
