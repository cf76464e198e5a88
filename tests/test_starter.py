"""A service of your own: `lab init` from the app's OpenAPI, and the harness installed as a wheel."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lab.paths import ROOT
from lab.scenario import starter
from tests.conftest import lab

# The example service (examples/shop) is the service of somebody else's that these tests meet.
SERVICE = ROOT / "examples" / "shop" / "shop" / "main.py"


def _service_app() -> Any:
    spec = importlib.util.spec_from_file_location("example_shop", SERVICE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def project(tmp_path: Path) -> Path:
    """A service's repository: its package `myservice`, with no lab files in it."""
    root = tmp_path / "svc"
    (root / "myservice").mkdir(parents=True)
    (root / "myservice" / "__init__.py").write_text("")
    shutil.copy(SERVICE, root / "myservice" / "main.py")
    return root


def test_routes_without_anything_to_fill_in_are_loaded_and_the_rest_are_todos() -> None:
    app = _service_app()
    found = starter.routes(app.openapi())
    assert [(r.method, r.path) for r in found if r.loadable] == [("get", "/healthz"), ("get", "/items")]
    todo = {(r.method, r.path): r for r in found if not r.loadable}
    assert set(todo) == {("get", "/items/{item_id}"), ("get", "/search"), ("post", "/items")}
    assert todo[("get", "/search")].required == ("q",) and todo[("post", "/items")].body
    assert starter.health_route(found, app.openapi_url) == "/healthz"
    assert starter.health_route([r for r in found if r.path != "/healthz"], "/openapi.json") == "/openapi.json"
    text = starter.locustfile("myservice", "myservice.main:app", found, "locustfiles/myservice.py")
    compile(text, "locustfile", "exec")  # the commented TODOs stay comments; what is live must parse
    assert "def get_healthz(self)" in text and "def get_items(self)" in text
    assert text.count("# TODO ") == 3 and "# def get_items_item_id(self)" in text
    assert '"/items/TODO"' in text and '"/search?q=TODO"' in text and 'json={"TODO"' in text


@pytest.mark.e2e
def test_init_writes_a_scenario_that_loads_and_refuses_to_overwrite_it(tmp_path: Path) -> None:
    root = project(tmp_path)
    env = {**os.environ, "LAB_ROOT": str(root)}
    made = lab("init", "--app", "myservice.main:app", env=env)
    assert made.returncode == 0, made.stderr
    assert (root / "scenarios" / "myservice.toml").is_file() and (root / "locustfiles" / "myservice.py").is_file()
    assert "3 TODO" not in made.stdout and made.stdout.count("TODO ") == 3
    listed = lab("list", env=env)
    assert listed.returncode == 0 and listed.stdout.startswith("myservice  myservice: capacity at the SLO: service")
    again = lab("init", "--app", "myservice.main:app", env=env)
    assert again.returncode == 2 and again.stderr.strip() == (
        "error: scenarios/myservice.toml exists; pick another --name, or --force to write over it"
    )
    wrong = lab("init", "--app", "myservice.nothere:app", "--name", "other", env=env)
    assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1
    assert "could not import it" in wrong.stderr and "No module named 'myservice.nothere'" in wrong.stderr


@pytest.mark.e2e
@pytest.mark.slow
def test_the_wheel_installs_apart_and_measures_a_service_of_your_own(tmp_path: Path) -> None:
    """`pip install` of the harness into a fresh venv, then in the service's repository: init, and
    the quick profile end to end (the README's "your own service" steps)."""
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    wheels = tmp_path / "dist"
    subprocess.run([uv, "build", "--wheel", "--out-dir", str(wheels), str(ROOT)], check=True, capture_output=True)
    [wheel] = wheels.glob("fastapi_lab-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), str(wheel), "fastapi"], check=True, timeout=300
    )
    root = project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("LAB_ROOT", "PYTHONPATH", "VIRTUAL_ENV")}

    def tool(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(venv / "bin" / "fastapi-lab"), *args], cwd=root, env=env, capture_output=True, text=True, timeout=300
        )

    assert tool("init", "--app", "myservice.main:app").returncode == 0
    listed = tool("list")
    assert listed.returncode == 0 and listed.stdout.split()[0] == "myservice", listed.stderr
    ran = tool("run", "myservice", "--profile", "quick", "--quiet")
    assert ran.returncode == 0, ran.stderr[-2000:]
    [run] = (root / "results" / "myservice").iterdir()
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "complete" and [c["variant"] for c in record["cells"]] == ["service"]
    assert (root / "reports" / "myservice.html").is_file()
    assert not (ROOT / "results" / "myservice").exists()  # the service's results stay in its repository


def test_scenarios_resolve_in_a_folder_given_with_scenarios(tmp_path: Path) -> None:
    shutil.copy(ROOT / "scenarios" / "loop-blocking.toml", tmp_path / "mine.toml")
    listed = lab("list", "--scenarios", str(tmp_path), "--json")
    assert listed.returncode == 0, listed.stderr
    assert [s["name"] for s in json.loads(listed.stdout)] == ["mine"]
    missing = lab("list", "--scenarios", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and missing.stderr.strip() == (
        f"error: --scenarios {tmp_path / 'nowhere'}: no such folder; give a folder of scenario .toml files"
    )


def test_a_server_python_that_is_not_there_and_one_beside_deps_are_refused(tmp_path: Path) -> None:
    from lab.drive.servers import server_python
    from lab.errors import LabError
    from lab.scenario.models import ServerSettings

    assert server_python("") == sys.executable
    with pytest.raises(LabError, match=r"server.python '.venv-nowhere/bin/python': no interpreter at"):
        server_python(".venv-nowhere/bin/python")
    with pytest.raises(ValueError, match="give one of them, not both"):
        ServerSettings(deps="fastapi==0.115.*", python=".venv/bin/python")
