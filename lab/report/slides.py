"""Talk mode: a run's key charts as PNG and SVG at slide size, large fonts, one message per chart.

`make slides scenario=NAME [theme=dark]` writes `reports/slides/<scenario>/`. Plotly's static
export runs a headless Chromium through kaleido; the lab points it at Debian's `chromium`.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import plotly.graph_objects as go

from lab.analysis import capacity
from lab.errors import LabError
from lab.record import store
from lab.record.models import ClaimResult, RunRecord
from lab.report import charts, data

WIDTH, HEIGHT = 1600, 900  # the layout; PNGs are rendered at PNG_SCALE: 1920x1080, a projector's size
PNG_SCALE = 1.2
TITLE_SIZE, TITLE_CHARS = 34, 72  # about 72 characters of 34 px text fit beside the margins
THEMES = {"light": "plotly_white", "dark": "plotly_dark"}
CHROMIUM_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium() -> str | None:
    found = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    return found or next((p for p in CHROMIUM_PATHS if Path(p).is_file()), None)


def _message(claim: ClaimResult | None, fallback: str) -> str:
    """One sentence a slide can carry: what was claimed, and what was measured."""
    if claim is None or claim.value is None:
        return fallback
    return f"{_wrap(claim.text)}<br><sup>measured {claim.shown} ({claim.confidence_label} interval {claim.spread or 'none: one repeat'}): {claim.verdict}</sup>"


def _wrap(text: str) -> str:
    """Lines a 1600-wide slide holds at the title's size (a longer one ran off the right edge)."""
    return "<br>".join(textwrap.wrap(text, TITLE_CHARS))


def _first(rec: RunRecord, metrics: tuple[str, ...]) -> ClaimResult | None:
    return next((c for c in rec.claims if c.metric in metrics and c.value is not None), None)


def figures(rec: RunRecord, directory: Path) -> list[tuple[str, go.Figure, str]]:
    """(file name, figure, message) for the charts that make this scenario's point."""
    palette = charts.colors(list(rec.variants))
    out: list[tuple[str, go.Figure, str]] = []
    curve = capacity.curve(rec)
    if not curve.empty:
        slo = rec.slo.p99_ms if rec.slo is not None else None
        fig = charts.hockey_stick(curve, capacity.steps(rec), palette, slo)
        out.append(("hockey-stick", fig, _message(_first(rec, ("capacity",)), "Latency against offered load")))
    claim = _first(rec, ("p50", "p90", "p99"))
    # The bars show what the claim judged: its step of the sweep, when it names one.
    percentiles = data.percentiles(rec, claim.at_rps, claim.at_tag) if claim else data.percentiles(rec)
    fig = charts.latency_percentiles(percentiles, palette)
    out.append(("latency", fig, _message(claim, "Latency percentiles per variant")))
    spectrum = data.spectrum(rec, directory)
    if not spectrum.empty:
        out.append(("spectrum", charts.spectrum(spectrum, palette), "Every percentile: where the tail goes"))
    samples = data.samples(rec, directory)
    if samples["metric"].isin(list(charts.MECHANISM)).any():
        shade = charts.Shade(rec.load.warmup_s, rec.upstream.faults if rec.upstream else [])
        out.append(("mechanism", charts.mechanism(samples, palette, shade), "The mechanism, measured inside the app"))
    return out


def export(scenario: str, directory: Path, reports: Path, theme: str = "light") -> list[Path]:
    if theme not in THEMES:
        raise LabError(f"theme {theme!r}: one of {', '.join(THEMES)}")
    browser = chromium()
    if browser is None:
        raise LabError("slides need a Chromium for plotly's static export: apt-get install chromium (none found)")
    os.environ.setdefault("BROWSER_PATH", browser)  # kaleido's browser driver reads it
    rec = store.load(directory)
    folder = reports / "slides" / scenario
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig, message in figures(rec, directory):
        lines = message.count("<br>") + 1
        fig.update_layout(
            template=THEMES[theme], title={"text": message, "font": {"size": TITLE_SIZE}}, font={"size": 22},
            width=WIDTH, height=HEIGHT, margin={"t": 90 + 45 * lines, "l": 110, "r": 40, "b": 90},
        )  # fmt: skip
        for suffix in ("png", "svg"):
            path = folder / f"{name}-{theme}.{suffix}"
            scale = PNG_SCALE if suffix == "png" else 1
            fig.write_image(path, format=suffix, width=WIDTH, height=HEIGHT, scale=scale)
            written.append(path)
    return written
