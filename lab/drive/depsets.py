"""Dependency sets: isolated environments the server under test runs in, built with uv and cached.

A set is one or more requirement specs joined with `+` (`fastapi==0.129.*+pydantic==2.10.*`).
Its environment holds the server side of the lab (FastAPI, uvicorn, drivers...) pinned to the
versions of the lab's own environment, except the packages the set names and what they pull in
(starlette and pydantic are left to the resolver, since FastAPI constrains them). Locust and the
harness always run in the lab's own environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name

from lab.errors import CellError, LabError
from lab.paths import ROOT
from lab.scenario.versions import parse

ENVS = ROOT / ".lab-envs"
# The server side of every app, pinned to the lab's own versions unless a set names them.
PINNED = [
    "uvicorn",
    "uvloop",
    "httptools",
    "gunicorn",
    "uvicorn-worker",
    "granian",
    "hypercorn",
    "orjson",
    "httpx",
    "requests",
    "tenacity",
    "asyncpg",
    "psycopg",
    "psycopg-binary",
    "psycopg-pool",
    "sqlalchemy",
]
# Resolved with the set: FastAPI bounds them, so the lab's own versions may not fit an old FastAPI.
FLOATING = ["fastapi", "starlette", "pydantic"]
REPORTED = [*FLOATING, "pydantic-core", "uvicorn", "orjson"]
INSTALL_TIMEOUT_S = 600
# Run inside a set's environment: the versions of the packages named on its command line.
PROBE = """
import importlib.metadata as m, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = m.version(name)
    except m.PackageNotFoundError:
        pass
print(json.dumps(found))
"""


def requirements(spec: str) -> list[str]:
    named = {canonicalize_name(r.name): str(r) for r in parse(spec)}
    lines = []
    for package in PINNED:
        if canonicalize_name(package) in named:
            continue
        try:
            lines.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            continue
    lines += [p for p in FLOATING if canonicalize_name(p) not in named]
    return sorted(lines + list(named.values()))


def _uv() -> str:
    for candidate in (ROOT / ".tools" / "bin" / "uv", shutil.which("uv")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise LabError("uv is not installed; run `make setup`, which puts it in .tools/")


def ensure(spec: str) -> tuple[str, dict[str, str]]:
    """The python of the set's environment (built on first use, then reused) and its versions."""
    lines = requirements(spec)
    key = hashlib.sha256(json.dumps([sys.version, lines]).encode()).hexdigest()[:16]
    folder = ENVS / key
    ready = folder / "lab-env.json"
    python = folder / "bin" / "python"
    if ready.is_file() and python.exists():
        return str(python), json.loads(ready.read_text())["versions"]
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    uv = _uv()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    steps = [
        [uv, "venv", "--quiet", "--python", sys.executable, str(folder)],
        [uv, "pip", "install", "--quiet", "--python", str(python), *lines],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, env=env, timeout=INSTALL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            shutil.rmtree(folder, ignore_errors=True)
            raise CellError(f"dependency set {spec!r}: installing took over {INSTALL_TIMEOUT_S}s") from None
        if done.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            reason = " ".join(line.strip() for line in done.stderr.strip().splitlines()[-3:])
            raise CellError(f"dependency set {spec!r} cannot be installed: {reason or 'uv failed'}")
    versions = json.loads(
        subprocess.run([str(python), "-c", PROBE, *REPORTED], capture_output=True, text=True, check=True).stdout
    )
    ready.write_text(json.dumps({"spec": spec, "requirements": lines, "versions": versions}, indent=2))
    return str(python), versions
