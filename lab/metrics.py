"""Every metric the lab knows, in one registry: its name, unit, scope, source, and how it is made.

The claim schema, the summaries, the terminal table, the report's tables and the README's list
all read this registry. A new metric is one entry here plus its source (a sampler or probe that
writes the raw series named in `series`); the summary computes it from the entry alone.

- scope `request`: known per Locust request name and per segment of the window (traffic).
- scope `cell`: one number per cell (CPU, memory, database and upstream counts, app probes).
- `reduce` says how the raw samples inside the measured window become the number: `mean`,
  `peak`, `last`, or `delta` (how much a cumulative counter grew); `per_request` divides another
  metric by the window's completed requests; `sum` adds other metrics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Scope = Literal["request", "cell"]
Source = Literal["traffic", "server", "generator", "database", "upstream", "app", "proxy"]
Better = Literal["higher", "lower", "neither"]
Reduce = Literal["latency", "traffic", "mean", "peak", "last", "delta", "per_request", "sum", "difference", "custom"]


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    scope: Scope
    source: Source
    better: Better
    text: str
    reduce: Reduce
    series: str = ""  # the raw sampled series (samples.csv `metric`) for mean/peak/last/delta
    of: tuple[str, ...] = ()  # the metrics a per_request or sum metric is made of
    claimable: bool = True
    table: str = ""  # column header in the terminal and report tables; empty: not a column
    column: int = 0  # its place among the columns
    digits: int = 1
    # A request-scope metric kept inside one of Traffic's dicts: (field, key), e.g. ("service_ms", "p50");
    # empty: Traffic's attribute of the metric's own name.
    at: tuple[str, str] | tuple[()] = ()

    @property
    def is_latency(self) -> bool:
        return self.reduce == "latency"


def _latency(name: str, text: str, column: int = 0) -> Metric:
    header = f"{name} ms" if column else ""
    return Metric(
        name, "ms", "request", "traffic", "lower", text, "latency", table=header, column=column, at=("latency_ms", name)
    )


REGISTRY: tuple[Metric, ...] = (
    _latency("p50", "median latency of successful requests (`arrival_p50` counts every arrival)", 2),
    _latency("p90", "90th percentile latency"),
    _latency("p99", "99th percentile latency of successful requests", 3),
    _latency("p99.9", "99.9th percentile latency", 4),
    _latency("max", "slowest request", 5),
    _latency("mean", "mean latency"),
    *(
        Metric(f"arrival_{k}", "ms", "request", "traffic", "lower",
               f"{k} over every arrival, a failed, dropped or unsent one counted as never answered (infinite): "
               "what an SLO on latency is defined on", "latency", at=("arrival_latency_ms", k),
               table="p99 all ms" if k == "p99" else "", column=3 if k == "p99" else 0)
        for k in ("p50", "p90", "p99", "p99.9")
    ),
    Metric("rps", "req/s", "request", "traffic", "higher", "successful requests per second (goodput)", "traffic", table="rps", column=1),
    Metric("attempted_rps", "req/s", "request", "traffic", "neither", "completed requests per second, failures included", "traffic"),
    Metric("requests", "requests", "request", "traffic", "neither", "completed requests", "traffic"),
    Metric("failures", "requests", "request", "traffic", "lower", "failed requests", "traffic", table="fail", column=6, digits=0),
    Metric("error_rate", "ratio", "request", "traffic", "lower", "failures / requests", "traffic"),
    Metric("failed_max", "ms", "request", "traffic", "neither",
           "the slowest failed request: how long a failure kept its caller waiting", "traffic", at=("failed_latency_ms", "max")),
    Metric("status_413_share", "ratio", "request", "traffic", "neither",
           "share of requests answered 413 Content Too Large (a refusal by size, counted by its own status)",
           "traffic", at=("status_share", "413")),
    Metric("status_502_share", "ratio", "request", "traffic", "lower",
           "share of requests answered 502 Bad Gateway (a proxy that lost its upstream connection, by its own status)",
           "traffic", at=("status_share", "502")),
    Metric("offered_rps", "req/s", "request", "traffic", "neither", "open model: arrivals scheduled per second", "traffic"),
    Metric("service_p50", "ms", "request", "traffic", "lower", "open model: median time from the actual send", "traffic", at=("service_ms", "p50")),
    Metric("service_p99", "ms", "request", "traffic", "lower", "open model: p99 of the time from the actual send", "traffic", at=("service_ms", "p99")),
    Metric("send_lag_p99", "ms", "request", "traffic", "lower",
           "open model: p99 of how late the generator sent (waits for a free slot aside): the floor of "
           "what the lab resolves (a latency difference below it is the generator's, not the server's)", "traffic",
           at=("send_lag_ms", "p99"), table="lag floor ms", column=5, digits=2),
    Metric("server_cpu_pct", "% of a core", "cell", "server", "lower", "the server's process tree, mean",
           "mean", series="server_cpu_pct", table="srv cpu%", column=7, digits=0),
    Metric("server_cpu_ms", "ms", "cell", "server", "lower", "CPU time the server's process tree used in the window",
           "delta", series="server_cpu_ms"),
    Metric("server_cpu_ms_per_request", "ms", "cell", "server", "lower",
           "server CPU time per completed request (what one request costs, whatever the load)", "per_request",
           of=("server_cpu_ms",), digits=2),
    Metric("server_rss_mb", "MB", "cell", "server", "lower", "the server's resident memory, mean",
           "mean", series="server_rss_mb", table="srv MB", column=8, digits=0),
    Metric("server_rss_mb_peak", "MB", "cell", "server", "lower", "the server's resident memory, peak",
           "peak", series="server_rss_mb"),
    Metric("server_processes_started", "processes", "cell", "server", "neither",
           "server processes started during the window: workers recycled or restarted (a new pid in the tree)",
           "delta", series="server_processes_seen"),
    Metric("server_rss_mb_hwm", "MB", "cell", "server", "lower",
           "the server's largest process's peak resident memory since it started, as the kernel counts it "
           "(VmHWM: no spike between samples is missed)", "peak", series="server_rss_mb_hwm"),
    Metric("generator_cpu_pct", "% of a core", "cell", "generator", "neither", "Locust's CPU, mean",
           "mean", series="generator_cpu_pct", claimable=False, table="gen cpu%", column=9, digits=0),
    Metric("database_cpu_pct", "% of a core", "cell", "database", "lower", "PostgreSQL's CPU (embedded), mean",
           "mean", series="database_cpu_pct"),
    Metric("upstream_cpu_pct", "% of a core", "cell", "upstream", "neither", "the upstream service's CPU, mean",
           "mean", series="upstream_cpu_pct", claimable=False),
    Metric("generator_core_cpu_pct", "% of a core", "cell", "generator", "neither",
           "Locust plus the services that share its core", "sum",
           of=("generator_cpu_pct", "database_cpu_pct", "upstream_cpu_pct"), claimable=False),
    Metric("generator_cores_busy_pct", "%", "cell", "generator", "neither",
           "how busy Locust's cores were, every process on them included (/proc/stat), mean", "mean",
           series="generator_cores_busy_pct", claimable=False, table="gen core%", column=10, digits=0),
    Metric("generator_cores_busy_peak", "%", "cell", "generator", "neither",
           "how busy Locust's cores were in the busiest second", "peak", series="generator_cores_busy_pct",
           claimable=False),
    Metric("server_cores_busy_pct", "%", "cell", "server", "neither",
           "how busy the server's cores were, every process on them included (/proc/stat), mean", "mean",
           series="server_cores_busy_pct", claimable=False),
    Metric("server_cores_busy_sum_pct", "% of a core", "cell", "server", "neither",
           "the server's cores' busy time, summed over them", "mean", series="server_cores_busy_sum_pct",
           claimable=False),
    Metric("server_cores_other_pct", "% of a core", "cell", "server", "lower",
           "work on the server's cores that is not the server's (a noisy neighbour, softirqs)", "difference",
           of=("server_cores_busy_sum_pct", "server_cpu_pct"), claimable=False),
    Metric("db_connections_peak", "connections", "cell", "database", "lower", "client connections, peak",
           "peak", series="db_connections", table="db conn peak", column=11, digits=0),
    Metric("db_connections_mean", "connections", "cell", "database", "lower", "client connections, mean",
           "mean", series="db_connections"),
    Metric("db_idle_in_transaction_peak", "connections", "cell", "database", "lower",
           "connections idle in transaction, peak", "peak", series="db_idle_in_transaction",
           table="idle-in-tx peak", column=12, digits=0),
    Metric("db_idle_in_transaction_stale_peak", "connections", "cell", "database", "lower",
           "connections idle in transaction for over a second (a leak, not a request between statements), peak",
           "peak", series="db_idle_in_transaction_stale"),
    Metric("db_long_transactions_peak", "connections", "cell", "database", "lower",
           "connections whose transaction has been open for over a second, in any state (a session held "
           "across slow work between its statements), peak", "peak", series="db_long_transactions"),
    Metric("db_sessions_opened", "sessions", "cell", "database", "lower", "sessions opened in the window",
           "delta", series="db_sessions"),
    Metric("db_sessions_per_request", "sessions", "cell", "database", "lower", "sessions opened per request",
           "per_request", of=("db_sessions_opened",), table="sess/req", column=13, digits=2),
    Metric("db_statements", "statements", "cell", "database", "lower", "statements executed (embedded server)",
           "delta", series="db_statements"),
    Metric("db_statements_per_request", "statements", "cell", "database", "lower", "statements per request",
           "per_request", of=("db_statements",), table="stmts/req", column=14),
    Metric("db_too_many_clients", "connections", "cell", "database", "lower",
           "connections refused for lack of slots (embedded server)", "delta", series="db_too_many_clients",
           table="refused", column=15, digits=0),
    Metric("upstream_requests", "requests", "cell", "upstream", "neither", "requests the upstream saw",
           "delta", series="upstream_requests"),
    Metric("upstream_requests_per_request", "requests", "cell", "upstream", "neither",
           "upstream requests per completed request", "per_request", of=("upstream_requests",)),
    Metric("upstream_connections_opened", "connections", "cell", "upstream", "lower",
           "TCP connections the upstream accepted", "delta", series="upstream_connections_opened"),
    Metric("upstream_connections_per_request", "connections", "cell", "upstream", "lower",
           "upstream connections per completed request", "per_request", of=("upstream_connections_opened",)),
    Metric("upstream_open_peak", "connections", "cell", "upstream", "lower", "connections open at the upstream, peak",
           "peak", series="upstream_connections_open"),
    Metric("upstream_inflight_peak", "requests", "cell", "upstream", "lower", "requests in flight upstream, peak",
           "peak", series="upstream_inflight"),
    Metric("upstream_time_wait_peak", "sockets", "cell", "upstream", "lower", "sockets in TIME_WAIT, peak",
           "peak", series="upstream_time_wait"),
    Metric("writes_confirmed", "writes", "cell", "upstream", "neither",
           "distinct writes the server confirmed to its clients (requests sent with a lab_key)", "custom"),
    Metric("writes_lost", "writes", "cell", "upstream", "lower",
           "writes confirmed to a client that the upstream never took, by the cell's end", "custom"),
    Metric("writes_duplicated", "writes", "cell", "upstream", "lower",
           "writes the upstream took more than once (same idempotency key)", "custom"),
    Metric("proxy_cpu_pct", "%", "cell", "proxy", "lower", "nginx's CPU (% of one core), mean",
           "mean", series="proxy_cpu_pct"),
    Metric("proxy_upstream_errors", "errors", "cell", "proxy", "lower",
           "upstream failures in nginx's error log (closed, reset, refused, timed out): what is behind its 502s",
           "custom"),
    Metric("proxy_upstream_prematurely_closed", "errors", "cell", "proxy", "lower",
           "nginx's error log: \"upstream prematurely closed connection\" (the app closed a connection nginx sent on)",
           "custom"),
    Metric("proxy_upstream_reset", "errors", "cell", "proxy", "lower",
           "nginx's error log: \"Connection reset by peer\" from the app", "custom"),
    Metric("proxy_body_too_large", "requests", "cell", "proxy", "neither",
           "nginx's error log: bodies over client_max_body_size, refused with 413 before the app", "custom"),
    Metric("recovery_s", "s", "cell", "traffic", "lower",
           "seconds after the last fault until p99 is back within 2x its level before the first", "custom"),
    Metric("capacity", "req/s", "cell", "traffic", "higher",
           "open-model sweep: the highest offered rate that met the scenario's SLO", "custom", table="capacity",
           column=16, digits=0),
    Metric("queue_ratio_p50", "ratio", "cell", "traffic", "neither",
           "open model: measured p50 / the queue model's p50 at the same arrivals", "custom"),
    Metric("queue_ratio_p90", "ratio", "cell", "traffic", "neither",
           "open model: measured p90 / the queue model's p90 at the same arrivals", "custom"),
    Metric("queue_ratio_p99", "ratio", "cell", "traffic", "neither",
           "open model: measured p99 / the queue model's p99 at the same arrivals", "custom"),
)  # fmt: skip

BY_NAME = {m.name: m for m in REGISTRY}
# An app publishes `app_<name>` at a probe route; the summary reduces it three ways.
APP_REDUCES: tuple[Reduce, ...] = ("peak", "mean", "last")
APP_METRIC = re.compile(r"^(app_[a-z0-9_]+)_(peak|mean|last)$")

LATENCY = tuple(m.name for m in REGISTRY if m.is_latency and not m.name.startswith("arrival_"))
PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99, "p99.9": 0.999}
TRAFFIC = tuple(m.name for m in REGISTRY if m.scope == "request")


def get(name: str) -> Metric | None:
    """The registry entry of a metric, app probe metrics included; None for an unknown name."""
    if name in BY_NAME:
        return BY_NAME[name]
    match = APP_METRIC.match(name)
    if match:
        series, reduce = match.groups()
        return Metric(name, "", "cell", "app", "neither", f"{reduce} of {series} (app probe)", reduce, series=series)  # type: ignore[arg-type]
    return None


def claimable() -> list[str]:
    return [m.name for m in REGISTRY if m.claimable]


def columns(names: list[str]) -> list[Metric]:
    """Table columns among the metrics a record holds, in registry order."""
    present = set(names)
    found = [m for m in REGISTRY if m.column and (m.scope == "request" or m.name in present)]
    return sorted(found, key=lambda m: m.column)


# -- the documentation's metric table, generated (`python -m lab schema` keeps the READMEs current) ---
BEGIN, END = "<!-- metrics: generated from lab/metrics.py -->", "<!-- metrics: end -->"


def markdown_table() -> str:
    rows = [
        "| metric | unit | per | source | claimable | better | meaning |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in REGISTRY:
        how = {"delta": " (counter growth over the window)", "per_request": " (per completed request)"}.get(
            m.reduce, ""
        )
        per = "request name and segment" if m.scope == "request" else "cell"
        rows.append(
            f"| `{m.name}` | {m.unit} | {per} | {m.source} | {'yes' if m.claimable else 'no'} | {m.better} | {m.text}{how} |"
        )
    rows.append(
        "| `app_<probe>_peak`, `_mean`, `_last` | as published | cell | app | yes | neither | "
        "a number the app publishes at an `[[app_probes]]` route, sampled every 0.5 s |"
    )
    return "\n".join(rows)


def refresh(text: str) -> str:
    """`text` with the table between the markers replaced by the registry's."""
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{markdown_table()}\n{END}{tail}"
