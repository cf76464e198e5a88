"""Comparing two runs: ratios per variant, verdict changes, and a loud note when they differ in kind."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from lab.compare import render
from tests.conftest import lab, write_scenario


def record(run_id: str, rps: float, p99: float, verdict: str) -> dict[str, Any]:
    return {
        "scenario": "demo", "run_id": run_id, "profile": "default",
        "scenario_file": {"path": "scenarios/demo.toml", "sha256": "ab" * 32},
        "load": {"users": 10}, "pinning": {"server_cores": [0], "generator_cores": [1]},
        "environment": {"python": "3.11.7", "fastapi": "0.165.0", "cpu_model": "cpu"},
        "variants": {"bad": {"rps": rps, "latency_ms": {"p50": p99 / 2, "p99": p99}}},
        "claims": [{"text": "bad is slow", "setting": "", "verdict": verdict}],
    }  # fmt: skip


def test_like_for_like_runs_show_ratios_and_changed_verdicts() -> None:
    text = render(record("A", 100.0, 50.0, "pass"), record("B", 50.0, 100.0, "fail"))
    assert "like for like" in text and "NOT" not in text
    assert "100.0 -> 50.0  0.50x" in text and "50.0 -> 100.0  2.00x" in text
    assert "bad is slow: pass -> fail" in text


def test_runs_that_differ_in_kind_say_so() -> None:
    base = record("A", 100.0, 50.0, "pass")
    new = copy.deepcopy(base)
    new["environment"]["fastapi"] = "0.129.2"
    new["profile"] = "quick"
    text = render(base, new)
    assert "NOT like for like" in text
    assert "fastapi: 0.165.0 -> 0.129.2" in text and "profile: default -> quick" in text
    assert "no verdict changed" in text


def test_strict_exits_1_on_a_failed_claim(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    impossible = (
        '[[claims]]\ntext = "no request at all"\nmetric = "requests"\nvariant = "good"\nop = "<="\nthreshold = 0\n'
    )
    path = write_scenario(tmp_path, extra=impossible)
    args = ["run", str(path), "--profile", "quick", "--results", str(dirs[0]), "--no-report", "--quiet"]
    assert lab(*args).returncode == 0  # a failed claim is a finding...
    strict = lab(*args, "--strict")
    assert strict.returncode == 1, strict.stderr  # ...unless CI asks for it to fail the build
    assert "FAIL" in strict.stdout
