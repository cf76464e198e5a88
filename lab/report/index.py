"""`reports/index.html`: one card per scenario from its newest complete run, filterable and sortable.

Each card: the pitfall, the claim in plain words, the verdicts, the headline figure (the first
claim's value with its interval) in large type, a small bar of each variant's p99, the versions and
the date, and links to the report (and to the trends page when there is one).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from lab.errors import LabError
from lab.paths import ROOT
from lab.record import evidence, store
from lab.record.models import RunRecord
from lab.record.store import latest
from lab.report.catalogue import shown_sources
from lab.report.charts import BAD_COLOR, FIX_COLORS
from lab.report.html import esc, page, write
from lab.scenario import loading
from lab.scenario.models import is_bad

SCRIPT = """
<script>
function labFilter() {
  const text = document.getElementById('q').value.toLowerCase();
  const verdict = document.getElementById('verdict').value;
  for (const card of document.querySelectorAll('.card')) {
    const ok = card.dataset.text.includes(text) && (!verdict || card.dataset.verdicts.includes(verdict));
    card.style.display = ok ? '' : 'none';
  }
}
function labSort() {
  const key = document.getElementById('sort').value;
  const grid = document.getElementById('cards');
  const cards = [...grid.children];
  cards.sort((a, b) => key === 'name' ? a.dataset.name.localeCompare(b.dataset.name)
                                      : (parseFloat(b.dataset[key]) || 0) - (parseFloat(a.dataset[key]) || 0));
  cards.forEach(c => grid.appendChild(c));
}
</script>
"""


def _bars(rec: RunRecord) -> str:
    """Each variant's p99 as an inline SVG bar (log-scaled lengths): a chart without plotly."""
    import math

    values = [(g, v.value("p99")) for g, v in rec.variants.items()]
    known = [(g, x) for g, x in values if x]
    if not known:
        return ""
    top = max(math.log10(x + 1) for _, x in known) or 1.0
    rows = []
    for i, (group, value) in enumerate(known):
        width = 6 + 180 * math.log10(value + 1) / top
        color = BAD_COLOR if is_bad(group) else FIX_COLORS[0]
        rows.append(
            f"<rect x='0' y='{i * 16}' width='{width:.0f}' height='12' fill='{color}'></rect>"
            f"<text x='{width + 4:.0f}' y='{i * 16 + 10}' font-size='10'>{esc(group)} {value:,.4g} ms</text>"
        )
    height = 16 * len(known)
    return (
        f"<svg class='bars' width='330' height='{height}' role='img' aria-label='p99 per variant'>{''.join(rows)}</svg>"
    )


def _card(name: str, rec: RunRecord, reports: Path) -> str:
    counts = Counter(c.verdict for c in rec.claims)
    verdicts = " ".join(f"<span class='verdict {v}'>{n} {v}</span>" for v, n in sorted(counts.items()))
    headline = next((c for c in rec.claims if c.value is not None and c.low is not None), None)
    big, key = "", 0.0
    if headline is not None:
        key = float(headline.value or 0)
        big = (
            f"<div class='big'>{headline.shown}</div><div class='muted'>{headline.confidence_label} interval "
            f"{headline.spread}: {esc(headline.text)}</div>"
        )
    link = f"{name}.html"
    title = f"<a href='{esc(link)}'>{esc(rec.title)}</a>" if (reports / link).exists() else esc(rec.title)
    env = rec.environment
    date = (rec.finished_at or rec.started_at)[:10]
    text = f"{name} {rec.title} {rec.claim_text}".lower()
    return (
        f"<div class='card' data-name='{esc(name)}' data-text='{esc(text)}' "
        f"data-verdicts='{esc(' '.join(counts))}' data-key='{key}' data-fails='{counts.get('fail', 0)}'>"
        f"<h3>{title}</h3><div class='muted'><code>{esc(name)}</code></div>"
        f"<p><b>What goes wrong.</b> {esc(rec.pitfall)}</p><p><b>Claimed.</b> {esc(rec.claim_text)}</p>"
        f"<p>{verdicts or 'no claims'}</p>{big}{_bars(rec)}"
        f"<p class='muted'>fastapi {esc(env.version('fastapi'))}, uvicorn {esc(env.version('uvicorn'))}, "
        f"{esc(rec.profile)} profile, {esc(date)}, run {esc(rec.run_id)}</p></div>"
    )


def build_index(results: Path, reports: Path) -> Path:
    kept = shown_sources(ROOT / "docs" / "measured.md")
    packed = {path.parent.name for path in evidence.packs()}
    cards = []
    for name in loading.known():
        try:
            loaded = loading.load(name)
        except LabError as exc:
            cards.append(f"<div class='card' data-name='{esc(name)}' data-text='' data-verdicts=''>"
                         f"<h3>{esc(name)}</h3><p>invalid scenario file: {esc(exc)}</p></div>")  # fmt: skip
            continue
        directory = latest(name, results)
        if directory is None:
            said = f"not run yet: make bench scenario={esc(name)}"
            if name in kept and name not in packed:  # table rows whose records are not committed
                source, machine = kept[name]
                run_id = source.split()[1] if len(source.split()) > 1 else "?"
                said = (
                    f"not run here: the measured table (docs/measured.md) has its rows from run {esc(run_id)}"
                    f"{' on ' + esc(machine) if machine else ''}, whose records are not in the repository; "
                    f"make bench scenario={esc(name)} measures it here"
                )
            cards.append(
                f"<div class='card' data-name='{esc(name)}' data-text='{esc(name)} {esc(loaded.title.lower())}' "
                f"data-verdicts=''><h3>{esc(loaded.title)}</h3><div class='muted'><code>{esc(name)}</code></div>"
                f"<p>{esc(loaded.claim)}</p><p class='muted'>{said}</p></div>"
            )
            continue
        cards.append(_card(name, store.load(directory), reports))
    trends = "<a href='trends.html'>trends over time</a>" if (reports / "trends.html").exists() else ""
    controls = (
        "<p><input id='q' placeholder='filter' oninput='labFilter()'> "
        "<select id='verdict' onchange='labFilter()'><option value=''>any verdict</option>"
        "<option value='pass'>has a pass</option><option value='fail'>has a fail</option>"
        "<option value='inconclusive'>has an inconclusive</option></select> "
        "<select id='sort' onchange='labSort()'><option value='name'>sort by name</option>"
        "<option value='key'>sort by headline figure</option><option value='fails'>sort by failed claims</option>"
        f"</select> {trends}</p>"
    )
    body = (
        "<h1>FastAPI performance lab</h1><p>Each claim measured on this machine: the newest complete run of "
        f"every scenario.</p>{controls}<div class='cards' id='cards'>{''.join(cards)}</div>{SCRIPT}"
    )
    return write(reports / "index.html", page("FastAPI performance lab", body))
