"""Everything about the machine and software that shaped a run, recorded in run.json."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path

import psutil

from lab.drive.processes import available_cores
from lab.paths import ROOT
from lab.record.models import Environment, MachineState

PACKAGES = [  # the server side and the harness; keys in run.json use underscores
    "fastapi",
    "starlette",
    "pydantic",
    "uvicorn",
    "gunicorn",
    "uvicorn-worker",
    "granian",
    "hypercorn",
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


def lab_commit() -> str | None:
    return _git("rev-parse", "HEAD")


def capture() -> Environment:
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return Environment(
        python=platform.python_version(),
        packages={name.replace("-", "_"): _version(name) for name in PACKAGES},
        cpu_count=os.cpu_count(),
        cpus_available=len(available_cores()),
        cpu_model=_cpu_model(),
        kernel=platform.release(),
        git_sha=_git("rev-parse", "HEAD"),
        git_dirty=bool(dirty) if dirty is not None else None,
    )


# A process using this much of a core at the start of a run makes the machine "busy": the run goes
# on, with a warning in its record and output. The load average is recorded but not judged: it
# lags by minutes, so right after another run it reads high on an idle machine.
BUSY_PROCESS_PCT = 20.0
_CPU = Path("/sys/devices/system/cpu")


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _cores(text: str | None) -> list[int]:
    """`0-2,5` -> [0, 1, 2, 5]"""
    out: list[int] = []
    for part in (text or "").split(","):
        if "-" in part:
            lo, hi = part.split("-")
            out += range(int(lo), int(hi) + 1)
        elif part.strip():
            out.append(int(part))
    return out


def _boost() -> bool | None:
    generic = _read(_CPU / "cpufreq" / "boost")
    if generic is not None:
        return generic == "1"
    no_turbo = _read(_CPU / "intel_pstate" / "no_turbo")
    return None if no_turbo is None else no_turbo == "0"


def _busy_processes(seconds: float = 0.5) -> list[str]:
    procs = []
    for proc in psutil.process_iter(["pid", "name"]):
        with contextlib.suppress(psutil.Error):
            proc.cpu_percent(None)
            procs.append(proc)
    time.sleep(seconds)
    busy = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            pct = proc.cpu_percent(None)
            if pct >= BUSY_PROCESS_PCT and proc.pid != os.getpid():
                busy.append((pct, f"{proc.info['name']} (pid {proc.pid}) {pct:.0f}%"))
    return [text for _, text in sorted(busy, reverse=True)[:5]]


def state(cores: list[int]) -> MachineState:
    """What makes numbers comparable across machines, read at the start of a run: frequency
    governor and boost, the SMT siblings of the cores the lab pins to, isolated cores, and how
    busy the machine was."""
    freq = {c: float(f) / 1000 for c in cores if (f := _read(_CPU / f"cpu{c}" / "cpufreq" / "scaling_cur_freq"))}
    siblings = {c: _cores(_read(_CPU / f"cpu{c}" / "topology" / "thread_siblings_list")) for c in cores}
    busy = _busy_processes()
    return MachineState(
        governor=_read(_CPU / "cpu0" / "cpufreq" / "scaling_governor"),
        frequency_mhz=freq or None,
        boost=_boost(),
        smt_siblings={c: s for c, s in siblings.items() if s},
        isolated=_cores(_read(_CPU / "isolated")),
        load_average=[round(x, 2) for x in os.getloadavg()],
        busy_processes=busy,
        busy=bool(busy),
    )
