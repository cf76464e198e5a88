"""Every other scenario of the catalogue, quick profile, for real (loop-blocking has test_e2e.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.drive.processes import tagged
from lab.record import store
from lab.scenario import loading
from lab.scenario.plan import expand
from tests.conftest import lab

pytestmark = pytest.mark.e2e

# `make test` runs one database and one upstream scenario of the catalogue (loop-blocking has
# test_e2e.py); `make test-catalogue` runs every other.
IN_MAKE_TEST = {"n-plus-one", "client-per-request"}
SCENARIOS = [
    pytest.param(name, marks=() if name in IN_MAKE_TEST else pytest.mark.catalogue)
    for name in loading.known()
    if name != "loop-blocking"
]


@pytest.mark.parametrize("name", SCENARIOS)
def test_quick_profile_runs_end_to_end_with_claims_evaluated(name: str, dirs: tuple[Path, Path]) -> None:
    results, reports = dirs
    proc = lab("run", name, "--profile", "quick", "--results", str(results), "--reports", str(reports), "--quiet")
    assert proc.returncode == 0, proc.stderr[-2000:]
    [run_json] = list(results.glob(f"{name}/*/run.json"))
    rec = store.load(run_json.parent)
    loaded = loading.load(name)

    assert rec.status == "complete", rec.error
    assert tagged(rec.run_id) == []
    assert {c.variant for c in rec.cells} == set(loaded.variants)
    for group, variant in rec.variants.items():
        assert variant.requests > 0, group
        lat = [variant.value(p) for p in ("p50", "p90", "p99", "p99.9", "max")]
        if variant.failures == variant.requests:
            # A pitfall at full strength (session-leak's dry pool can fail every request of a short
            # window): latency is of successful requests, so there is none, never a made-up one.
            assert lat == [None] * 5, group
            continue
        assert 0 < lat[0] <= lat[1] <= lat[2] <= lat[3] <= lat[4], group  # type: ignore[operator]
    # Every claim for this load model was measured (a value, even when inconclusive) and printed.
    # (Claims at matrix points the quick profile does not vary, e.g. across FastAPI versions, are not.)
    model = loaded.profile("quick").model
    dimensions = set(expand(loaded, "quick")[0].setting)
    judged = [c for c in loaded.claims if c.needs_model in (None, model) and dimensions >= {*c.where, *c.baseline_at}]
    assert len(rec.claims) >= len(judged), "a claim was not evaluated"
    for claim in rec.claims:
        # A claim has a value, unless a cell it needs was untrusted (a step flagged generator_bound:
        # the lab refuses to present the generator's limit as the server's); the reason says which.
        assert claim.value is not None or "was flagged" in claim.reason, claim
        assert claim.describe() in proc.stdout
    if loaded.database is not None:
        assert rec.database is not None and rec.database.server_version == rec.environment.postgres
        # Some variants may not use it (inline-side-work's outbox is the only one that does).
        users = [g for g, v in rec.variants.items() if (v.value("db_connections_peak") or 0) >= 1]
        assert users, "no variant connected to the database"
        for group in users:
            assert (rec.variants[group].value("db_statements_per_request") or 0) > 0, group
    if loaded.upstream is not None:
        for group, variant in rec.variants.items():
            assert variant.value("upstream_requests") is not None, group
    if loaded.server.restart_at_s is not None:  # stopped and started again during the load
        for cell in rec.cells:
            assert [r.at_s >= loaded.server.restart_at_s and r.down_s > 0 for r in cell.restarts] == [True], cell.id
    assert (reports / f"{name}.html").exists()
