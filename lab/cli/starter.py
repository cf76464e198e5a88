"""`lab init --app module:app`: a starter scenario and locustfile for a service of your own."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from lab.cli.common import Subparsers
from lab.drive.servers import server_python
from lab.errors import LabError
from lab.paths import ROOT, scenarios, shown
from lab.scenario import loading, starter

# Run in the service's interpreter, from the project root: the app's import string resolves there
# as it will when the lab serves it, and the service's import-time side effects stay in that process.
OPENAPI = """
import importlib, json, sys
module, _, attribute = sys.argv[1].partition(":")
app = importlib.import_module(module)
for part in attribute.split("."):
    app = getattr(app, part)
if not hasattr(app, "openapi"):
    sys.exit(f"{sys.argv[1]} is not a FastAPI app (it has no .openapi())")
print(json.dumps({"openapi": app.openapi(), "openapi_url": getattr(app, "openapi_url", None)}))
"""


def openapi(app: str, python: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    try:
        proc = subprocess.run(
            [python, "-c", OPENAPI, app], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"--app {app}: importing it took over 60 s") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise LabError(f"--app {app}: could not import it from {ROOT} with {python}: {last}")
    found: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return found


def _init(args: argparse.Namespace) -> int:
    if not re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*", args.app):
        raise LabError(f"--app {args.app!r}: give an import string, module:attribute (e.g. myservice.main:app)")
    name = args.name or re.sub(r"[^a-z0-9]+", "-", args.app.split(":")[0].split(".")[0].lower()).strip("-")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise LabError(f"--name {name!r}: lower-case letters, digits and dashes (it names the scenario's files)")
    folder = scenarios()
    scenario_path = folder / f"{name}.toml"
    locust_path = ROOT / "locustfiles" / f"{name.replace('-', '_')}.py"
    existing = [p for p in (scenario_path, locust_path) if p.exists()]
    if existing and not args.force:
        raise LabError(f"{shown(existing[0])} exists; pick another --name, or --force to write over it")
    python = server_python(args.python)
    document = openapi(args.app, python)
    found = starter.routes(document["openapi"])
    health = starter.health_route(found, document.get("openapi_url"))
    if health is None:
        raise LabError(
            f"--app {args.app}: no GET route without parameters and no /openapi.json to poll for readiness; "
            "add a health route (GET /health answering 200)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    locust_path.parent.mkdir(parents=True, exist_ok=True)
    relative = str(locust_path.relative_to(ROOT))
    locust_path.write_text(starter.locustfile(name, args.app, found, relative))
    text = starter.scenario(name, args.app, relative, found, health, args.python)
    scenario_path.write_text(text)
    loaded = loading.load(str(scenario_path))  # what it wrote must load: a bug here is the lab's
    loadable = [r for r in found if r.loadable]
    print(f"wrote {shown(scenario_path)} and {shown(locust_path)}")
    print(f"  {len(found)} routes in the app's OpenAPI: {len(loadable)} loaded as written (GET, nothing to fill in)")
    for route in (r for r in found if not r.loadable):
        print(f"  TODO {route.method.upper()} {route.path}: left commented in the locustfile ({starter.todo(route)})")
    print(
        f"  readiness: GET {health}; SLO: p99 <= {loaded.slo.p99_ms if loaded.slo else '?'} ms (edit slo = in the scenario)"
    )
    given = [] if folder == ROOT / "scenarios" else ["--scenarios", shown(folder)]
    command = " ".join(
        [Path(sys.argv[0]).name if Path(sys.argv[0]).name == "fastapi-lab" else "python -m lab", "run", name, *given]
    )
    print(f"next: {command} --profile quick   (about a minute), then without --profile for its capacity")
    return 0


def add_init(sub: Subparsers) -> None:
    p = sub.add_parser(
        "init",
        help="a starter scenario and locustfile for your own FastAPI app, from its OpenAPI",
        description="Writes scenarios/NAME.toml (an open-model sweep to an SLO: the app's capacity) and "
        "locustfiles/NAME.py (a task per GET route without required parameters; the other routes "
        "commented, each with a TODO). Example: fastapi-lab init --app myservice.main:app",
    )
    p.add_argument(
        "--app", required=True, help="the app's import string, module:attribute, importable from the project root"
    )
    p.add_argument("--name", help="the scenario's name (default: the app's top-level module)")
    p.add_argument(
        "--python",
        default="",
        help="the interpreter that has the app's dependencies, e.g. .venv/bin/python (default: the lab's own); "
        "written into the scenario as server.python",
    )
    p.add_argument("--force", action="store_true", help="write over existing files of that name")
    p.add_argument(
        "--scenarios",
        dest="scenarios_dir",
        type=Path,
        metavar="DIR",
        help="write the scenario here (default: scenarios/)",
    )
    p.set_defaults(func=_init)
