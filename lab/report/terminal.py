"""The terminal view of a run record: one row per variant, then the claims with verdicts."""

from __future__ import annotations

from lab import metrics
from lab.analysis import attribution, queue_check
from lab.analysis.capacity import capacities, curve
from lab.analysis.flags import GENERATOR_BOUND_CPU_PCT, floor_line
from lab.record.models import RunRecord

VERDICT_MARK = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def columns(rec: RunRecord) -> list[metrics.Metric]:
    """The registry's table columns whose metric this record holds (server and Locust always)."""
    present = [n for v in rec.variants.values() for n in v.metrics]
    return metrics.columns([*present, "server_cpu_pct", "server_rss_mb", "generator_cpu_pct"])


def align(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def variants_table(rec: RunRecord) -> str:
    cols = columns(rec)
    rows = [["variant", *(m.table for m in cols), "flags"]]
    for group, v in rec.variants.items():
        rows.append([group, *(_fmt(v.value(m.name), m.digits) for m in cols), ",".join(v.flags)])
    return align(rows)


def capacity_table(rec: RunRecord) -> str:
    """Capacity at the SLO per variant and setting; `>=` where the sweep's top (or the generator)
    was reached first, `<` where even its lowest rate missed."""
    found = capacities(rec)
    if not found:
        return ""
    rows = [
        [
            "capacity at the SLO",
            "req/s",
            "per repeat (met-missed)",
            "p99 ms there",
            "srv cpu%",
            "MB/worker",
            "db conn",
            "note",
        ]
    ]
    for c in found:
        rows.append(
            [
                c.group,
                c.shown,
                c.per_repeat,
                _fmt(c.p99_ms),
                _fmt(c.cpu_pct, 0),
                _fmt(c.rss_mb_per_worker, 0),
                _fmt(c.db_connections, 0),
                f"{c.workers} workers share {len(rec.pinning.server_cores)} core(s): contention, not scaling"
                if c.contended
                else "",
            ]
        )
    return align(rows)


def _effect(e: attribution.Effect | None) -> str:
    if e is None:
        return "-"
    if e.low is None or e.high is None:
        return f"{e.ratio:.2f}x"
    high = "inf" if e.high == float("inf") else f"{e.high:.2f}"
    return f"{e.ratio:.2f}x ({e.low:.2f}-{high})"


def attribution_table(rec: RunRecord) -> str:
    """What each difference between server settings comes from: ratios of settings that differ in
    one part only (lab/analysis/attribution.py), with intervals at the stated confidence."""
    rows = attribution.table(rec)
    if not rows:
        return ""
    rate = attribution.first_rate(rec)
    confidence = next((r.capacity or r.cpu for r in rows if (r.capacity or r.cpu)), None)
    stated = f"{confidence.confidence:.0%}" if confidence is not None else ""
    out = [
        [
            f"what the difference comes from ({stated} intervals)",
            "route",
            "capacity",
            f"CPU/request at {rate:g} req/s" if rate is not None else "CPU/request",
            "share (parser, loop, log)",
        ]
    ]
    for row in rows:
        share = "-" if row.share is None else f"{row.share:.0%}"
        out.append([row.factor, row.route, _effect(row.capacity), _effect(row.cpu), share])
    return align(out)


def sweep_table(rec: RunRecord) -> str:
    """Each offered rate of the sweeps: median latency over repeats beside the queue model's."""
    frame = curve(rec)
    if frame.empty:
        return ""
    predicted = frame["predicted_p99"].notna().any()
    head = [
        "sweep",
        "offered",
        "achieved",
        "p50 ms",
        "p99 ms",
        "p99 all ms",
        "service p99",
        *(["queue p99"] if predicted else []),
        "in flight",
        "send lag p99",
        "window s",
        "SLO",
    ]
    rows = [head]
    for _, r in frame.iterrows():
        rows.append(
            [
                str(r["group"]),
                f"{r['rate']:g}",
                _fmt(r["achieved"]),
                _fmt(r["p50"]),
                _fmt(r["p99"]),
                _fmt(r["arrival_p99"]),
                _fmt(r["service_p99"]),
                *([_fmt(r["predicted_p99"])] if predicted else []),
                _fmt(r["in_flight"]),
                _fmt(r["send_lag_p99"], 2),
                _fmt(r["window_s"]),
                str(r["decision"]),
            ]
        )
    return align(rows)


def queue_table(rec: RunRecord) -> str:
    """The queue model as a check, per rate: measured percentiles beside the model's, and the gap."""
    found = queue_check.rows(rec)
    if not found:
        return ""
    fifo = any(r.fifo for r in found)
    keys = queue_check.KEYS
    rows = [["queue check", "rate", "rho", *(h for k in keys for h in (f"{k} ms", "model")),
             *(f"gap {k}" for k in keys), "reading", *([f"fifo gap {k}" for k in keys] + ["fifo reading"] if fifo else [])]]  # fmt: skip
    for r in found:
        cells = [(_fmt(g.measured), _fmt(g.predicted)) for g in r.gaps.values()]
        rows.append(
            [
                r.group,
                f"{r.rate:g}",
                _fmt(r.load, 2),
                *(c for pair in cells for c in pair),
                *(g.shown() for g in r.gaps.values()),
                queue_check.verdict(r),
                *(
                    [r.fifo[k].shown() if k in r.fifo else "-" for k in keys] + [queue_check.verdict(r, r.fifo)]
                    if fifo
                    else []
                ),
            ]
        )
    return queue_check.describe(rec) + "\n" + align(rows)


def claims_table(rec: RunRecord) -> str:
    lines = []
    for claim in rec.claims:
        setting = f" [{claim.setting}]" if claim.setting else ""
        lines.append(f"{VERDICT_MARK[claim.verdict]:<12} {claim.text}{setting}")
        lines.append(f"{'':<12} {claim.describe()}")
        if claim.verdict == "inconclusive" and claim.reason:
            lines.append(f"{'':<12} why: {claim.reason}")
    return "\n".join(lines) or "(this scenario states no claims)"


def render(rec: RunRecord) -> str:
    env = rec.environment
    head = (
        f"{rec.scenario} ({rec.profile} profile), run {rec.run_id}: {rec.status}\n"
        f"fastapi {env.version('fastapi')}, uvicorn {env.version('uvicorn')}, python {env.python}, "
        f"{env.cpus_available} cores ({env.cpu_model}); server on cores "
        f"{rec.pinning.server_cores}, Locust on {rec.pinning.generator_cores}"
    )
    floor = floor_line(rec)
    parts = [head + (f"\n{floor}" if floor else ""), "", variants_table(rec)]
    for extra in (sweep_table(rec), queue_table(rec), capacity_table(rec), attribution_table(rec)):
        if extra:
            parts += ["", extra]
    parts += ["", claims_table(rec)]
    if rec.null_mode:
        parts[1:1] = [
            f"NULL MODE: every variant ran {rec.reference}'s app; a claim that tells variants apart must not pass."
        ]
    flagged = sorted({f for v in rec.variants.values() for f in v.flags})
    if "generator_bound" in flagged:
        parts += [
            "",
            f"generator_bound: Locust's core was >= {GENERATOR_BOUND_CPU_PCT:g}% busy; those numbers are Locust's "
            "limit, not the server's capacity.",
        ]
    if "unpinned" in flagged:
        parts += ["", "unpinned: server and Locust did not run on the separate cores asked for; claims are not judged."]
    machine = rec.environment.machine
    if machine is not None and machine.busy:
        busy = ", ".join(machine.busy_processes) or "no single process"
        parts += ["", f"warning: the machine was busy at the start (load {machine.load_average}; {busy})"]
    if "coarse_timing" in flagged:
        parts += [
            "",
            "coarse_timing: the generator sent some arrivals late by more than the resolution goal (lag floor ms): "
            "latencies still count from the schedule, but differences below the floor are the generator's.",
        ]
    if "noisy_neighbour" in flagged:
        parts += ["", "noisy_neighbour: other work used the server's core during the window; compare with care."]
    if rec.error:
        parts += ["", f"error: {rec.error}"]
    return "\n".join(parts)


def budgets(rec: RunRecord) -> str:
    """Speed budgets are reported here, never asserted in timing-sensitive tests."""
    lines = []
    budget = rec.load.budget_s
    if rec.wall_s is not None:
        verdict = "" if budget is None else (f" (budget {budget:g}s: " + ("ok)" if rec.wall_s <= budget else "OVER)"))
        lines.append(f"wall time {rec.wall_s:.1f}s for {len(rec.cells)} cells{verdict}")
    starts = [(c.variant, c.startup_s, c.server.startup_budget_s) for c in rec.cells if c.startup_s is not None]
    if starts:
        worst = max(starts, key=lambda s: s[1])
        over = [f"{v} {s:.2f}s" for v, s, b in starts if s > b]
        lines.append(
            f"server start-up to first healthy answer: max {worst[1]:.2f}s "
            f"(budget {worst[2]:g}s: {'OVER: ' + ', '.join(over) if over else 'ok'})"
        )
    killed = [c.variant for c in rec.cells if c.server_exit is not None and c.server_exit.killed]
    if killed:
        lines.append(f"server did not stop within its grace period and was killed: {', '.join(killed)}")
    return "\n".join(lines)
