"""The reports in a real browser: Debian's Chromium, headless, driven by Playwright.

For the index and the report of a recorded run: no console error, no request leaves the machine
(the pages are opened from disk and everything they load must be a file beside them), every chart
draws a non-blank plot, the bad-vs-fix code shows, the index links resolve; and the slide export
writes images of slide size. `make test` installs chromium where it can (root with apt); where it
cannot, these tests skip and say so.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import report
from lab.report import slides
from tests.recorded import LOOP_BLOCKING

CHROMIUM = slides.chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium: `make test` installs Debian's chromium as root; install it to run these"
)
# What the machine's probe found Chromium needs where the network is closed (see README: tests).
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reports")
    report.build("loop-blocking", LOOP_BLOCKING, folder)
    report.build_index(LOOP_BLOCKING.parent.parent, folder)
    return folder


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield chromium
        chromium.close()


def _open(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


def test_the_report_loads_offline_without_errors_and_every_chart_draws(browser: Any, reports: Path) -> None:
    page, errors, requests = _open(browser, reports / "loop-blocking.html")
    page.wait_for_function("document.querySelectorAll('.plotly-graph-div .main-svg').length > 0")
    assert errors == []
    assert requests and all(url.startswith("file://") for url in requests), [
        u for u in requests if not u.startswith("file")
    ]
    charts = page.query_selector_all(".plotly-graph-div")
    assert len(charts) >= 6
    for chart in charts:
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 200, chart.get_attribute("id")
        # Non-blank: plotly drew its SVG with traces in it (lines, bars or markers).
        drawn = chart.evaluate(
            "el => el.querySelectorAll('.main-svg .trace, .main-svg .point, .main-svg path.js-line').length"
        )
        assert drawn > 0, chart.get_attribute("id")
    diff = page.query_selector("table.diff")
    assert diff is not None and diff.is_visible() and "time.sleep(BLOCK_S)" in diff.inner_text()
    page.close()


def test_the_index_loads_offline_and_its_links_resolve(browser: Any, reports: Path) -> None:
    page, errors, requests = _open(browser, reports / "index.html")
    assert errors == [] and all(url.startswith("file://") for url in requests)
    links = [a.get_attribute("href") for a in page.query_selector_all("a[href]")]
    assert "loop-blocking.html" in links
    for href in links:
        assert (reports / str(href)).is_file(), href
    # The filter hides cards that do not match, the sort reorders them.
    page.fill("#q", "blocking call")
    visible = [c for c in page.query_selector_all(".card") if c.is_visible()]
    assert 1 <= len(visible) < len(page.query_selector_all(".card"))
    page.close()


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_slides_export_png_and_svg_at_slide_size_in_both_themes(tmp_path: Path) -> None:
    written = []
    for theme in ("light", "dark"):
        written += slides.export("loop-blocking", LOOP_BLOCKING, tmp_path, theme)
    pngs = [p for p in written if p.suffix == ".png"]
    svgs = [p for p in written if p.suffix == ".svg"]
    assert len(pngs) == len(svgs) >= 4  # latency and spectrum, light and dark
    for png in pngs:
        assert _png_size(png) == (1920, 1080) and png.stat().st_size > 20_000, png
    for svg in svgs:
        text = svg.read_text()
        assert text.startswith("<svg") and f'width="{slides.WIDTH}"' in text, svg


def test_the_hockey_stick_axis_spans_the_data_not_the_slo_label() -> None:
    """Laid out by plotly.js itself (through kaleido): on its log axis the SLO label once sat at
    1e100, and the axis stretched up to it, flattening every curve into the bottom pixels."""
    import pandas as pd

    from lab.report import charts

    curve = pd.DataFrame(
        {
            "group": ["bad"] * 3 + ["fix"] * 3,
            "rate": [10.0, 20.0, 40.0] * 2,
            "p50": [22.0, 25.0, 60.0, 2.0, 2.0, 2.1],
            "p99": [40.0, 80.0, 400.0, 4.0, 4.1, 4.3],
            "predicted_p99": [38.0, 70.0, 300.0, None, None, None],
        }
    )
    fig = charts.hockey_stick(curve, curve[["group", "rate", "p99"]], {"bad": "#d62728", "fix": "#2ca02c"}, 100)
    low, high = fig.full_figure_for_development(warn=False).layout.yaxis.range  # log10 units
    assert 10**low < 4 and 400 < 10**high < 2_000, (low, high)
