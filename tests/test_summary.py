"""Summaries from small recorded outputs (tests/data/cell): window, percentiles, samples, flags."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from lab.summary import metric, read_requests, read_window, summarise

DATA = Path(__file__).parent / "data" / "cell"


@pytest.fixture
def summary() -> dict:
    samples = pd.read_csv(DATA / "samples.csv")
    return summarise(read_requests(DATA / "requests.csv"), read_window(DATA / "window.json"), samples)


def test_only_the_measured_window_counts(summary: dict) -> None:
    # 12 completions inside [1 s, 4 s): 10 of /work, 2 neighbours; warm-up and late ones are left out.
    assert summary["requests"] == 12
    assert summary["failures"] == 1
    assert summary["window_s"] == 3.0
    assert summary["rps"] == 4.0
    assert summary["by_request"]["/work"]["requests"] == 10
    assert summary["by_request"]["neighbour /health"]["rps"] == pytest.approx(2 / 3, abs=1e-3)


def test_percentiles_come_from_raw_samples(summary: dict) -> None:
    work = summary["by_request"]["/work"]["latency_ms"]
    assert work["p50"] == 55.0  # 10..100 ms, linear interpolation between 50 and 60
    assert work["p99"] == pytest.approx(99.1)
    assert work["max"] == 100.0
    assert summary["latency_ms"]["max"] == 100.0  # the 900 ms warm-up request is not in it
    lat = summary["latency_ms"]
    assert lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]


def test_samples_are_averaged_over_the_window_and_flag_the_generator(summary: dict) -> None:
    assert summary["server_cpu_pct"] == 20.0  # the 99 % sample is in the warm-up
    assert summary["server_rss_mb_peak"] == 60.0
    assert summary["generator_cpu_pct"] == pytest.approx(94.67, abs=0.01)
    assert "generator_bound" in summary["flags"]
    assert "few_requests" in summary["flags"]


def test_segments_split_the_window_in_thirds(summary: dict) -> None:
    segs = summary["segments"]["/work"]
    assert [s["requests"] for s in segs] == [4, 3, 3]
    assert sum(s["requests"] for s in summary["segments"]["all"]) == summary["requests"]


def test_metric_reads_cell_and_request_level_numbers(summary: dict) -> None:
    assert metric(summary, "p50", "/work") == 55.0
    assert metric(summary, "failures") == 1
    assert metric(summary, "server_cpu_pct", "/work") == 20.0
    assert metric(summary, "p99", "no such request") is None
