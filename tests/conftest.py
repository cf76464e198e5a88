"""Shared helpers: the lab's CLI as a subprocess, and throwaway scenario files."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lab.paths import ROOT

# A real but tiny load: enough to prove the path, short enough for CI.
TINY_SCENARIO = """
title = "tiny"
pitfall = "a test scenario"
claim = "none"
locustfile = "{locustfile}"

[variants]
{variants}

[server]
startup_timeout_s = {startup_timeout_s}

[[verify]]
path = "/work"
json = {{ ok = true, waited_ms = 1 }}

[server.env]
BLOCK_MS = "1"

[profiles.quick]
users = 4
spawn_rate = 4
warmup_s = 0.5
duration_s = 2
options = {{ pacing = 0.1 }}

[profiles.default]
users = 4
spawn_rate = 4
warmup_s = 0.5
duration_s = 2
"""


def write_scenario(
    folder: Path,
    name: str = "tiny",
    variants: str = 'good = "apps.loop_blocking.fix_await:app"',
    locustfile: str = "locustfiles/loop_blocking.py",
    startup_timeout_s: float = 15,
    extra: str = "",
) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        TINY_SCENARIO.format(variants=variants, locustfile=locustfile, startup_timeout_s=startup_timeout_s) + extra
    )
    return path


def lab(*args: str, timeout: float = 300, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env
    )


def start_lab(*args: str, **options: Any) -> subprocess.Popen[str]:
    """The lab's CLI in the background, as a user's terminal starts it: with Ctrl-C's default
    action. A shell that starts jobs without job control (`cmd &` in a script, as a CI runner may)
    hands its children SIGINT ignored, and Python then leaves it ignored: the interrupt tests
    would measure the runner, not the lab."""
    return subprocess.Popen(
        [sys.executable, "-m", "lab", *args],
        cwd=ROOT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        **options,
    )


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """Results and reports folders of one test, so tests never touch the user's."""
    return tmp_path / "results", tmp_path / "reports"


# -- a failed end-to-end test keeps what explains it -------------------------------------------------
FAILURES = ROOT / "results" / "test-failures"
# Folders a module-scoped fixture ran the lab in (test_e2e's shared run): kept when a test using it fails.
KEPT: dict[str, list[Path]] = {}


def keep_on_failure(module: str, folder: Path) -> None:
    KEPT.setdefault(module, []).append(folder)


def _evidence(item: pytest.Item) -> list[Path]:
    found = []
    for name in ("dirs", "tmp_path"):
        value = getattr(item, "funcargs", {}).get(name)
        if isinstance(value, tuple):
            value = value[0].parent
        if isinstance(value, Path) and value.is_dir():
            found.append(value)
    return [*dict.fromkeys(found), *KEPT.get(item.module.__name__ if item.module else "", [])]


def _explain(folder: Path) -> list[str]:
    """The run records' status, failed cells and claims, so the CI log says why without the files."""
    from lab.errors import LabError
    from lab.record import store

    lines = []
    for path in sorted(folder.rglob("run.json")):
        try:
            rec = store.load(path.parent)
        except LabError as exc:
            lines.append(f"{path}: {exc}")
            continue
        lines.append(f"{path.parent}: {rec.status} {rec.error or ''}")
        lines += [
            f"  cell {c.id}: {c.status} {c.error or ''} flags={c.summary.flags if c.summary else []}" for c in rec.cells
        ]
        lines += [f"  {c.verdict}: {c.describe()} {c.reason}" for c in rec.claims]
    for log in sorted(folder.rglob("*.log"))[:12]:
        tail = log.read_text(errors="replace").splitlines()[-3:]
        lines += [f"  {log.relative_to(folder)}: {line}" for line in tail]
    return lines


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if not report.failed or item.get_closest_marker("e2e") is None:
        return
    folders = _evidence(item)
    if not folders:
        return
    target = FAILURES / "".join(c if c.isalnum() or c in "-_." else "_" for c in item.nodeid)[:150]
    shutil.rmtree(target, ignore_errors=True)
    for index, folder in enumerate(folders):
        shutil.copytree(folder, target / f"{index}-{folder.name}", dirs_exist_ok=True)
    report.sections.append(("kept for diagnosis", "\n".join([f"copied to {target}", *_explain(target)])))
