"""What CI reads from a gate: a Markdown summary, JUnit XML, a JSON file, and Bencher's metric format.

The Markdown goes to `$GITHUB_STEP_SUMMARY` when it is set (and always to a file), short enough
for a pull-request comment: one table per scenario. JUnit has one test case per claim (a failure
is a regression, its text the verdict line); Bencher Metric Format (BMF) carries each claim's
value with its interval and each capacity, for Bencher or github-action-benchmark.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lab.ci.gate import GateResult
from lab.record.models import Sequential

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
        suite = ET.SubElement(
            suites, "testsuite", name=r.scenario, tests=str(len(r.findings)), failures=str(len(r.regressions))
        )
        for f in r.findings:
            case = ET.SubElement(suite, "testcase", classname=r.scenario, name=f.what)
            line = f"{MARK[f.kind]}: {f.what}: baseline {f.base}, now {f.now}" + (f"; {f.why}" if f.why else "")
            if f.kind == "regression":
                ET.SubElement(case, "failure", message=line).text = line
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


def bencher(results: Sequence[GateResult]) -> str:
    """BMF: {benchmark: {measure: {value, lower_value, upper_value}}}."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for r in results:
        for f in r.findings:
            c = f.claim
            if c is not None and c.value is not None:
                measure = {"value": c.value}
                if c.low is not None and c.high is not None:
                    measure |= {"lower_value": c.low, "upper_value": c.high}
                name = f"{r.scenario}: {c.text}" + (f" [{c.setting}]" if c.setting else "")
                out[name] = {"ratio" if c.baseline else c.metric: measure}
    return json.dumps(out, indent=2)


def write_all(results: Sequence[GateResult], folder: Path, could_not_run: Sequence[str] = ()) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "summary.md": markdown(results, could_not_run),
        "junit.xml": junit(results, could_not_run),
        "gate.json": as_json(results, could_not_run),
        "bencher.json": bencher(results),
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
