"""Shared helpers: the lab's CLI as a subprocess, and throwaway scenario files."""

from __future__ import annotations

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
