"""From raw outputs of one cell (requests.csv, window.json, samples) to its summary numbers.

Percentiles are computed from every measured request's own response time (not Locust's
rounded histogram), over the measured window only: completions in [warm-up end, test end).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99, "p99.9": 0.999}
# Locust at or above this share of its core is measuring itself, not the server.
GENERATOR_BOUND_CPU_PCT = 90.0
# Below this many requests a p99 rests on one or two samples.
FEW_REQUESTS = 200
# The measured window is cut into this many equal segments, so a claim can see its own spread.
SEGMENTS = 3
ALL = "all"
# CPU of services that share Locust's core: with them, the core's total load is what starves Locust.
SERVICE_CPU = ("database_cpu_pct", "upstream_cpu_pct")
# Metrics of the traffic itself, known per request name and per segment of the window; every
# other claimable metric (CPU, memory, database counts) belongs to a whole cell.
TRAFFIC_METRICS = {*PERCENTILES, "max", "mean", "rps", "requests", "failures", "error_rate"}


def read_requests(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"t": "float64", "name": "string", "response_ms": "float64", "ok": "int8"})


def read_window(path: Path) -> dict[str, float]:
    window: dict[str, float] = json.loads(path.read_text())
    return window


def latency_ms(ms: pd.Series) -> dict[str, float | None]:
    if ms.empty:
        return {key: None for key in [*PERCENTILES, "max", "mean"]}
    out: dict[str, float | None] = {k: round(float(ms.quantile(q)), 3) for k, q in PERCENTILES.items()}
    out["max"] = round(float(ms.max()), 3)
    out["mean"] = round(float(ms.mean()), 3)
    return out


def traffic(requests: pd.DataFrame, seconds: float) -> dict[str, Any]:
    """Counts, rate and latency of one slice of requests that spans `seconds`."""
    n = len(requests)
    failures = int((requests["ok"] == 0).sum())
    return {
        "requests": n,
        "failures": failures,
        "error_rate": round(failures / n, 6) if n else None,
        "rps": round(n / seconds, 3) if seconds > 0 else None,
        "latency_ms": latency_ms(requests["response_ms"]),
    }


def measured(requests: pd.DataFrame, window: dict[str, float]) -> tuple[pd.DataFrame, float, float]:
    start, end = window["warmup_s"], window["end_s"]
    inside = requests[(requests["t"] >= start) & (requests["t"] < end)]
    return inside, start, end


def _by_name(requests: pd.DataFrame) -> dict[str, pd.DataFrame]:
    groups = {str(name): part for name, part in requests.groupby("name", sort=True)}
    return {ALL: requests, **groups}


def segments(requests: pd.DataFrame, start: float, end: float, k: int = SEGMENTS) -> list[dict[str, Any]]:
    step = (end - start) / k
    parts = []
    for i in range(k):
        lo, hi = start + i * step, start + (i + 1) * step
        parts.append(traffic(requests[(requests["t"] >= lo) & (requests["t"] < hi)], step))
    return parts


def window_samples(samples: pd.DataFrame, t0: float, start: float, end: float) -> pd.DataFrame:
    """The samples taken inside the measured window (samples carry wall-clock `ts`)."""
    return samples[(samples["ts"] >= t0 + start) & (samples["ts"] <= t0 + end)]


def _series(inside: pd.DataFrame, metric: str) -> pd.Series:
    return inside.loc[inside["metric"] == metric].sort_values("ts")["value"]


def _delta(inside: pd.DataFrame, metric: str) -> float | None:
    """How much a cumulative counter grew inside the window."""
    values = _series(inside, metric)
    return float(values.iloc[-1] - values.iloc[0]) if len(values) >= 2 else None


def _per_request(value: float | None, requests: int) -> float | None:
    return round(value / requests, 4) if value is not None and requests else None


def sampled(inside: pd.DataFrame) -> dict[str, float | None]:
    """Means (and the RSS peak) of the process samples taken inside the measured window."""
    out: dict[str, float | None] = {}
    for metric in ("server_cpu_pct", "server_rss_mb", "generator_cpu_pct", "database_cpu_pct", "upstream_cpu_pct"):
        values = _series(inside, metric)
        if metric in SERVICE_CPU and values.empty:
            continue  # only scenarios with that service have one
        out[metric] = round(float(values.mean()), 2) if not values.empty else None
    peak = _series(inside, "server_rss_mb")
    out["server_rss_mb_peak"] = round(float(peak.max()), 2) if not peak.empty else None
    return out


def database(inside: pd.DataFrame, requests: int) -> dict[str, float | None]:
    """What the database saw inside the window: connections (peak, mean), sessions opened,
    idle-in-transaction peak, statements per request, connections refused. Empty without a database."""
    connections = _series(inside, "db_connections")
    if connections.empty:
        return {}
    sessions = _delta(inside, "db_sessions")
    return {
        "db_connections_peak": float(connections.max()),
        "db_connections_mean": round(float(connections.mean()), 2),
        "db_idle_in_transaction_peak": float(_series(inside, "db_idle_in_transaction").max()),
        "db_sessions_opened": sessions,
        "db_sessions_per_request": _per_request(sessions, requests),
        "db_statements_per_request": _per_request(_delta(inside, "db_statements"), requests),
        "db_too_many_clients": _delta(inside, "db_too_many_clients"),
    }


def upstream(inside: pd.DataFrame, requests: int) -> dict[str, float | None]:
    """What the upstream saw inside the window. Empty without an upstream."""
    if _series(inside, "upstream_requests").empty:
        return {}
    opened = _delta(inside, "upstream_connections_opened")
    return {
        "upstream_requests": _delta(inside, "upstream_requests"),
        "upstream_connections_opened": opened,
        "upstream_connections_per_request": _per_request(opened, requests),
        "upstream_open_peak": float(_series(inside, "upstream_connections_open").max()),
        "upstream_inflight_peak": float(_series(inside, "upstream_inflight").max()),
        "upstream_time_wait_peak": float(_series(inside, "upstream_time_wait").max()),
    }


def app_metrics(inside: pd.DataFrame) -> dict[str, float]:
    """Numbers the app published (`app_<name>` samples): peak, mean and last value inside the window."""
    out: dict[str, float] = {}
    for metric, part in inside[inside["metric"].str.startswith("app_")].groupby("metric"):
        values = part.sort_values("ts")["value"]
        out.update({f"{metric}_peak": float(values.max()), f"{metric}_mean": round(float(values.mean()), 3),
                    f"{metric}_last": float(values.iloc[-1])})  # fmt: skip
    return out


def recovery_s(requests: pd.DataFrame, faults: list[dict[str, Any]], factor: float = 2.0) -> float | None:
    """Seconds from the end of the last fault until p99 is back within `factor` x its level before the
    first fault, for two seconds in a row. None without faults, or if it never recovers in the run."""
    if not faults or requests.empty:
        return None
    first, last = min(f["from_s"] for f in faults), max(f["until_s"] for f in faults)
    seconds = requests["t"].astype(int)
    p99 = requests.groupby(seconds)["response_ms"].quantile(0.99)
    before = p99[p99.index < int(first)]
    if before.empty:
        return None
    ceiling = factor * float(before.median())
    after = p99[p99.index >= int(last)]
    good = after <= ceiling
    for i in range(len(after) - 1):
        if good.iloc[i] and good.iloc[i + 1]:
            return float(after.index[i] - last) if after.index[i] > last else 0.0
    return None


def summarise(
    requests: pd.DataFrame, window: dict[str, float], samples: pd.DataFrame, faults: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    inside, start, end = measured(requests, window)
    in_window = window_samples(samples, window["t0"], start, end)
    seconds = end - start
    names = _by_name(inside)
    summary: dict[str, Any] = {
        **traffic(inside, seconds),
        "window_s": round(seconds, 3),
        "by_request": {name: traffic(part, seconds) for name, part in names.items() if name != ALL},
        "segments": {name: segments(part, start, end) for name, part in names.items()},
        **sampled(in_window),
        **database(in_window, len(inside)),
        **upstream(in_window, len(inside)),
    }
    if faults:
        summary["recovery_s"] = recovery_s(requests, faults)
    summary.update(app_metrics(in_window))
    summary["flags"] = flags(summary)
    return summary


def flags(summary: dict[str, Any]) -> list[str]:
    out = []
    if summary["requests"] == 0:
        out.append("no_requests")
    elif summary["requests"] < FEW_REQUESTS:
        out.append("few_requests")
    # When the database shares Locust's core, the core's total load is what starves Locust.
    cpu = summary.get("generator_core_cpu_pct", summary.get("generator_cpu_pct"))
    if cpu is not None and cpu >= GENERATOR_BOUND_CPU_PCT:
        out.append("generator_bound")
    return out


def metric(summary: dict[str, Any], name: str, request: str = ALL) -> float | None:
    """One claimable number of a summary (or of one of its segments)."""
    part = summary if request == ALL else summary.get("by_request", {}).get(request)
    if part is None:
        return None
    if name in PERCENTILES or name in ("max", "mean"):
        value = part["latency_ms"][name]
    elif name in ("rps", "requests", "failures", "error_rate"):
        value = part[name]
    else:
        value = summary.get(name)  # server-side metrics belong to the whole cell
    return None if value is None else float(value)
