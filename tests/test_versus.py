"""Base against head on one runner (`lab ci --base REF`): the paired scenario, the gate's findings
on judged claims, and the example repository's plant and comment-only change end to end."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from lab.ci import versus
from lab.paths import ROOT
from lab.record.models import ClaimResult
from lab.scenario import loading
from tests.conftest import lab
from tests.recorded import loop_blocking

BASE = versus.Checkout("HEAD~1", "a" * 40, Path("/tmp/base-worktree"))


def test_the_paired_scenario_runs_each_variant_from_both_checkouts_with_the_gates_claims() -> None:
    item = loading.load("loop-blocking")
    paired = versus.paired(item, BASE, "ci", rate=40, tolerance=0.25)
    assert list(paired.variants) == [f"{s}_{v}" for v in item.variants for s in ("base", "head")]
    assert paired.variant_roots == {f"base_{v}": "/tmp/base-worktree" for v in item.variants}
    assert set(paired.profiles) == {"quick", "default", "ci"} and paired.ci.profile == "ci"
    gate = [c for c in paired.claims if not c.text.startswith("[")]
    assert [(c.metric, c.variant, c.baseline, c.op, c.threshold, c.at_rps) for c in gate[:2]] == [
        ("capacity", "head_bad", "base_bad", ">=", 0.75, None),
        ("arrival_p99", "head_bad", "base_bad", "<=", 1.25, 40),
    ]
    assert len(gate) == 2 * len(item.variants)
    own = [c for c in paired.claims if c.text.startswith("[")]
    assert len(own) == 2 * len([c for c in item.claims if c.of is None])
    assert own[0].variant == "base_fix_await" and own[0].baseline == "base_bad"


def _judged(text: str, verdict: str, value: float | None, low: float | None, high: float | None) -> ClaimResult:
    op = "<=" if text.startswith("p99") else ">="
    return ClaimResult(
        text=text,
        metric="capacity",
        variant="head_s",
        baseline="base_s",
        op=op,
        threshold=1,
        setting="",
        value=value,
        low=low,
        high=high,
        verdict=verdict,  # type: ignore[arg-type]
    )


def test_a_failed_ratio_and_a_claim_the_head_lost_are_regressions_and_a_close_call_is_not() -> None:
    claims = [
        _judged("capacity of s: head keeps at least 75% of the base's", "fail", 0.1, 0.05, 0.2),
        _judged("p99 of s at 100 req/s: head at most 1.25x the base's", "inconclusive", 1.1, 0.8, 1.6),
        _judged("[base] the fix is 10x", "pass", 12, 11, 13),
        _judged("[head] the fix is 10x", "fail", 4, 3, 5),
        _judged("[base] neighbour", "pass", 9, 8, 10),
        _judged("[head] neighbour", "inconclusive", 9, 4, 14),
    ]
    rec = loop_blocking().model_copy(update={"claims": claims})
    result = versus.gate(loading.load("loop-blocking"), rec, BASE, 0.25)
    kinds = {f.what: f.kind for f in result.findings}
    assert kinds == {
        "capacity of s: head keeps at least 75% of the base's": "regression",
        "p99 of s at 100 req/s: head at most 1.25x the base's": "unchanged",
        "the fix is 10x": "regression",
        "neighbour": "unchanged",
    }
    unmeasured = _judged("p99 of s at 100 req/s: head at most 1.25x the base's", "inconclusive", None, None, None)
    result = versus.gate(loading.load("loop-blocking"), rec.model_copy(update={"claims": [unmeasured]}), BASE, 0.25)
    assert [f.kind for f in result.findings] == ["regression"]  # a gate that cannot compare must not pass


def test_a_base_that_is_not_a_commit_is_one_line() -> None:
    proc = lab("ci", "--base", "no-such-ref-anywhere", "loop-blocking")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "--base 'no-such-ref-anywhere': not a commit of the repository" in proc.stderr


@pytest.mark.e2e
@pytest.mark.slow
def test_the_example_plant_fails_the_gate_and_a_comment_passes_it(tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    subprocess.run([str(ROOT / "examples" / "make-history.sh"), str(repo)], check=True, capture_output=True)
    env = {**os.environ, "LAB_ROOT": str(repo)}

    def gate_at(tag: str) -> subprocess.CompletedProcess[str]:
        subprocess.run(["git", "checkout", "-q", tag], cwd=repo, check=True)
        return lab("ci", "--base", "HEAD~1", "--quiet", env=env, timeout=600)

    planted = gate_at("plant")
    assert planted.returncode == 1, planted.stdout[-3000:] + planted.stderr[-2000:]
    assert "REGRESSION" in planted.stdout and "p99 of service at 100 req/s" in planted.stdout
    comment = gate_at("comment")
    assert comment.returncode == 0, comment.stdout[-3000:] + comment.stderr[-2000:]
    assert "REGRESSION" not in comment.stdout


def test_the_action_and_its_workflows_hold_together() -> None:
    """A schema check (actionlint does not install here: its PyPI package downloads the binary from
    GitHub): the Action is composite, every step runs or uses something, every input it reads is
    declared, and a workflow that uses it passes only inputs it declares, with the permissions it
    needs; where actionlint is installed, it checks them too."""
    import shutil

    import yaml

    text = (ROOT / "action.yml").read_text()
    action = yaml.safe_load(text)
    assert action["runs"]["using"] == "composite" and {"name", "description", "inputs", "outputs"} <= set(action)
    ids = {step.get("id") for step in action["runs"]["steps"]}
    for step in action["runs"]["steps"]:
        assert ("uses" in step) != ("run" in step), step
        assert "run" not in step or step.get("shell") == "bash", step
    read = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert read and read <= set(action["inputs"]), read - set(action["inputs"])
    for output in action["outputs"].values():
        [step_id] = re.findall(r"^\$\{\{ steps\.([a-z-]+)\.outputs\.[a-z-]+ \}\}$", output["value"])
        assert step_id in ids
    flows = list((ROOT / ".github" / "workflows").glob("*.yml"))
    assert any("uses: ./" in f.read_text() for f in flows)
    for path in flows:
        flow = yaml.safe_load(path.read_text())
        # Each asks for what its steps need and no more (a read-only token otherwise).
        uses = " ".join(str(s.get("uses", "")) for job in flow["jobs"].values() for s in job["steps"])
        needed = {"contents": "read"}
        if "junit" in uses or "uses: ./" in path.read_text():
            needed |= {"checks": "write", "pull-requests": "write"}
        if "deploy-pages" in uses:
            needed |= {"pages": "write", "id-token": "write"}
        assert flow["permissions"] == needed, path.name
        for job in flow["jobs"].values():
            assert job["runs-on"] and job["timeout-minutes"] <= 60
            for step in job["steps"]:
                assert ("uses" in step) != ("run" in step), (path.name, step)
                if step.get("uses") == "./":
                    assert set(step.get("with", {})) <= set(action["inputs"]), path.name
    actionlint = shutil.which("actionlint")
    if actionlint:
        proc = subprocess.run([actionlint, "-color=never"], cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
