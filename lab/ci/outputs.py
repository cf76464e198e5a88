"""What CI reads from a gate: a Markdown summary, JUnit XML, a JSON file, and Bencher's metric format.

The Markdown goes to `$GITHUB_STEP_SUMMARY` when it is set (and always to a file), short enough
for a pull-request comment: one table per scenario. JUnit has one test case per claim (a failure
is a regression, its text the verdict line); Bencher Metric Format (BMF) carries each variant's
capacity and p99 and each claim's value, with intervals, under names that survive rewording; and
github-action-benchmark gets the same figures in its custom format, a file per direction.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lab import metrics
from lab.ci.gate import GateResult
from lab.record.models import ClaimResult, Sequential

MARK = {"regression": "REGRESSION", "improvement": "improved", "unchanged": "ok", "new": "new"}


def markdown(results: Sequence[GateResult], could_not_run: Sequence[str] = ()) -> str:
    regressions = sum(len(r.regressions) for r in results)
    head = (
        "## FastAPI perf lab: "
        + (f"{regressions} regression(s)" if regressions else "no regression")
        + (f", {len(could_not_run)} scenario(s) could not run" if could_not_run else "")
    )
    parts = [head, ""]
    for error in could_not_run:
        parts += [f"- could not run: {error}"]
    for r in results:
        parts += [f"### `{r.scenario}`: baseline {r.baseline_run} -> {r.run} (tolerance {r.tolerance:.0%})", ""]
        if r.differences:
            parts += ["Not like for like: " + "; ".join(r.differences), ""]
        if r.sequential:
            parts += [decided_line(r.sequential), ""]
        parts += [r.multiplicity, ""]
        parts += ["| | claim | baseline | now (interval) | change |", "| --- | --- | --- | --- | --- |"]
        for f in r.findings:
            change = "" if f.change is None else f"{f.change:+.0%}"
            why = f" ({f.why})" if f.kind == "regression" and f.why else ""
            parts.append(f"| {MARK[f.kind]} | {f.what} | {f.base} | {f.now} | {change}{why} |")
        parts.append("")
    return "\n".join(parts)


def decided_line(seq: Sequential) -> str:
    """`Decided after 2 of at most 4 repeats (98.33% intervals per look): ~41 s saved.`"""
    head = f"Decided after {seq.repeats_run} of at most {seq.max_repeats} repeats ({seq.confidence:.2%} intervals per look)"
    if seq.stopped_early:
        return f"{head}: ~{seq.saved_s:.0f} s saved."
    if seq.undecided:
        return f"Ran all {seq.max_repeats} repeats; still undecided: {'; '.join(seq.undecided)}."
    return f"{head}."


def junit(results: Sequence[GateResult], could_not_run: Sequence[str] = ()) -> str:
    suites = ET.Element("testsuites", name="fastapi-perf-lab")
    for r in results:
        new = [f for f in r.findings if f.kind == "new"]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=r.scenario,
            tests=str(len(r.findings)),
            failures=str(len(r.regressions)),
            skipped=str(len(new)),
        )
        for f in r.findings:
            case = ET.SubElement(suite, "testcase", classname=r.scenario, name=f.what)
            line = f"{MARK[f.kind]}: {f.what}: baseline {f.base}, now {f.now}" + (f"; {f.why}" if f.why else "")
            if f.kind == "regression":
                ET.SubElement(case, "failure", message=line).text = line
            elif f.kind == "new":  # nothing to compare it with yet: neither passed nor failed
                ET.SubElement(case, "skipped", message=f"new claim, no baseline yet: {f.now}")
            else:
                ET.SubElement(case, "system-out").text = line
    for error in could_not_run:
        suite = ET.SubElement(suites, "testsuite", name="could not run", tests="1", errors="1")
        case = ET.SubElement(suite, "testcase", classname="lab", name=error.split(":", 1)[0])
        ET.SubElement(case, "error", message=error).text = error
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def as_json(results: Sequence[GateResult], could_not_run: Sequence[str] = ()) -> str:
    def finding(f: Any) -> dict[str, Any]:
        data = asdict(f)
        data.pop("claim", None)
        return data

    return json.dumps(
        {
            "regressions": sum(len(r.regressions) for r in results),
            "could_not_run": list(could_not_run),
            "scenarios": [
                {
                    "scenario": r.scenario,
                    "baseline_run": r.baseline_run,
                    "run": r.run,
                    "tolerance": r.tolerance,
                    "differences": r.differences,
                    "sequential": r.sequential.model_dump() if r.sequential else None,
                    "findings": [finding(f) for f in r.findings],
                }
                for r in results
            ],
        },
        indent=2,
    )


# Units of the measures a tracker plots: each claim's value is its metric's own unit, or `x` for a ratio.
UNITS = {"capacity": "req/s", "latency-p99": "ms", "ratio": "x"}


def claim_id(c: ClaimResult) -> str:
    """A claim's name for a tracker, from what it measures rather than its sentence, so rewording a
    claim keeps its series: `arrival_p90:bad/fix_await@40[/work]`, with its matrix point."""
    name = f"{c.metric}:{c.variant}" + (f"/{c.baseline}" if c.baseline else "")
    name += f"@{c.at_rps:g}" if c.at_rps is not None else ""
    name += f"[{c.request}]" if c.request != "all" else ""
    return name + (f"[{c.setting}]" if c.setting else "")


def _measure(c: ClaimResult) -> str:
    if c.baseline:
        return "ratio"
    known = metrics.get(c.metric)
    return known.unit if known is not None and known.unit else "value"


def series(results: Sequence[GateResult]) -> list[tuple[str, str, float, float | None, float | None, str]]:
    """Every figure a tracker keeps: (benchmark, measure, value, low, high, better): each variant's
    capacity and p99 (`scenario/variant`), and each claim's value (`scenario/claim id`)."""
    out: list[tuple[str, str, float, float | None, float | None, str]] = []
    for r in results:
        for figure in r.figures:
            better = "higher" if figure.measure == "capacity" else "lower"
            out.append((f"{r.scenario}/{figure.group}", figure.measure, figure.value, figure.low, figure.high, better))
        for f in r.findings:
            c = f.claim
            if c is not None and c.value is not None:
                better = "higher" if c.op == ">=" else "lower" if c.op == "<=" else "none"
                out.append((f"{r.scenario}/{claim_id(c)}", _measure(c), c.value, c.low, c.high, better))
    return out


