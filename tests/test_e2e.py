"""The real thing: loop-blocking's quick profile with real uvicorn, real Locust, real report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.processes import port_in_use, tagged
from tests.conftest import lab

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path, Path, str]:
    root = tmp_path_factory.mktemp("e2e")
    results, reports = root / "results", root / "reports"
    proc = lab("run", "loop-blocking", "--profile", "quick", "--results", str(results), "--reports", str(reports))
    assert proc.returncode == 0, proc.stderr[-2000:]
    [directory] = list((results / "loop-blocking").iterdir())
    return json.loads((directory / "run.json").read_text()), directory, reports, proc.stdout


def test_record_is_complete_and_describes_every_variant(run: tuple[dict, Path, Path, str]) -> None:
    record, _, _, _ = run
    assert record["status"] == "complete" and record["error"] is None
    assert set(record["variants"]) == {"bad", "fix_await", "fix_threadpool"}
    for name, variant in record["variants"].items():
        assert variant["requests"] > 0, name
        lat = variant["latency_ms"]
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"], name
        assert variant["server_cpu_pct"] is not None and variant["server_rss_mb"] > 0
        assert variant["generator_cpu_pct"] is not None
        assert {"/work", "neighbour /health"} <= set(variant["by_request"])
    env = record["environment"]
    for key in ("python", "fastapi", "starlette", "pydantic", "uvicorn", "locust", "cpu_count", "cpu_model"):
        assert env[key], key
    assert record["pinning"]["pinned"] and not set(record["pinning"]["server_cores"]) & set(
        record["pinning"]["generator_cores"]
    )


def test_claims_are_evaluated_from_the_measurements(run: tuple[dict, Path, Path, str]) -> None:
    record, _, _, stdout = run
    assert len(record["claims"]) == 4
    for claim in record["claims"]:
        assert claim["verdict"] in ("pass", "fail", "inconclusive")
        assert claim["value"] is not None and claim["low"] <= claim["value"] <= claim["high"]
        assert claim["verdict"].upper() in stdout
    # The effect itself, without its threshold: blocking the loop makes /work slower at p99.
    p99 = {k: v["by_request"]["/work"]["latency_ms"]["p99"] for k, v in record["variants"].items()}
    assert p99["bad"] > p99["fix_await"]


def test_variants_answer_alike(run: tuple[dict, Path, Path, str]) -> None:
    record, _, _, _ = run
    answers = [cell["answers"] for cell in record["cells"]]
    assert answers[0] == {"/health": {"status": "ok"}, "/work": {"ok": True, "waited_ms": 20}}
    assert all(a == answers[0] for a in answers)


def test_raw_outputs_are_kept(run: tuple[dict, Path, Path, str]) -> None:
    _, directory, _, _ = run
    assert (directory / "samples.csv").stat().st_size > 0
    for cell in ("r1-bad", "r1-fix_await", "r1-fix_threadpool"):
        for name in ("requests.csv", "window.json", "locust_stats.csv", "locust_stats_history.csv", "server.log"):
            assert (directory / "cells" / cell / name).exists(), f"{cell}/{name}"


def test_report_has_the_charts_and_works_offline(run: tuple[dict, Path, Path, str]) -> None:
    record, _, reports, _ = run
    html = (reports / "loop-blocking.html").read_text()
    for chart in ("latency", "throughput", "p99-time", "rps-time", "resources"):
        assert f'id="loop-blocking-{chart}"' in html, chart
    assert "<script src='plotly.min.js'>" in html and "cdn" not in html.lower()
    assert (reports / "plotly.min.js").stat().st_size > 1_000_000
    assert record["run_id"] in html
    index = (reports / "index.html").read_text()
    assert "loop-blocking.html" in index and ("pass" in index or "fail" in index or "inconclusive" in index)


def test_nothing_is_left_running(run: tuple[dict, Path, Path, str]) -> None:
    record, _, _, _ = run
    assert tagged(record["run_id"]) == []
    for cell in record["cells"]:
        assert not port_in_use("127.0.0.1", cell["port"])


def test_report_rebuilds_from_the_record_alone(run: tuple[dict, Path, Path, str], tmp_path: Path) -> None:
    record, directory, _, _ = run
    proc = lab("report", "loop-blocking", "--run", record["run_id"], "--results", str(directory.parent.parent),
               "--reports", str(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "loop-blocking.html").exists() and (tmp_path / "index.html").exists()
