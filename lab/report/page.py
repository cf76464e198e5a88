"""`reports/<scenario>.html`: the claim and its verdict up top, then the evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.claims import describe
from lab.paths import shown
from lab.report import charts, data
from lab.report.html import esc, figure, page, write
from lab.results import load_record
from lab.summary import FEW_REQUESTS, GENERATOR_BOUND_CPU_PCT


def _claims(record: dict[str, Any]) -> str:
    if not record["claims"]:
        return "<p class='muted'>This scenario states no claims.</p>"
    rows = []
    for c in record["claims"]:
        setting = f" <span class='muted'>[{esc(c['setting'])}]</span>" if c["setting"] else ""
        why = f"<br><span class='muted'>why: {esc(c['reason'])}</span>" if c["reason"] else ""
        rows.append(
            f"<tr><td><span class='verdict {c['verdict']}'>{c['verdict'].upper()}</span></td>"
            f"<td>{esc(c['text'])}{setting}<br><span class='muted'>{esc(describe(c))}</span>{why}</td></tr>"
        )
    return f"<table>{''.join(rows)}</table>"


DB_COLUMNS = [("DB connections peak", "db_connections_peak"), ("DB sessions / request", "db_sessions_per_request"),
              ("statements / request", "db_statements_per_request"), ("idle in tx peak", "db_idle_in_transaction_peak"),
              ("refused (too many clients)", "db_too_many_clients")]  # fmt: skip


def _has_db(record: dict[str, Any]) -> bool:
    return any("db_connections_peak" in v for v in record["variants"].values())


def _variants(record: dict[str, Any]) -> str:
    db_cols = DB_COLUMNS if _has_db(record) else []
    head = (
        "<tr><th>variant</th><th>app</th><th>rps</th><th>p50 ms</th><th>p99 ms</th><th>p99.9 ms</th>"
        "<th>failures</th><th>server CPU %</th><th>server RSS MB</th><th>Locust CPU %</th>"
        + "".join(f"<th>{esc(h)}</th>" for h, _ in db_cols)
        + "<th>flags</th></tr>"
    )
    rows = []
    for group, v in record["variants"].items():
        lat = v["latency_ms"]
        cells = [
            v["rps"],
            lat["p50"],
            lat["p99"],
            lat["p99.9"],
            v["failures"],
            v["server_cpu_pct"],
            v["server_rss_mb"],
            v["generator_cpu_pct"],
            *(v.get(key) for _, key in db_cols),
        ]
        nums = "".join(f"<td class='num'>{'-' if x is None else f'{x:,.4g}'}</td>" for x in cells)
        flags = " ".join(f"<span class='flag'>{esc(f)}</span>" for f in v["flags"])
        rows.append(f"<tr><td>{esc(group)}</td><td><code>{esc(v['app'])}</code></td>{nums}<td>{flags}</td></tr>")
    return f"<div class='wide'><table>{head}{''.join(rows)}</table></div>"


def _environment(record: dict[str, Any]) -> str:
    env = dict(record["environment"])
    pin = record["pinning"]
    env["server cores / Locust cores"] = f"{pin['server_cores']} / {pin['generator_cores']}"
    env["scenario file"] = f"{record['scenario_file']['path']} (sha256 {record['scenario_file']['sha256'][:12]})"
    env["load"] = ", ".join(f"{k}={v}" for k, v in record["load"].items())
    server = next(iter(record["variants"].values()))["server"] if record["variants"] else {}
    env["server"] = ", ".join(f"{k}={v}" for k, v in server.items() if k not in ("startup_timeout_s", "stop_grace_s"))
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in env.items() if v is not None)
    return f"<table>{rows}</table>"


def _database(record: dict[str, Any]) -> str:
    db = record.get("database", {})
    return (f"<p class='muted'>PostgreSQL {esc(db.get('server_version'))} ({esc(db.get('mode'))}), "
            f"max_connections {esc(db.get('max_connections'))}, seed rows {esc(db.get('rows'))}. Counts come "
            "from the database's own views: pg_stat_activity (connections by state, the lab's monitor excluded), "
            "pg_stat_database.sessions (sessions opened), and the server's log (embedded server only): "
        "connections refused for lack of slots, and every statement executed in the run's database "
        "(log_statement = all; the lab's own monitor excluded).</p>")  # fmt: skip


def _upstream(record: dict[str, Any]) -> str:
    up = record["upstream"]
    faults = "; ".join(f"{f['from_s']:g}-{f['until_s']:g} s: {charts.fault_label(f)}" for f in up["faults"])
    return (f"<p class='muted'>The lab's upstream service on loopback, base mode {esc(up['mode'])}"
            f"{'; faults (from the load start, shaded red): ' + esc(faults) if faults else ''}. It counts the "
            "requests and TCP connections it sees; TIME_WAIT sockets towards it are counted on this machine. "
            "Recovery time: seconds after the last fault until p99 is back within 2x its level before "
            "the first fault.</p>")  # fmt: skip


def _precision(record: dict[str, Any]) -> str:
    return (
        "<p class='muted'>Percentiles are computed from every request completed in the measured window "
        f"({record['load']['duration_s']:g} s after a {record['load']['warmup_s']:g} s warm-up), from Locust's own "
        "response time of each request, not from its rounded histogram. A p99 rests on the slowest 1% of "
        f"requests: below {FEW_REQUESTS} requests a cell is flagged <span class='flag'>few_requests</span>. "
        f"Cells where Locust used {GENERATOR_BOUND_CPU_PCT:g}% or more of its core are flagged "
        "<span class='flag'>generator_bound</span>: their numbers show the load generator's limit, not the "
        "server's capacity, and claims on them are inconclusive. Claim ranges span every repeat and each "
        "third of the measured window.</p>"
    )


def build(scenario: str, directory: Path, reports: Path) -> Path:
    record = load_record(directory)
    palette = charts.colors(list(record["variants"]))
    warm = charts.Shade(data.warmup_s(record), record.get("upstream", {}).get("faults", []))
    timeline = data.timeline(record, directory)
    figs = [
        figure(charts.latency_percentiles(data.percentiles(record), palette), f"{scenario}-latency"),
        figure(
            charts.throughput(data.per_cell(record), palette, record.get("references", [])), f"{scenario}-throughput"
        ),
        figure(charts.over_time(timeline, "p99", "p99 latency (ms)", palette, warm, log=True), f"{scenario}-p99-time"),
        figure(charts.over_time(timeline, "rps", "completed requests", palette, warm), f"{scenario}-rps-time"),
        figure(charts.resources(data.samples(record, directory), palette, warm), f"{scenario}-resources"),
    ]
    if _has_db(record):
        max_conn = record.get("database", {}).get("max_connections")
        db_fig = charts.db_connections(data.samples(record, directory), max_conn, warm)
        extra_sections = f"<h2>Database</h2>{_database(record)}{figure(db_fig, f'{scenario}-db-connections')}"
    else:
        extra_sections = ""
    points = data.matrix_points(record)
    matrix_fig = ""
    if points["setting"].nunique() > 1:
        variant_colors = charts.colors(list(dict.fromkeys(points["variant"])))
        matrix_fig = figure(charts.matrix(points, variant_colors), f"{scenario}-matrix")
    if record.get("upstream"):
        up_fig = charts.upstream(data.samples(record, directory), palette, warm)
        extra_sections += f"<h2>Upstream</h2>{_upstream(record)}{figure(up_fig, f'{scenario}-upstream')}"
    body = f"""
<p class='muted'><a href='index.html'>all scenarios</a></p>
<h1>{esc(record["title"])}</h1>
<p>{esc(record["pitfall"])}</p>
<p class='claim'><b>Claim.</b> {esc(record["claim_text"])}</p>
<h2>Verdicts, measured on this machine</h2>
{_claims(record)}
<p class='muted'>Run <code>{esc(record["run_id"])}</code>, {esc(record["profile"])} profile, status {esc(record["status"])},
record <code>{esc(shown(directory / "run.json"))}</code>.</p>
<h2>Variants</h2>
{_variants(record)}
{figs[0]}
{figs[1]}
{matrix_fig}
<h2>Over time</h2>
{figs[2]}
{figs[3]}
<h2>Resources</h2>
{figs[4]}
{extra_sections}
<h2>How precise these numbers are</h2>
{_precision(record)}
<h2>Environment</h2>
{_environment(record)}
"""
    return write(reports / f"{scenario}.html", page(f"{record['title']} - FastAPI perf lab", body))
