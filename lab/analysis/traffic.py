"""Counts, goodput and latency of a slice of requests, and the measured window's slices.

Percentiles are computed from every measured request's own response time (not Locust's
rounded histogram), over the measured window only.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lab import metrics
from lab.record.models import Traffic
from lab.record.window import Window

# The measured window is cut into this many equal segments, so a claim can see its own spread.
SEGMENTS = 3


def prepare(requests: pd.DataFrame, window: Window) -> pd.DataFrame:
    """Add `at` (when a request counts toward a window) and `latency_ms`.

    Closed model: a request counts when it completes, and its latency runs from its actual send.
    Open model: it counts when it was scheduled, and its latency runs from that scheduled time, so a
    request that waited behind a stall (in the client or the server) reports the wait."""
    out = requests.copy()
    if window.open:
        out["at"] = out["sched"]
        out["latency_ms"] = (out["t"] - out["sched"]) * 1000.0
    else:
        out["at"] = out["t"]
        out["latency_ms"] = out["response_ms"]
    return out


def latency_ms(ms: pd.Series) -> dict[str, float | None]:
    if ms.empty:
        return dict.fromkeys(metrics.LATENCY)
    out: dict[str, float | None] = {k: round(float(ms.quantile(q)), 3) for k, q in metrics.PERCENTILES.items()}
    out["max"] = round(float(ms.max()), 3)
    out["mean"] = round(float(ms.mean()), 3)
    return out


def arrival_latency_ms(latency: pd.Series, ok: pd.Series) -> dict[str, float | None]:
    """Percentiles over every arrival, each failure counted as never answered (infinite): linear
    between neighbours like pandas' quantile, infinite where a neighbour is a failure."""
    if latency.empty:
        return {}
    values = np.sort(np.where(ok.to_numpy(), latency.to_numpy(float), np.inf))
    out: dict[str, float | None] = {}
    for key, q in metrics.PERCENTILES.items():
        h = (len(values) - 1) * q
        lo, hi = values[int(np.floor(h))], values[int(np.ceil(h))]
        out[key] = math.inf if math.isinf(hi) else round(float(lo + (h - np.floor(h)) * (hi - lo)), 3)
    return out


# The statuses a claim can name (registry: status_<code>_share).
STATUSES = ("413", "502")


def _status_share(requests: pd.DataFrame) -> dict[str, float]:
    if "status" not in requests or requests.empty or not (requests["status"] > 0).any():
        return {}
    codes = requests["status"].astype(int).astype(str)
    return {code: round(float((codes == code).mean()), 6) for code in STATUSES}


def traffic(requests: pd.DataFrame, seconds: float, completed: pd.DataFrame | None = None) -> Traffic:
    """Counts, goodput and latency of one slice of requests that spans `seconds`.

    A fast refusal is not service: `rps` and `latency_ms` count successful requests only; failures
    have their own rate (`attempted_rps` counts both) and their own latencies; `arrival_latency_ms`
    counts every arrival, a failure as never answered, as an SLO does.
    `completed`: the requests that completed inside the span, when that is not the slice itself
    (the open model's slice is by scheduled time); the rates count completions, what the server
    delivered in the span, never arrivals that a backlog answered after it."""
    n = len(requests)
    ok = requests["ok"] == 1
    failures = n - int(ok.sum())
    done = requests if completed is None else completed
    done_ok = int((done["ok"] == 1).sum())
    latency = requests["latency_ms"] if "latency_ms" in requests else requests["response_ms"]
    open_model = "sched" in requests and bool(requests["sched"].notna().any())
    sent = requests["sent"].notna() if open_model else None
    return Traffic(
        requests=n,
        failures=failures,
        error_rate=round(failures / n, 6) if n else None,
        rps=round(done_ok / seconds, 3) if seconds > 0 else None,
        attempted_rps=round(len(done) / seconds, 3) if seconds > 0 else None,
        latency_ms=latency_ms(latency[ok]),
        arrival_latency_ms=arrival_latency_ms(latency, ok),
        failed_latency_ms=latency_ms(latency[~ok]) if failures else {},
        offered_rps=round(n / seconds, 3) if open_model and seconds > 0 else None,
        service_ms=latency_ms(requests.loc[ok, "response_ms"]) if open_model else {},
        send_lag_ms=(
            latency_ms(((requests["sent"] - requests["sched"] - requests["wait"]) * 1000.0)[sent])
            if sent is not None
            else {}
        ),
        slot_wait_ms=latency_ms((requests["wait"] * 1000.0)[sent]) if sent is not None else {},
        status_share=_status_share(requests),
    )


def measured(requests: pd.DataFrame, window: Window) -> tuple[pd.DataFrame, float, float]:
    start, end = window.warmup_s, window.measured_end_s
    at = requests["at"] if "at" in requests else requests["t"]
    inside = requests[(at >= start) & (at < end)]
    return inside, start, end


def completed_in(requests: pd.DataFrame | None, start: float, end: float) -> pd.DataFrame | None:
    """The requests that completed in [start, end): what the server delivered there (None: count the
    slice itself, as the closed model does)."""
    return None if requests is None else requests[(requests["t"] >= start) & (requests["t"] < end)]


def segments(
    requests: pd.DataFrame, start: float, end: float, k: int = SEGMENTS, every: pd.DataFrame | None = None
) -> list[Traffic]:
    """`every`: all of the cell's requests of this name, for rates by completion (open model)."""
    step = (end - start) / k
    bounds = [(start + i * step, start + (i + 1) * step) for i in range(k)]
    at = requests["at"] if "at" in requests else requests["t"]
    return [traffic(requests[(at >= lo) & (at < hi)], step, completed_in(every, lo, hi)) for lo, hi in bounds]
