"""`reports/<scenario>.html`: the claim and its verdict up top, then the evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.analysis import capacity, queue_check
from lab.analysis.flags import FEW_REQUESTS, GENERATOR_BOUND_CPU_PCT, floor_line
from lab.analysis.repeats import median
from lab.paths import shown
from lab.record import store
from lab.record.models import RunRecord
from lab.report import charts, code, data
from lab.report.html import esc, figure, page, write
from lab.report.terminal import columns


def _claims(rec: RunRecord) -> str:
    if not rec.claims:
        return "<p class='muted'>This scenario states no claims.</p>"
    rows = []
    for c in rec.claims:
        setting = f" <span class='muted'>[{esc(c.setting)}]</span>" if c.setting else ""
        why = f"<br><span class='muted'>why: {esc(c.reason)}</span>" if c.reason else ""
        rows.append(
            f"<tr><td><span class='verdict {c.verdict}'>{c.verdict.upper()}</span></td>"
            f"<td>{esc(c.text)}{setting}<br><span class='muted'>{esc(c.describe())}</span>{why}</td></tr>"
        )
    return f"<table>{''.join(rows)}</table>"


def _variants(rec: RunRecord) -> str:
    cols = columns(rec)  # the terminal's columns, with the registry's text as a tooltip
    head = (
        "<tr><th>variant</th><th>app</th>"
        + "".join(f"<th title='{esc(m.text)} ({esc(m.unit)})'>{esc(m.table)}</th>" for m in cols)
        + "<th>flags</th></tr>"
    )
    rows = []
    for group, v in rec.variants.items():
        nums = "".join(f"<td class='num'>{'-' if (x := v.value(m.name)) is None else f'{x:,.4g}'}</td>" for m in cols)
        flags = " ".join(f"<span class='flag'>{esc(f)}</span>" for f in v.flags)
        rows.append(f"<tr><td>{esc(group)}</td><td><code>{esc(v.app)}</code></td>{nums}<td>{flags}</td></tr>")
    return f"<div class='wide'><table>{head}{''.join(rows)}</table></div>"


def _environment(rec: RunRecord) -> str:
    env = rec.environment
    shown_env: dict[str, object] = {
        "python": env.python,
        **env.packages,
        "postgres": env.postgres,
        "cpu": f"{env.cpu_model} ({env.cpus_available} of {env.cpu_count} cores available)",
        "kernel": env.kernel,
        "git": f"{env.git_sha}{' (uncommitted changes)' if env.git_dirty else ''}",
    }
    pin = rec.pinning
    shown_env["server cores / Locust cores"] = f"{pin.server_cores} / {pin.generator_cores}"
    shown_env["scenario file"] = f"{rec.scenario_file.path} (sha256 {rec.scenario_file.sha256[:12]})"
    shown_env["load"] = ", ".join(f"{k}={v}" for k, v in rec.load.model_dump().items() if v not in (None, {}))
    server = next(iter(rec.variants.values())).server.model_dump() if rec.variants else {}
    shown_env["server"] = ", ".join(
        f"{k}={v}" for k, v in server.items() if k not in ("startup_timeout_s", "stop_grace_s")
    )
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in shown_env.items() if v is not None)
    return f"<table>{rows}</table>"


def _database(rec: RunRecord) -> str:
    db = rec.database
    if db is None:
        return ""
    return (
        f"<p class='muted'>PostgreSQL {esc(db.server_version)} ({esc(db.mode)}), max_connections "
        f"{esc(db.max_connections)}, seed rows {esc(db.rows)}. Counts come from the database's own views: "
        "pg_stat_activity (connections by state, the lab's monitor excluded), pg_stat_database.sessions "
        "(sessions opened), and the server's log (embedded server only): connections refused for lack of "
        "slots, and every statement executed in the run's database (log_statement = all; the lab's own "
        "monitor excluded). Counters are read at the window's edges (interpolated between samples).</p>"
    )


RESERVED_SLOTS = 3  # PostgreSQL's default superuser_reserved_connections: slots the app's role never gets


def _budget(rec: RunRecord) -> str:
    """The connection arithmetic, for apps that publish their pool size (`app_pool_max`): workers x
    pool per worker against what the database lets the app's role open, beside what was measured."""
    db = rec.database
    if db is None:
        return ""
    slots = db.max_connections - RESERVED_SLOTS
    rows = []
    for group, summary in rec.variants.items():
        pool = summary.value("app_pool_max_last")
        if pool is None:
            continue
        workers = summary.server.workers
        total = workers * pool
        peak, refused = summary.value("db_connections_peak"), summary.value("db_too_many_clients")
        rows.append(
            f"<tr><td>{esc(group)}</td><td class='num'>{workers}</td><td class='num'>{pool:g}</td>"
            f"<td class='num'><b>{total:g}</b></td><td class='num'>{slots}</td>"
            f"<td>{'over the budget by ' + format(total - slots, 'g') if total > slots else 'within the budget'}</td>"
            f"<td class='num'>{'-' if peak is None else f'{peak:g}'}</td>"
            f"<td class='num'>{'-' if refused is None else f'{refused:,.0f}'}</td></tr>"
        )
    if not rows:
        return ""
    return (
        "<h3>Connection budget</h3><p class='muted'>Each worker process has its own pool: the database sees "
        f"workers x pool. It lets the app's role open max_connections ({db.max_connections}) minus "
        f"{RESERVED_SLOTS} slots reserved for superusers. Pool sizes as each variant's workers reported them "
        "(<code>/lab/pool</code>); peak connections and refusals as the database counted them (medians of "
        "repeats).</p><table><tr><th>variant [setting]</th><th>workers</th><th>pool per worker</th>"
        "<th>workers x pool</th><th>slots for the app</th><th></th><th>peak connections</th><th>refused</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _upstream(rec: RunRecord) -> str:
    up = rec.upstream
    if up is None:
        return ""
    faults = "; ".join(f"{f['from_s']:g}-{f['until_s']:g} s: {charts.fault_label(f)}" for f in up.faults)
    return (
        f"<p class='muted'>The lab's upstream service on loopback, base mode {esc(up.mode)}"
        f"{'; faults (from the load start, shaded red): ' + esc(faults) if faults else ''}. It counts the "
        "requests and TCP connections it sees; TIME_WAIT sockets towards it are counted on this machine. "
        "Recovery time: seconds after the last fault until p99 is back within 2x its level before "
        "the first fault.</p>"
    )


def _restart_spans(rec: RunRecord) -> list[dict[str, Any]]:
    restarts = [r for cell in rec.cells for r in cell.restarts]
    if not restarts:
        return []
    at = min(r.at_s for r in restarts)
    return [{"from_s": at, "until_s": at + max(r.down_s for r in restarts), "label": "server restarted"}]


def _restarts(rec: RunRecord) -> str:
    """Each variant's restarts during the load and, where the lab kept a ledger of writes, what they
    cost: writes confirmed to clients that the upstream never took, and writes it took twice."""
    rows = []
    for group, summary in rec.variants.items():
        cells = [c for c in rec.ok_cells() if c.group == group]
        restarts = [r for c in cells for r in c.restarts]
        if not restarts:
            continue
        killed = sum(r.killed for r in restarts)
        down = sorted(r.down_s for r in restarts)[len(restarts) // 2]
        ledger = [summary.value(m) for m in ("writes_confirmed", "writes_lost", "writes_duplicated")]
        rows.append(
            f"<tr><td>{esc(group)}</td><td class='num'>{len(restarts)}</td>"
            f"<td class='num'>{restarts[0].grace_s:g} s</td><td class='num'>{killed}</td>"
            f"<td class='num'>{down:.2f}</td>"
            + "".join(f"<td class='num'>{'-' if v is None else f'{v:,.0f}'}</td>" for v in ledger)
            + "</tr>"
        )
    if not rows:
        return ""
    return (
        "<h2>Restarts and lost writes</h2><p class='muted'>The scenario stops the server during the load "
        "(SIGTERM, then SIGKILL once the grace has run out) and starts it again on the same port; the restart "
        "is shaded on the time-series charts. Writes: requests the server answered as done that carried a key "
        "(<code>lab_key</code>), matched by idempotency key against what the upstream took by the cell's end "
        "(medians of repeats). Lost: confirmed, never taken. Duplicated: taken more than once.</p>"
        "<table><tr><th>variant [setting]</th><th>restarts</th><th>grace</th><th>SIGKILLed</th>"
        "<th>down (s, median)</th><th>writes confirmed</th><th>lost</th><th>duplicated</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _proxy(rec: RunRecord) -> str:
    """nginx in front: each variant's proxy settings, the statuses it answered itself and its error
    log's count of what the app did (medians of repeats), and the log's own first lines as evidence."""
    rows, lines = [], []
    for group in rec.variants:
        cells = [c for c in rec.ok_cells() if c.group == group]
        proxy = next((c.proxy for c in cells if c.proxy is not None), None)
        if proxy is None:
            continue
        values = [median([c.summary.value(m) for c in cells if c.summary is not None]) for m in _PROXY_COLUMNS]
        rows.append(
            f"<tr><td>{esc(group)}</td><td class='num'>{proxy.keepalive_timeout_s:g} s</td>"
            f"<td class='num'>{esc(proxy.client_max_body_size)}</td>"
            + "".join(f"<td class='num'>{'-' if v is None else f'{v:,.3g}'}</td>" for v in values)
            + "</tr>"
        )
        logged = next((c.proxy_log for c in cells if c.proxy_log), [])
        lines += [f"{group}: {line}" for line in logged]
    if not rows:
        return ""
    heads = "".join(f"<th>{esc(label)}</th>" for label in _PROXY_COLUMNS.values())
    log = (
        f"<pre class='cmd'>{esc(chr(10).join(lines))}</pre>"
        if lines
        else "<p class='muted'>The record keeps no line of its error log.</p>"
    )
    return (
        "<h2>nginx in front</h2><p class='muted'>The load went to nginx on loopback, nginx to the app "
        "(docs/servers.md). Its answers by status, and its error log's count of the app's failures, in "
        "nginx's own words (medians of repeats); then the first line of each kind the log holds, per "
        "variant, without its timestamp and process ids. The whole log is in each cell's folder "
        "(<code>nginx-error.log</code>).</p>"
        "<table><tr><th>variant [setting]</th><th>upstream keep-alive</th><th>body limit</th>"
        f"{heads}</tr>{''.join(rows)}</table>{log}"
    )


_PROXY_COLUMNS = {
    "status_502_share": "502 share",
    "status_413_share": "413 share",
    "proxy_upstream_prematurely_closed": "app closed the connection",
    "proxy_upstream_reset": "app reset it",
    "proxy_body_too_large": "bodies over the limit",
}


def _precision(rec: RunRecord) -> str:
    return (
        "<p class='muted'>Percentiles are computed from every request completed in the measured window "
        f"({rec.load.duration_s:g} s after a {rec.load.warmup_s:g} s warm-up), from Locust's own "
        "response time of each request, not from its rounded histogram. A p99 rests on the slowest 1% of "
        f"requests: below {FEW_REQUESTS} requests a cell is flagged <span class='flag'>few_requests</span>. "
        f"Cells where Locust's core was {GENERATOR_BOUND_CPU_PCT:g}% or more busy (Locust and the services "
        "beside it) are flagged "
        "<span class='flag'>generator_bound</span>: their numbers show the load generator's limit, not the "
        "server's capacity, and claims on them are inconclusive. A claim's interval is Student's t across "
        "repeats (each repeat a fresh server; the thirds of one window are not independent samples), at the "
        "confidence it states; one repeat gives a value and no verdict.</p>"
        + (f"<p class='muted'>{esc(floor)}.</p>" if (floor := floor_line(rec)) else "")
    )


def _queue_check(rec: RunRecord) -> str:
    """Per rate: measured percentiles beside the queue model's, and the gap with its interval."""
    found = queue_check.rows(rec)
    if not found:
        return ""
    keys = queue_check.KEYS
    fifo = any(r.fifo for r in found)
    head = (
        "<tr><th>variant</th><th>rate</th><th>rho</th>"
        + "".join(f"<th>{k} ms</th><th>model</th>" for k in keys)
        + "".join(f"<th>gap {k} (95 %)</th>" for k in keys)
        + "<th>reading</th>"
        + ("".join(f"<th>FIFO gap {k}</th>" for k in keys) + "<th>FIFO reading</th>" if fifo else "")
        + "</tr>"
    )

    def num(value: float | None, digits: int = 1) -> str:
        return "<td class='num'>-</td>" if value is None else f"<td class='num'>{value:,.{digits}f}</td>"

    body = "".join(
        f"<tr><td>{esc(r.group)}</td><td class='num'>{r.rate:g}</td>{num(r.load, 2)}"
        + "".join(num(g.measured) + num(g.predicted) for g in r.gaps.values())
        + "".join(f"<td class='num'>{esc(g.shown())}</td>" for g in r.gaps.values())
        + f"<td>{esc(queue_check.verdict(r))}</td>"
        + (
            "".join(f"<td class='num'>{esc(r.fifo[k].shown()) if k in r.fifo else '-'}</td>" for k in keys)
            + f"<td>{esc(queue_check.verdict(r, r.fifo))}</td>"
            if fifo
            else ""
        )
        + "</tr>"
        for r in found
    )
    lines = queue_check.findings(found)
    said = (
        "<p><b>Findings.</b> " + "; ".join(esc(line) for line in lines) + ".</p>"
        if lines
        else f"<p class='muted'>No gap beyond {queue_check.GAP:.0%} from the model was decided up to rho "
        f"{queue_check.RHO_LIMIT:g}.</p>"
    )
    if fifo and (beside := queue_check.findings(found, fifo=True)):
        said += (
            "<p><b>First come, first served does not describe it:</b> "
            + "; ".join(esc(line) for line in beside)
            + ". The order the server takes waiting requests in shows in the tail.</p>"
        )
    return (
        f"<h3>The queue model as a check</h3><p class='muted'>{esc(queue_check.describe(rec))}. The gap is "
        "measured / model - 1, its interval Student's t across repeats.</p>"
        f"<div class='wide'><table>{head}{body}</table></div>{said}"
    )


def _code(rec: RunRecord) -> str:
    apps = {c.variant: c.app for c in rec.cells}
    diff = code.diff_html(apps)
    if not diff:
        return ""
    return (
        "<h2>Bad beside the fix</h2><p class='muted'>From the app files as they are in this checkout; "
        "lines only in the first are red, only in the second green, changed yellow.</p>" + diff
    )


def _capacity(rec: RunRecord, scenario: str, palette: dict[str, str]) -> str:
    """Open-model sweeps: the hockey stick with the SLO and the queue model, achieved vs offered, and
    the capacity table. Empty for closed-loop runs."""
    curve = capacity.curve(rec)
    if curve.empty:
        return ""
    slo = rec.slo.p99_ms if rec.slo is not None else None
    found = capacity.capacities(rec)
    rows = "".join(
        f"<tr><td>{esc(c.group)}</td><td class='num'><b>{esc(c.shown)}</b></td>"
        f"<td class='num'>{esc(' '.join(f'{v:g}' for v in c.capacities))}</td>"
        f"<td class='num'>{'-' if c.p99_ms is None else f'{c.p99_ms:,.1f}'}</td>"
        f"<td class='num'>{'-' if c.cpu_pct is None else f'{c.cpu_pct:,.0f}'}</td>"
        f"<td class='num'>{'-' if c.rss_mb_per_worker is None else f'{c.rss_mb_per_worker:,.0f}'}</td>"
        f"<td class='num'>{'-' if c.db_connections is None else f'{c.db_connections:,.0f}'}</td>"
        f"<td>{'contended: more workers than server cores' if c.contended else ''}</td></tr>"
        for c in found
    )
    table = (
        "<table><tr><th>variant [setting]</th><th>capacity (req/s)</th><th>per repeat</th><th>p99 ms there</th>"
        f"<th>server cpu %</th><th>MB per worker</th><th>db connections</th><th>note</th></tr>{rows}</table>"
    )
    gap = curve.dropna(subset=["predicted_p99"])
    queue, label = "", "queue model"
    if not gap.empty and rec.queue is not None:
        how = {
            "fifo": "first come, first served (Lindley's recursion for one server)",
            "random": "a free server takes any waiting request",
            "batches": "an event loop's rounds: each serves, in no set order, what arrived during the last",
        }[rec.queue.discipline]
        label = f"{rec.queue.discipline} queue model"
        queue = (
            f"<p class='muted'>Dashed: a queue with {rec.queue.servers} server(s), {how}, fed the very "
            "arrival times of each step and service times of requests that had the server to themselves at "
            "the sweep's lowest rate. Where the measured curve follows it, the pitfall is that queue.</p>"
        ) + _queue_check(rec)
    cost = ""
    if curve["cpu_ms_per_request"].notna().any():
        cost = figure(charts.cost_per_request(curve, palette), f"{scenario}-cost-per-request")
    return f"""
<h2>Capacity at the SLO</h2>
<p class='muted'>Open model: arrivals on a Poisson schedule at each offered rate, latency from each
request's scheduled time. Capacity is the highest offered rate whose step met the SLO
({esc(rec.slo.text() if rec.slo else "none")}); <code>&gt;=</code> marks a sweep that
ended before any step missed it, <code>&lt;</code> one whose lowest rate missed it.</p>
{table}
{figure(charts.hockey_stick(curve, capacity.steps(rec), palette, slo, label), f"{scenario}-hockey-stick")}
{queue}
{figure(charts.achieved(curve, palette), f"{scenario}-achieved")}
{cost}"""


def build(scenario: str, directory: Path, reports: Path) -> Path:
    rec = store.load(directory)
    palette = charts.colors(list(rec.variants))
    faults = [*(rec.upstream.faults if rec.upstream else []), *_restart_spans(rec)]
    warm = charts.Shade(rec.load.warmup_s, faults)
    timeline = data.timeline(rec, directory)
    samples = data.samples(rec, directory)
    references = [r.model_dump() for r in rec.references]
    spectrum = data.spectrum(rec, directory)
    spectrum_fig = figure(charts.spectrum(spectrum, palette), f"{scenario}-spectrum") if not spectrum.empty else ""
    figs = [
        figure(charts.latency_percentiles(data.percentiles(rec), palette), f"{scenario}-latency"),
        figure(charts.throughput(data.per_cell(rec), palette, references), f"{scenario}-throughput"),
        figure(charts.over_time(timeline, "p99", "p99 latency (ms)", palette, warm, log=True), f"{scenario}-p99-time"),
        figure(charts.over_time(timeline, "rps", "completed requests", palette, warm), f"{scenario}-rps-time"),
        figure(charts.resources(samples, palette, warm), f"{scenario}-resources"),
    ]
    extra_sections = ""
    if samples["metric"].isin(list(charts.MECHANISM)).any():
        mech = figure(charts.mechanism(samples, palette, warm), f"{scenario}-mechanism")
        extra_sections += (
            "<h2>The mechanism</h2><p class='muted'>Sampled inside the app by the lab's shared helper "
            "(apps/common.py): the worst lateness of a 10 ms timer on the event loop since the last read "
            "(a blocked loop shows its blocking time here) and AnyIO's threadpool tokens in use (40 by "
            f"default).</p>{mech}"
        )
    if not charts.recycled(samples[samples["t"] > 0]).empty:
        rss = figure(charts.recycles(samples, palette, warm), f"{scenario}-recycles")
        extra_sections += (
            "<h2>Workers recycled</h2><p class='muted'>The server's resident memory (every process of "
            "it) over the load, with a mark wherever a new server process appeared: a worker the "
            "server recycled after its request limit, or one that died and was replaced.</p>" + rss
        )
    if rec.database is not None:
        db_fig = charts.db_connections(samples, rec.database.max_connections, warm)
        extra_sections += (
            f"<h2>Database</h2>{_database(rec)}{_budget(rec)}{figure(db_fig, f'{scenario}-db-connections')}"
        )
    capacity_section = _capacity(rec, scenario, palette)
    points = data.matrix_points(rec)
    matrix_fig = ""
    if points["setting"].nunique() > 1:
        variant_colors = charts.colors(list(dict.fromkeys(points["variant"])))
        matrix_fig = figure(charts.matrix(points, variant_colors), f"{scenario}-matrix")
    extra_sections += _restarts(rec)
    extra_sections += _proxy(rec)
    if rec.upstream is not None:
        up_fig = charts.upstream(samples, palette, warm)
        extra_sections += f"<h2>Upstream</h2>{_upstream(rec)}{figure(up_fig, f'{scenario}-upstream')}"
    body = f"""
<p class='muted'><a href='index.html'>all scenarios</a></p>
<h1>{esc(rec.title)}</h1>
<p>{esc(rec.pitfall)}</p>
<p class='claim'><b>Claim.</b> {esc(rec.claim_text)}</p>
<h2>Verdicts, measured on this machine</h2>
{_claims(rec)}
<p class='muted'>Run <code>{esc(rec.run_id)}</code>, {esc(rec.profile)} profile, status {esc(rec.status)},
record <code>{esc(shown(directory / "run.json"))}</code>.</p>
{_code(rec)}
<h2>Variants</h2>
{_variants(rec)}
{capacity_section}
{spectrum_fig}
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
{_precision(rec)}
<h2>Environment</h2>
{_environment(rec)}
<h2>Reproduce</h2>
<pre class='cmd'>git checkout {esc(rec.environment.git_sha or "HEAD")}
make bench scenario={esc(rec.scenario)} profile={esc(rec.profile)}{" # with --null: make audit" if rec.null_mode else ""}</pre>
"""
    return write(reports / f"{scenario}.html", page(f"{rec.title} - FastAPI perf lab", body))
