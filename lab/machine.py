"""Everything about the machine and software that shaped a run, recorded in run.json."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata

from lab.paths import ROOT
from lab.record import Environment

PACKAGES = [  # the server side and the harness; keys in run.json use underscores
    "fastapi",
    "starlette",
    "pydantic",
    "uvicorn",
    "gunicorn",
    "uvicorn-worker",
    "uvloop",
    "httptools",
    "locust",
    "orjson",
    "httpx",
    "asyncpg",
    "psycopg",
    "psycopg-pool",
    "sqlalchemy",
    "pandas",
    "plotly",
]


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=5, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def capture() -> Environment:
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return Environment(
        python=platform.python_version(),
        packages={name.replace("-", "_"): _version(name) for name in PACKAGES},
        cpu_count=os.cpu_count(),
        cpus_available=len(os.sched_getaffinity(0)),
        cpu_model=_cpu_model(),
        kernel=platform.release(),
        git_sha=_git("rev-parse", "HEAD"),
        git_dirty=bool(dirty) if dirty is not None else None,
    )
