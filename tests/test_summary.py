"""Summaries from small recorded outputs (tests/data/cell) and the recorded run: window,
percentiles, metrics from the registry, flags, and aggregation over repeats."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lab.analysis.cell import counter_growth, ledger, summarise
from lab.analysis.repeats import aggregate
from lab.record.models import CellSummary
from lab.record.raw import read_requests
from lab.record.window import Window, read_window
from tests.recorded import loop_blocking

DATA = Path(__file__).parent / "data" / "cell"


@pytest.fixture
def summary() -> CellSummary:
    samples = pd.read_csv(DATA / "samples.csv")
    return summarise(read_requests(DATA / "requests.csv"), read_window(DATA / "window.json"), samples)


def test_only_the_measured_window_counts(summary: CellSummary) -> None:
    # 12 completions inside [1 s, 4 s): 10 of /work, 2 neighbours; warm-up and late ones are left out.
    assert summary.requests == 12
    assert summary.failures == 1
    assert summary.window_s == 3.0
    assert summary.rps == pytest.approx(11 / 3, abs=1e-3) and summary.attempted_rps == 4.0  # goodput: 11 succeeded
    assert summary.by_request["/work"].requests == 10
    assert summary.value("rps", "neighbour /health") == pytest.approx(2 / 3, abs=1e-3)


def test_percentiles_come_from_raw_samples(summary: CellSummary) -> None:
    # The successful ones: 10, 20, 30, 50 .. 100 ms (the failed 40 ms request is apart).
    assert summary.value("p50", "/work") == 60.0
    assert summary.value("p99", "/work") == pytest.approx(99.2)
    assert summary.by_request["/work"].failed_latency_ms["max"] == 40.0
    assert summary.value("max", "/work") == 100.0
    assert summary.value("max") == 100.0  # the 900 ms warm-up request is not in it
    lat = summary.latency_ms
    assert lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]  # type: ignore[operator]


def test_samples_are_averaged_over_the_window_and_flag_the_generator(summary: CellSummary) -> None:
    assert summary.value("server_cpu_pct") == 20.0  # the 99 % sample is in the warm-up
    assert summary.value("server_rss_mb_peak") == 60.0
    assert summary.value("generator_cpu_pct") == pytest.approx(94.67, abs=0.01)
    assert summary.flags == ["few_requests", "generator_bound"]


def test_cpu_per_request_reads_the_cumulative_cpu_time_at_the_window_edges(summary: CellSummary) -> None:
    # Cumulative 100, 200, 400, 700, 800 ms at 1000.5 .. 1004.5 s; the window is [1001, 1004):
    # 150 at its start and 750 at its end, 600 ms over 12 completed requests.
    assert summary.value("server_cpu_ms") == 600.0
    assert summary.value("server_cpu_ms_per_request") == 50.0


def test_segments_split_the_window_in_thirds(summary: CellSummary) -> None:
    assert [s.requests for s in summary.segments["/work"]] == [4, 3, 3]
    assert sum(s.requests for s in summary.segments["all"]) == summary.requests


def test_value_reads_cell_and_request_level_numbers(summary: CellSummary) -> None:
    assert summary.value("p50", "/work") == 60.0
    assert summary.value("failures") == 1
    assert summary.value("p99", "no such request") is None
    assert summary.value("db_connections_peak") is None  # no database sampled: absent, not zero
    assert "db_connections_peak" not in summary.metrics


def test_counters_are_read_at_the_window_edges() -> None:
    # A counter growing 10 per second, sampled every 0.5 s from 0.2 s: the window [1, 4] grew by 30,
    # though the samples inside it (1.2 .. 3.7) span only 25.
    ts = [0.2 + 0.5 * i for i in range(10)]
    series = pd.DataFrame({"ts": ts, "value": [10 * t for t in ts]})
    assert counter_growth(series, 1.0, 4.0) == pytest.approx(30.0)
    assert counter_growth(series.iloc[:1], 1.0, 4.0) is None


def test_derived_metrics_come_from_the_registry() -> None:
    requests = pd.DataFrame({"t": [1.5 + i * 0.1 for i in range(20)], "name": "/x", "response_ms": 5.0, "ok": 1})
    series = {
        "upstream_requests": lambda t: 10 * t,
        "upstream_connections_opened": lambda t: 5 * t,
        "upstream_connections_open": lambda t: 3.0,
        "upstream_inflight": lambda t: 1.0,
        "upstream_time_wait": lambda t: t,
        "app_pending": lambda t: t,
    }
    rows = [(1000.0 + t, "c", m, f(t)) for t in (0.5, 1.0, 2.0, 3.0, 4.0, 4.5) for m, f in series.items()]
    samples = pd.DataFrame(rows, columns=["ts", "cell", "metric", "value"])
    summary = summarise(
        requests, Window.model_validate({"t0": 1000.0, "warmup_s": 1.0, "duration_s": 3.0, "end_s": 4.0}), samples
    )
    assert summary.value("upstream_requests") == pytest.approx(30.0)
    assert summary.value("upstream_requests_per_request") == pytest.approx(1.5)
    assert summary.value("upstream_connections_per_request") == pytest.approx(0.75)
    assert summary.value("app_pending_peak") == 4.0 and summary.value("app_pending_last") == 4.0
    assert summary.value("app_pending_mean") == pytest.approx(2.5)


def test_aggregation_over_repeats_is_the_median_of_the_cells() -> None:
    rec = loop_blocking()
    variants = aggregate(rec.cells)
    assert variants == rec.variants  # what the lab wrote is what aggregation computes
    bad = [c.summary for c in rec.cells if c.variant == "bad" and c.summary]
    assert variants["bad"].repeats == len(bad) == 2
    assert variants["bad"].rps == pytest.approx(sum(s.rps or 0 for s in bad) / 2, abs=1e-3)
    assert variants["bad"].value("p99", "/work") > 10 * variants["fix_await"].value("p99", "/work")  # type: ignore[operator]


def test_goodput_counts_successes_and_keeps_failures_apart() -> None:
    ok = pd.DataFrame({"t": [1.1 + 0.1 * i for i in range(10)], "name": "/x", "response_ms": 10.0, "ok": 1})
    failed = pd.DataFrame({"t": [1.15 + 0.1 * i for i in range(10)], "name": "/x", "response_ms": 1.0, "ok": 0})
    window = Window.model_validate({"t0": 0.0, "warmup_s": 1.0, "duration_s": 2.0, "end_s": 3.0})
    summary = summarise(pd.concat([ok, failed]), window, pd.DataFrame(columns=["ts", "cell", "metric", "value"]))
    assert summary.requests == 20 and summary.failures == 10 and summary.error_rate == 0.5
    assert summary.rps == 5.0 and summary.attempted_rps == 10.0  # fast refusals are not throughput
    assert summary.value("p50") == 10.0 and summary.value("max") == 10.0  # nor do they make it look fast
    assert summary.failed_latency_ms["p50"] == 1.0


def test_counters_get_a_spread_per_third_of_the_window() -> None:
    # 20 requests per second; the upstream sees 1 connection per request in the first third, none after.
    requests = pd.DataFrame({"t": [1.0 + 0.05 * i for i in range(60)], "name": "/x", "response_ms": 5.0, "ok": 1})
    ts = [1000.0 + 0.5 * i for i in range(10)]
    opened = [min(t - 1000.0, 2.0) * 20 for t in ts]  # grows 20/s until t = 2 s, then stays
    samples = pd.DataFrame({"ts": ts, "cell": "c", "metric": "upstream_connections_opened", "value": opened})
    summary = summarise(
        requests, Window.model_validate({"t0": 1000.0, "warmup_s": 1.0, "duration_s": 3.0, "end_s": 4.0}), samples
    )
    assert summary.value("upstream_connections_per_request") == pytest.approx(20 / 60, abs=1e-4)
    assert summary.segment_values("upstream_connections_per_request") == pytest.approx([1.0, 0.0, 0.0])


def test_the_ledger_matches_keys_so_a_repeat_never_hides_a_loss() -> None:
    # Two confirmed, one never taken; the other taken twice: by count they would balance.
    found = ledger(["order-1", "order-2"], ["order-1", "order-1", "verify-only"])
    assert found == {"writes_confirmed": 2.0, "writes_lost": 1.0, "writes_duplicated": 1.0}
    assert ledger([], [])["writes_lost"] == 0.0
