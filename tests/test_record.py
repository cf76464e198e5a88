"""The typed run record: old records load, bad ones fail in one line, and the published contract
(JSON Schema, the field tables of results/README.md, the metric tables) matches the models."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from lab import metrics
from lab.cli import published
from lab.errors import LabError
from lab.paths import RESULTS
from lab.record import models, store
from lab.record.models import RunRecord
from tests.recorded import LOOP_BLOCKING, loop_blocking

SCHEMA1 = Path(__file__).parent / "data" / "records" / "loop-blocking-schema1.json"


def test_a_schema_1_record_still_loads(tmp_path: Path) -> None:
    shutil.copy(SCHEMA1, tmp_path / "run.json")
    old = json.loads(SCHEMA1.read_text())
    rec = store.load(tmp_path)
    assert rec.schema_version == models.SCHEMA_VERSION and rec.status == "complete"
    assert rec.upgraded_from == 1 and loop_blocking().upgraded_from == 2  # what it was written in
    assert rec.environment.packages["fastapi"] == old["environment"]["fastapi"]
    bad = old["variants"]["bad"]
    assert rec.variants["bad"].value("server_cpu_pct") == bad["server_cpu_pct"]
    assert rec.variants["bad"].value("p99", "/work") == bad["by_request"]["/work"]["latency_ms"]["p99"]
    assert [c.verdict for c in rec.claims] == [c["verdict"] for c in old["claims"]]


def test_the_record_round_trips_through_its_own_json(tmp_path: Path) -> None:
    rec = loop_blocking()
    store.write(tmp_path, rec)
    assert store.load(tmp_path) == rec


def test_a_record_that_does_not_validate_is_one_line_naming_file_and_field(tmp_path: Path) -> None:
    data = json.loads((LOOP_BLOCKING / "run.json").read_text())
    data["cells"][0]["status"] = "maybe"
    (tmp_path / "run.json").write_text(json.dumps(data))
    with pytest.raises(LabError) as err:
        store.load(tmp_path)
    message = str(err.value)
    assert "\n" not in message and "run.json" in message and "cells.0.status" in message and "'maybe'" in message
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(LabError, match="not a valid run record"):
        store.load(tmp_path)


def test_a_summary_with_a_metric_outside_the_registry_is_refused(tmp_path: Path) -> None:
    data = json.loads((LOOP_BLOCKING / "run.json").read_text())
    data["cells"][0]["summary"]["metrics"]["server_cpu_percent"] = 3.0
    (tmp_path / "run.json").write_text(json.dumps(data))
    with pytest.raises(LabError, match="'server_cpu_percent' is not a cell-level metric"):
        store.load(tmp_path)


def test_published_schema_and_metric_tables_are_current() -> None:
    stale = [str(path) for path, text in published().items() if path.read_text() != text]
    assert not stale, f"out of date (run `python -m lab schema`): {stale}"
    schema = json.loads((RESULTS / "run.schema.json").read_text())
    assert set(schema["properties"]) == {f.alias or n for n, f in RunRecord.model_fields.items()}


def _readme_tables() -> dict[str, set[str]]:
    """Per `### \\`Model\\`` section of results/README.md: the backticked names in its first column."""
    text = (RESULTS / "README.md").read_text()
    out = {}
    for model, body in re.findall(r"^### `(\w+)`[^\n]*\n(.*?)(?=^#|\Z)", text, flags=re.S | re.M):
        names = set()
        for line in body.splitlines():
            if line.startswith("| `"):
                names |= set(re.findall(r"`([^`]+)`", line.split("|")[1]))
        out[model] = names
    return out


def test_the_readme_documents_every_field_of_every_model() -> None:
    tables = _readme_tables()
    documented = {"RunRecord", "Environment", "CellRecord", "CellSummary", "Traffic", "VariantSummary", "ClaimResult"}
    assert set(tables) == documented
    for name, fields in tables.items():
        model = getattr(models, name)
        assert fields == {f.alias or n for n, f in model.model_fields.items()}, name


def test_the_registry_is_consistent() -> None:
    assert len(metrics.BY_NAME) == len(metrics.REGISTRY)
    for m in metrics.REGISTRY:
        assert all(part in metrics.BY_NAME for part in m.of), m.name
        assert bool(m.series) == (m.reduce in ("mean", "peak", "last", "delta")), m.name
    assert metrics.get("app_pending_peak") is not None and metrics.get("app_pending") is None
    assert set(metrics.TRAFFIC) >= {"p99", "rps", "failures"}


def test_the_newest_run_is_never_a_null_mode_audit_unless_asked(tmp_path: Path) -> None:
    """An A/A run (every variant the same code) must not become the pitfall's report, slides or gate."""
    from lab.record import store

    measured = tmp_path / "loop-blocking" / "20261122T000000000Z"
    audit = tmp_path / "loop-blocking" / "20261122T000000001Z"
    shutil.copytree(LOOP_BLOCKING, measured)
    shutil.copytree(LOOP_BLOCKING, audit)
    store.write(audit, loop_blocking().model_copy(update={"null_mode": True}))
    assert store.latest("loop-blocking", tmp_path) == measured
    assert store.latest("loop-blocking", tmp_path, null_mode=True) == audit
