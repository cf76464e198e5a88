"""The report, built from the recorded run alone (no lab run needed): every chart, every verdict."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pandas as pd

from lab import report
from lab.record import store
from tests.recorded import INLINE_SIDE_WORK, LOOP_BLOCKING, loop_blocking


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


def test_the_report_shows_bad_beside_each_fix_from_the_files_and_the_latency_spectrum(tmp_path: Path) -> None:
    rec = loop_blocking()
    page = report.build("loop-blocking", LOOP_BLOCKING, tmp_path).read_text()
    # The code, from apps/loop_blocking/*.py as they are: the blocking line marked on bad's side.
    assert page.count("<table class='diff'") == 2  # bad beside fix_await, bad beside fix_threadpool
    assert "<td class='code chg'>    time.sleep(BLOCK_S)" in page
    assert "await asyncio.sleep(BLOCK_S)" in page
    # The spectrum: percentiles on a 1/(1-p) axis, only where the samples support them.
    assert 'id="loop-blocking-spectrum"' in page
    assert f"make bench scenario=loop-blocking profile={rec.profile}" in page


def test_the_index_has_a_card_per_scenario_with_filter_and_sort(tmp_path: Path) -> None:
    report.build("loop-blocking", LOOP_BLOCKING, tmp_path)
    index = report.build_index(LOOP_BLOCKING.parent.parent, tmp_path).read_text()
    rec = loop_blocking()
    assert index.count("<div class='card'") >= 16
    assert "id='q'" in index and "labFilter()" in index and "labSort()" in index
    card = index[index.index("data-name='loop-blocking'") :]
    assert "<svg class='bars'" in card[:4000] and rec.run_id in card[:4000]
    headline = next(c for c in rec.claims if c.value is not None)
    assert f"<div class='big'>{headline.value:.3g}x</div>" in card[:4000]


def test_percentiles_at_a_step_are_that_steps_medians_over_repeats() -> None:
    """A chart beside a claim at 40 req/s shows 40 req/s, not the cell's own summary."""
    from lab.report import data

    rec = loop_blocking()
    cells = []
    for cell in rec.ok_cells():
        assert cell.summary is not None
        step = cell.summary.model_copy(update={"target_rps": 40.0, "latency_ms": {"p50": 100.0 * cell.repeat}})
        cells.append(cell.model_copy(update={"points": [step]}))
    at = data.percentiles(rec.model_copy(update={"cells": cells}), 40.0)
    p50 = at[(at["request"] == "all requests") & (at["percentile"] == "p50")]
    repeats = sorted({c.repeat for c in cells})
    assert set(p50["variant"]) == set(rec.variants)
    assert len(repeats) == 2 and (p50["ms"] == 150.0).all()  # the median of 100 and 200 ms
    assert data.percentiles(rec.model_copy(update={"cells": cells}), 80.0).empty  # no step there


def test_cost_per_request_is_drawn_against_in_flight_as_medians_over_repeats() -> None:
    """The open-model chart of what a request costs the server: x the mean in flight, y the CPU
    per request, one line per variant; steps recorded before the metric existed draw nothing."""
    from lab.analysis import capacity
    from lab.report import charts

    rec = loop_blocking()
    cells = []
    for cell in rec.ok_cells():
        assert cell.summary is not None
        cost = 1.0 if cell.variant == "bad" else 2.0
        points = [
            cell.summary.model_copy(
                update={
                    "target_rps": rate,
                    "in_flight_mean": rate / 10 * cell.repeat,
                    "metrics": {"server_cpu_ms_per_request": cost * rate * cell.repeat},
                }
            )
            for rate in (10.0, 20.0)
        ]
        cells.append(cell.model_copy(update={"points": points}))
    curve = capacity.curve(rec.model_copy(update={"cells": cells}))
    fig = charts.cost_per_request(curve, charts.colors(list(rec.variants)))
    lines = {trace.name: (list(trace.x), list(trace.y)) for trace in fig.data}
    assert set(lines) == set(rec.variants)
    # Repeats 1 and 2: medians 1.5 x (rate / 10) in flight and 1.5 x cost x rate ms.
    assert lines["bad"] == ([1.5, 3.0], [15.0, 30.0])
    assert lines["fix_await"] == ([1.5, 3.0], [30.0, 60.0])

    bare = [c.model_copy(update={"points": [p.model_copy(update={"metrics": {}}) for p in c.points]}) for c in cells]
    old = capacity.curve(rec.model_copy(update={"cells": bare}))
    assert old["cpu_ms_per_request"].isna().all() and not charts.cost_per_request(old, {}).data


