"""Dependency sets: specs parsed strictly, environments built with uv and reused, scenarios run across them."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest

from lab import environments
from lab.errors import LabError
from tests.conftest import lab, write_scenario

OWN_FASTAPI = metadata.version("fastapi")


def test_a_malformed_spec_is_a_clear_error() -> None:
    with pytest.raises(LabError, match=r"dependency set 'fastapi=>1': 'fastapi=>1' is not a requirement spec"):
        environments.parse("fastapi=>1")
    with pytest.raises(LabError, match=r"only names and version specifiers"):
        environments.parse("fastapi @ https://example.invalid/fastapi.whl")


def test_a_set_pins_the_server_side_but_what_it_names() -> None:
    lines = environments.requirements("fastapi==0.129.*")
    assert "fastapi==0.129.*" in lines
    assert f"uvicorn=={metadata.version('uvicorn')}" in lines  # pinned to the lab's own
    assert "starlette" in lines and "pydantic" in lines  # left to the resolver, FastAPI bounds them
    assert not any(line.startswith("fastapi==" + OWN_FASTAPI) for line in lines)


def test_bad_versions_on_the_command_line(dirs: tuple[Path, Path]) -> None:
    proc = lab(
        "run", "json-serialization", "--profile", "quick", "--versions", "fastapi=>>1", "--results", str(dirs[0])
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("error: ")]
    assert "dependency set 'fastapi=>>1'" in line
    assert not dirs[0].exists()  # refused before anything ran


@pytest.mark.e2e
def test_a_set_that_cannot_be_installed_fails_its_cells_only(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    path = write_scenario(tmp_path)
    proc = lab("run", str(path), "--profile", "quick", "--versions", f"fastapi==999.0.0,fastapi=={OWN_FASTAPI}",
               "--results", str(dirs[0]), "--no-report")  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "dependency set 'fastapi==999.0.0' cannot be installed" in proc.stderr
    [run_json] = list(dirs[0].glob("*/*/run.json"))
    record = json.loads(run_json.read_text())
    assert [(c["setting_values"]["deps"], c["status"]) for c in record["cells"]] == [
        ("fastapi==999.0.0", "failed"), (f"fastapi=={OWN_FASTAPI}", "ok"),
    ]  # fmt: skip
    assert record["cells"][1]["versions"]["fastapi"] == OWN_FASTAPI


@pytest.mark.e2e
def test_json_serialization_across_two_fastapi_versions(dirs: tuple[Path, Path]) -> None:
    """The slow one (it may build two environments): the orjson question, version by version."""
    results, reports = dirs
    versions = f"fastapi==0.129.*,fastapi=={OWN_FASTAPI}"
    proc = lab("run", "json-serialization", "--profile", "quick", "--versions", versions, "--quiet",
               "--results", str(results), "--reports", str(reports), timeout=900)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    [run_json] = list(results.glob("json-serialization/*/run.json"))
    record = json.loads(run_json.read_text())
    assert record["status"] == "complete"
    seen = {c["setting_values"]["deps"]: c["versions"]["fastapi"] for c in record["cells"]}
    assert seen["fastapi==0.129.*"].startswith("0.129.")
    assert seen[f"fastapi=={OWN_FASTAPI}"] == OWN_FASTAPI
    settings = {c["setting"] for c in record["cells"]}
    assert len(settings) == 2 and {c["setting"] for c in record["claims"]} == settings  # judged at both
    assert len(record["variants"]) == 8 and all(v["requests"] > 0 for v in record["variants"].values())
    assert 'id="json-serialization-matrix"' in (reports / "json-serialization.html").read_text()
    # The environments are cached: a second use builds nothing.
    python, found = environments.ensure("fastapi==0.129.*")
    assert Path(python).exists() and found["fastapi"].startswith("0.129.")
