"""Dependency sets: specs parsed strictly, environments built with uv and reused, scenarios run across them."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from lab.drive import depsets
from lab.errors import LabError
from lab.record import store
from lab.scenario import versions
from tests.conftest import lab, write_scenario

OWN_FASTAPI = metadata.version("fastapi")


def test_a_malformed_spec_is_a_clear_error() -> None:
    with pytest.raises(LabError, match=r"dependency set 'fastapi=>1': 'fastapi=>1' is not a requirement spec"):
        versions.parse("fastapi=>1")
    with pytest.raises(LabError, match=r"only names and version specifiers"):
        versions.parse("fastapi @ https://example.invalid/fastapi.whl")


def test_a_set_pins_the_server_side_but_what_it_names() -> None:
    lines = depsets.requirements("fastapi==0.129.*")
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
    proc = lab(
        "run",
        str(path),
        "--profile",
        "quick",
        "--versions",
        f"fastapi==999.0.0,fastapi=={OWN_FASTAPI}",
        "--results",
        str(dirs[0]),
        "--no-report",
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "dependency set 'fastapi==999.0.0' cannot be installed" in proc.stderr
    [run_json] = list(dirs[0].glob("*/*/run.json"))
    rec = store.load(run_json.parent)
    assert [(c.setting_values["deps"], c.status) for c in rec.cells] == [
        ("fastapi==999.0.0", "failed"),
        (f"fastapi=={OWN_FASTAPI}", "ok"),
    ]
    assert rec.cells[1].versions is not None and rec.cells[1].versions["fastapi"] == OWN_FASTAPI


@pytest.mark.e2e
@pytest.mark.slow
def test_json_serialization_across_two_fastapi_versions(dirs: tuple[Path, Path]) -> None:
    """The slow one (it may build two environments): the orjson question, version by version."""
    results, reports = dirs
    versions = f"fastapi==0.129.*,fastapi=={OWN_FASTAPI}"
    proc = lab(
        "run",
        "json-serialization",
        "--profile",
        "quick",
        "--versions",
        versions,
        "--quiet",
        "--results",
        str(results),
        "--reports",
        str(reports),
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    [run_json] = list(results.glob("json-serialization/*/run.json"))
    rec = store.load(run_json.parent)
    assert rec.status == "complete"
    seen = {c.setting_values["deps"]: (c.versions or {}).get("fastapi", "") for c in rec.cells}
    assert seen["fastapi==0.129.*"].startswith("0.129.")
    assert seen[f"fastapi=={OWN_FASTAPI}"] == OWN_FASTAPI
    settings = {c.setting for c in rec.cells}
    assert len(settings) == 2 and {c.setting for c in rec.claims} == settings  # judged at both
    assert len(rec.variants) == 8 and all(v.requests > 0 for v in rec.variants.values())
    assert 'id="json-serialization-matrix"' in (reports / "json-serialization.html").read_text()
    # The environments are cached: a second use builds nothing.
    python, found = depsets.ensure("fastapi==0.129.*")
    assert Path(python).exists() and found["fastapi"].startswith("0.129.")
