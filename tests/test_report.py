"""The report, built from the recorded run alone (no lab run needed): every chart, every verdict."""

from __future__ import annotations

from html import escape
from pathlib import Path

from lab import report
from tests.recorded import LOOP_BLOCKING, loop_blocking


def test_the_report_of_a_recorded_run_shows_every_chart_and_verdict(tmp_path: Path) -> None:
    rec = loop_blocking()
    page = report.build("loop-blocking", LOOP_BLOCKING, tmp_path).read_text()
    for chart in ("latency", "throughput", "p99-time", "rps-time", "resources"):
        assert f'id="loop-blocking-{chart}"' in page, chart
    for claim in rec.claims:
        assert escape(claim.describe()) in page and f"verdict {claim.verdict}" in page
        if claim.reason:
            assert escape(claim.reason) in page
    # The variants table: the registry's columns, with the recorded medians.
    for group, variant in rec.variants.items():
        assert f"<td>{group}</td>" in page
        assert f"{variant.rps:,.4g}" in page
    assert "<script src='plotly.min.js'>" in page and (tmp_path / "plotly.min.js").is_file()