def bencher(results: Sequence[GateResult]) -> str:
    """Bencher Metric Format: {benchmark: {measure: {value, lower_value, upper_value}}}; measures
    `capacity` (req/s), `latency-p99` (ms) and `ratio` (x), or a claim's metric unit."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, measure, value, low, high, _ in series(results):
        entry = {"value": value}
        if low is not None and high is not None:
            entry |= {"lower_value": low, "upper_value": high}
        out.setdefault(name, {})[measure] = entry
    return json.dumps(out, indent=2)


def action_benchmark(results: Sequence[GateResult], better: str) -> str:
    """github-action-benchmark's custom format, one file per direction (`customBiggerIsBetter`,
    `customSmallerIsBetter`): [{name, unit, value, range, extra}]."""
    out = []
    for name, measure, value, low, high, way in series(results):
        if way != better:
            continue
        entry: dict[str, Any] = {"name": f"{name} ({measure})", "unit": UNITS.get(measure, measure), "value": value}
        if low is not None and high is not None:
            entry["range"] = f"{low:.4g} to {high:.4g}"
        out.append(entry)
    return json.dumps(out, indent=2)


def write_all(results: Sequence[GateResult], folder: Path, could_not_run: Sequence[str] = ()) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "summary.md": markdown(results, could_not_run),
        "junit.xml": junit(results, could_not_run),
        "gate.json": as_json(results, could_not_run),
        "bencher.json": bencher(results),
        "benchmark-bigger.json": action_benchmark(results, "higher"),
        "benchmark-smaller.json": action_benchmark(results, "lower"),
    }
    written = []
    for name, text in files.items():
        (folder / name).write_text(text)
        written.append(folder / name)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a") as handle:
            handle.write(files["summary.md"] + "\n")
    return written
