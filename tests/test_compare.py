"""Comparing two runs: ratios per variant, verdict changes, and a loud note when they differ in kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.record import store
from lab.record.models import RunRecord
from lab.report.compare import render
from tests.conftest import lab, write_scenario
from tests.recorded import loop_blocking


def slower(rec: RunRecord, factor: float) -> RunRecord:
    """The recorded run with bad's throughput divided and its p99 multiplied by `factor`, and its first verdict flipped."""
    bad = rec.variants["bad"]
    latency = {**bad.latency_ms, "p99": (bad.latency_ms["p99"] or 0) * factor}
    variants = {**rec.variants, "bad": bad.model_copy(update={"rps": (bad.rps or 0) / factor, "latency_ms": latency})}
    claims = [rec.claims[0].model_copy(update={"verdict": "fail"}), *rec.claims[1:]]
    return rec.model_copy(update={"run_id": "B", "variants": variants, "claims": claims})


def test_like_for_like_runs_show_ratios_and_changed_verdicts() -> None:
    base = loop_blocking()
    text = render(base, slower(base, 2.0))
    assert "like for like" in text and "NOT" not in text
    bad = next(line for line in text.splitlines() if line.startswith("bad "))
    assert bad.count("0.50x") == 1 and bad.count("2.00x") == 1 and bad.count("1.00x") == 1  # rps, p99, p50
    fix = next(line for line in text.splitlines() if line.startswith("fix_await "))
    assert fix.count("1.00x") == 3
    assert f"{base.claims[0].text}: {base.claims[0].verdict} -> fail" in text


def test_runs_that_differ_in_kind_say_so() -> None:
    base = loop_blocking()
    env = base.environment.model_copy(update={"packages": {**base.environment.packages, "fastapi": "0.129.2"}})
    new = base.model_copy(update={"environment": env, "profile": "default"})
    text = render(base, new)
    assert "NOT like for like" in text
    assert f"fastapi: {base.environment.packages['fastapi']} -> 0.129.2" in text and "profile: quick -> default" in text
    assert "no verdict changed" in text


@pytest.mark.e2e
def test_strict_exits_1_on_a_failed_claim(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    impossible = (
        '[[claims]]\ntext = "no request at all"\nmetric = "requests"\nvariant = "good"\nop = "<="\nthreshold = 0\n'
    )
    path = write_scenario(tmp_path, extra=impossible)
    # Two repeats: one gives a value but no interval, so no verdict to fail on.
    args = [
        "run",
        str(path),
        "--profile",
        "quick",
        "--repeats",
        "2",
        "--results",
        str(dirs[0]),
        "--no-report",
        "--quiet",
    ]
    # One run, with --strict (a second run without it cost `make test` 15 s): the failed claim is
    # exit 1 for CI, and the record is still kept whole, since a failed claim is a finding.
    strict = lab(*args, "--strict")
    assert strict.returncode == 1, strict.stderr
    assert "FAIL" in strict.stdout
    [directory] = list((dirs[0] / "tiny").iterdir())
    rec = store.load(directory)
    assert rec.status == "complete" and [c.verdict for c in rec.claims if c.text == "no request at all"] == ["fail"]


def test_the_compare_page_puts_two_runs_side_by_side(tmp_path: Path) -> None:
    from lab.report import compare_page
    from tests.recorded import LOOP_BLOCKING

    base = loop_blocking()
    new = slower(base, 2.0)
    page = compare_page.build(base, LOOP_BLOCKING, new, LOOP_BLOCKING, tmp_path).read_text()
    assert "Like for like" in page and "<td class='num'>0.50x</td>" in page and "<td class='num'>2.00x</td>" in page
    assert 'id="compare-base-latency"' in page and 'id="compare-now-latency"' in page
    assert f"<span class='verdict {base.claims[0].verdict}'>" in page and "<span class='verdict fail'>" in page


def test_a_change_the_repeats_noise_explains_is_marked_not_significant() -> None:
    from lab.analysis.intervals import welch_p

    assert welch_p([10, 11, 10.5], [20, 21, 20.5]) < 0.01  # type: ignore[operator]
    assert welch_p([10, 12, 11], [10.5, 11.5, 11]) > 0.5  # type: ignore[operator]
    assert welch_p([10], [10, 11]) is None
    base = loop_blocking()  # 2 repeats a variant: the same run on both sides differs by nothing
    text = render(base, base.model_copy(update={"run_id": "B"}))
    bad = next(line for line in text.splitlines() if line.startswith("bad "))
    assert bad.count("1.00x not significant") == 3
