"""Two runs of one scenario side by side, for regression tracking: per variant, how throughput and
latency moved, and whether anything that shapes a run differed (then the comparison says so)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Record = dict[str, Any]

# What must match for two runs to be compared as like for like.
SHAPING: list[tuple[str, Callable[[Record], object]]] = [
    ("profile", lambda r: r["profile"]),
    ("scenario file", lambda r: r["scenario_file"]["sha256"][:12]),
    ("load", lambda r: r["load"]),
    ("cpu", lambda r: r["environment"].get("cpu_model")),
    ("cores", lambda r: (r["pinning"]["server_cores"], r["pinning"]["generator_cores"])),
]
VERSIONS = ["python", "fastapi", "starlette", "pydantic", "uvicorn", "locust", "postgres"]


def differences(base: dict[str, Any], new: dict[str, Any]) -> list[str]:
    out = [f"{name}: {get(base)} -> {get(new)}" for name, get in SHAPING if get(base) != get(new)]
    for package in VERSIONS:
        a, b = base["environment"].get(package), new["environment"].get(package)
        if a != b:
            out.append(f"{package}: {a} -> {b}")
    return out


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or a == 0:
        return "-"
    return f"{b / a:.2f}x"


def table(base: dict[str, Any], new: dict[str, Any]) -> str:
    rows = [["variant", "rps", "", "p50 ms", "", "p99 ms", ""]]
    verdicts_base = {(c["text"], c["setting"]): c["verdict"] for c in base["claims"]}
    for group, v in new["variants"].items():
        old = base["variants"].get(group)
        if old is None:
            rows.append([group, f"{v['rps']:.1f}", "(new)", "", "", "", ""])
            continue
        rows.append([
            group,
            f"{old['rps']:.1f} -> {v['rps']:.1f}", _ratio(old["rps"], v["rps"]),
            f"{old['latency_ms']['p50']:.1f} -> {v['latency_ms']['p50']:.1f}",
            _ratio(old["latency_ms"]["p50"], v["latency_ms"]["p50"]),
            f"{old['latency_ms']['p99']:.1f} -> {v['latency_ms']['p99']:.1f}",
            _ratio(old["latency_ms"]["p99"], v["latency_ms"]["p99"]),
        ])  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    changed = [
        f"  {c['text']}{' [' + c['setting'] + ']' if c['setting'] else ''}: "
        f"{verdicts_base.get((c['text'], c['setting']), 'absent')} -> {c['verdict']}"
        for c in new["claims"]
        if verdicts_base.get((c["text"], c["setting"])) != c["verdict"]
    ]
    lines += ["", "verdicts that changed:", *changed] if changed else ["", "no verdict changed"]
    return "\n".join(lines)


def render(base: dict[str, Any], new: dict[str, Any]) -> str:
    head = f"{new['scenario']}: run {base['run_id']} -> {new['run_id']}"
    diff = differences(base, new)
    warning = (
        ["", "NOT like for like; these differ (ratios mix their effect with the code's):", *(f"  {d}" for d in diff)]
        if diff
        else ["", "like for like: same profile, scenario file, load, CPU, pinning and versions"]
    )
    return "\n".join([head, *warning, "", table(base, new)])
