"""Every other scenario of the catalogue, quick profile, for real (loop-blocking has test_e2e.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import scenario
from lab.processes import tagged
from tests.conftest import lab

pytestmark = pytest.mark.e2e

SCENARIOS = [name for name in scenario.known() if name != "loop-blocking"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_quick_profile_runs_end_to_end_with_claims_evaluated(name: str, dirs: tuple[Path, Path]) -> None:
    results, reports = dirs
    proc = lab("run", name, "--profile", "quick", "--results", str(results), "--reports", str(reports), "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    [run_json] = list(results.glob(f"{name}/*/run.json"))
    record = json.loads(run_json.read_text())
    loaded = scenario.load(name)

    assert record["status"] == "complete", record["error"]
    assert tagged(record["run_id"]) == []
    assert {c["variant"] for c in record["cells"]} == set(loaded.variants)
    for group, variant in record["variants"].items():
        assert variant["requests"] > 0, group
        lat = variant["latency_ms"]
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"], group
    # The variants of a pitfall answer alike at each matrix point: the same verified bodies, route by route.
    for setting in {cell["setting"] for cell in record["cells"]}:
        answers = [cell["answers"] for cell in record["cells"] if cell["setting"] == setting]
        assert all(a == answers[0] for a in answers), setting

    assert record["claims"], "no claim was evaluated"
    for claim in record["claims"]:
        assert claim["verdict"] in ("pass", "fail", "inconclusive")
        assert claim["value"] is not None, claim
    if loaded.database is not None:
        assert record["database"]["server_version"] == record["environment"]["postgres"]
        for group, variant in record["variants"].items():
            assert variant["db_connections_peak"] >= 1, group
            assert variant["db_statements_per_request"] > 0, group
    assert (reports / f"{name}.html").exists()
