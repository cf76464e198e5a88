"""The terminal view of a run record: one row per variant, then the claims with verdicts."""

from __future__ import annotations

from typing import Any

from lab.claims import describe

VERDICT_MARK = {"pass": "PASS", "fail": "FAIL", "inconclusive": "INCONCLUSIVE"}


def _fmt(value: Any, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


# Database columns, shown when the scenario has a database: (header, variant field, digits).
DB_COLUMNS = [("db conn peak", "db_connections_peak", 0), ("sess/req", "db_sessions_per_request", 2),
              ("stmts/req", "db_statements_per_request", 1), ("idle-in-tx peak", "db_idle_in_transaction_peak", 0),
              ("refused", "db_too_many_clients", 0)]  # fmt: skip


def variants_table(record: dict[str, Any]) -> str:
    db = any("db_connections_peak" in v for v in record["variants"].values())
    header = ["variant", "rps", "p50 ms", "p99 ms", "max ms", "fail", "srv cpu%", "srv MB", "gen cpu%"]
    header += [h for h, _, _ in DB_COLUMNS] if db else []
    header.append("flags")
    rows = [header]
    for group, v in record["variants"].items():
        lat = v["latency_ms"]
        extra = [_fmt(v.get(key), digits) for _, key, digits in DB_COLUMNS] if db else []
        rows.append(
            [
                group,
                _fmt(v["rps"]),
                _fmt(lat["p50"]),
                _fmt(lat["p99"]),
                _fmt(lat["max"]),
                _fmt(v["failures"], 0),
                _fmt(v["server_cpu_pct"], 0),
                _fmt(v["server_rss_mb"], 0),
                _fmt(v["generator_cpu_pct"], 0),
                *extra,
                ",".join(v["flags"]) or "",
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def claims_table(record: dict[str, Any]) -> str:
    lines = []
    for claim in record["claims"]:
        setting = f" [{claim['setting']}]" if claim["setting"] else ""
        lines.append(f"{VERDICT_MARK[claim['verdict']]:<12} {claim['text']}{setting}")
        lines.append(f"{'':<12} {describe(claim)}")
        if claim["verdict"] == "inconclusive" and claim["reason"]:
            lines.append(f"{'':<12} why: {claim['reason']}")
    return "\n".join(lines) or "(this scenario states no claims)"


def render(record: dict[str, Any]) -> str:
    env = record["environment"]
    head = (
        f"{record['scenario']} ({record['profile']} profile), run {record['run_id']}: {record['status']}\n"
        f"fastapi {env.get('fastapi')}, uvicorn {env.get('uvicorn')}, python {env.get('python')}, "
        f"{env.get('cpus_available')} cores ({env.get('cpu_model')}); server on cores "
        f"{record['pinning']['server_cores']}, Locust on {record['pinning']['generator_cores']}"
    )
    parts = [head, "", variants_table(record), "", claims_table(record)]
    flagged = sorted({f for v in record["variants"].values() for f in v["flags"]})
    if "generator_bound" in flagged:
        parts += [
            "",
            "generator_bound: Locust used >= 90% of its core; those numbers are Locust's limit, "
            "not the server's capacity.",
        ]
    if record.get("error"):
        parts += ["", f"error: {record['error']}"]
    return "\n".join(parts)


def budgets(record: dict[str, Any]) -> str:
    """Speed budgets are reported here, never asserted in timing-sensitive tests."""
    lines = []
    wall, budget = record.get("wall_s"), record["load"].get("budget_s")
    if wall is not None:
        verdict = "" if budget is None else (f" (budget {budget:g}s: " + ("ok)" if wall <= budget else "OVER)"))
        lines.append(f"wall time {wall:.1f}s for {len(record['cells'])} cells{verdict}")
    starts = [
        (c["variant"], c["startup_s"], c["server"]["startup_budget_s"])
        for c in record["cells"]
        if c.get("startup_s") is not None
    ]
    if starts:
        worst = max(starts, key=lambda s: s[1])
        over = [f"{v} {s:.2f}s" for v, s, b in starts if s > b]
        lines.append(
            f"server start-up to first healthy answer: max {worst[1]:.2f}s "
            f"(budget {worst[2]:g}s: {'OVER: ' + ', '.join(over) if over else 'ok'})"
        )
    return "\n".join(lines)