def test_the_connection_budget_multiplies_workers_by_the_pool_each_reported() -> None:
    from lab.record.models import DatabaseInfo
    from lab.report import page

    rec = loop_blocking()
    assert page._budget(rec) == ""  # no database: no budget
    db = DatabaseInfo(mode="embedded", server_version="16", max_connections=30, seed={}, rows={}, cores=None)
    variants = {}
    for group, summary in rec.variants.items():
        pool = 20.0 if group == "bad" else 6.0
        server = summary.server.model_copy(update={"workers": 4})
        metrics = {"app_pool_max_last": pool, "db_connections_peak": 27.0, "db_too_many_clients": 5.0}
        variants[group] = summary.model_copy(update={"server": server, "metrics": metrics})
    html = page._budget(rec.model_copy(update={"database": db, "variants": variants}))
    # 4 x 20 = 80 against 30 - 3 reserved = 27 slots; 4 x 6 = 24 fits.
    assert "<td class='num'><b>80</b></td><td class='num'>27</td><td>over the budget by 53</td>" in html
    assert "<td class='num'><b>24</b></td><td class='num'>27</td><td>within the budget</td>" in html


def test_a_run_with_restarts_shades_them_and_tables_the_writes_they_lost(tmp_path: Path) -> None:
    rec = store.load(INLINE_SIDE_WORK)
    page = report.build("inline-side-work", INLINE_SIDE_WORK, tmp_path).read_text()
    assert "<h2>Restarts and lost writes</h2>" in page and "server restarted" in page
    section = page[page.index("<h2>Restarts and lost writes</h2>") :]
    hard = rec.variants["fix_background[restart_grace_s=0]"]
    row = section[section.index("<td>fix_background[restart_grace_s=0]</td>") :].split("</tr>")[0]
    assert f"<td class='num'>{hard.value('writes_lost'):,.0f}</td>" in row and (hard.value("writes_lost") or 0) > 0
    assert "<td class='num'>1</td>" in row  # one restart, SIGKILLed


def test_worker_starts_are_read_from_the_server_trees_process_count_and_marked_on_its_memory() -> None:
    from lab.report import charts

    rows = []
    for t in range(10):
        # Two workers; the count of processes seen grows at t=4 and t=8 (a worker recycled each time).
        seen = 3 + (t >= 4) + (t >= 8)
        rss = 100 + 10 * (t % 4)
        rows += [
            {"t": float(t), "metric": "server_processes_seen", "value": float(seen), "variant": "fix", "repeat": 1},
            {"t": float(t), "metric": "server_rss_mb", "value": float(rss), "variant": "fix", "repeat": 1},
            {"t": float(t), "metric": "server_processes_seen", "value": 3.0, "variant": "bad", "repeat": 1},
        ]
    frame = pd.DataFrame(rows)
    marks = charts.recycled(frame)
    assert marks.to_dict("records") == [
        {"variant": "fix", "repeat": 1, "t": 4.0},
        {"variant": "fix", "repeat": 1, "t": 8.0},
    ]
    fig = charts.recycles(frame, {"fix": "#2ca02c", "bad": "#d62728"}, charts.Shade(0.0, []))
    [points] = [trace for trace in fig.data if trace.mode == "markers"]
    assert list(points.x) == [4.0, 8.0] and list(points.y) == [100.0, 100.0]  # at the memory read then
