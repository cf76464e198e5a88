"""From the raw outputs of one cell (requests.csv, window.json, samples) to its summary, and from
the summaries of a variant's repeats to the variant's figures.

Percentiles are computed from every measured request's own response time (not Locust's
rounded histogram), over the measured window only: completions in [warm-up end, test end).
Cell-level metrics are computed from the registry (lab/metrics.py) alone.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lab import metrics
from lab.record import ALL, CellRecord, CellSummary, Flag, Traffic, VariantSummary

# Locust's cores at or above this share busy (every process on them) on average, or at or above
# GENERATOR_BOUND_PEAK_PCT in their busiest second: the generator, not the server, sets the pace.
GENERATOR_BOUND_CPU_PCT = 90.0
GENERATOR_BOUND_PEAK_PCT = 98.0
# Work on the server's cores that is not the server's, in % of one core: a noisy neighbour.
NOISY_NEIGHBOUR_PCT = 25.0
# Below this many requests a p99 rests on one or two samples.
FEW_REQUESTS = 200
# The measured window is cut into this many equal segments, so a claim can see its own spread.
SEGMENTS = 3
OPEN_COLUMNS = ("sched", "sent", "wait")
# Mean in flight (sampled by the generator) vs arrival rate x mean latency: further apart than this,
# and the step was not a steady state (a queue that grew or drained during the window).
LITTLE_TOLERANCE = 0.10
GENERATOR_JITTER_MS = 1.0
# Paced closed-loop users: more than this share of requests outlasting the pacing, and the users sent
# late often enough to hide a tail (a p99 rests on the slowest 1 %): the cell is coordinated_omission.
LATE_SHARE = 0.01


def read_requests(path: Path) -> pd.DataFrame:
    """requests.csv: completion `t`, `name`, `response_ms` from the actual send, `ok`; the open model
    adds `sched`, `sent` and `wait` (seconds from the load's start; a cell of an older lab has none)."""
    frame = pd.read_csv(path, dtype={"t": "float64", "name": "string", "response_ms": "float64", "ok": "int8"})
    for column in OPEN_COLUMNS:
        frame[column] = frame[column].astype("float64") if column in frame else np.nan
    return frame


def prepare(requests: pd.DataFrame, window: dict[str, Any]) -> pd.DataFrame:
    """Add `at` (when a request counts toward a window) and `latency_ms`.

    Closed model: a request counts when it completes, and its latency runs from its actual send.
    Open model: it counts when it was scheduled, and its latency runs from that scheduled time, so a
    request that waited behind a stall (in the client or the server) reports the wait."""
    out = requests.copy()
    if window.get("model") == "open":
        out["at"] = out["sched"]
        out["latency_ms"] = (out["t"] - out["sched"]) * 1000.0
    else:
        out["at"] = out["t"]
        out["latency_ms"] = out["response_ms"]
    return out


def read_window(path: Path) -> dict[str, Any]:
    window: dict[str, Any] = json.loads(path.read_text())
    return window


def latency_ms(ms: pd.Series) -> dict[str, float | None]:
    if ms.empty:
        return dict.fromkeys(metrics.LATENCY)
    out: dict[str, float | None] = {k: round(float(ms.quantile(q)), 3) for k, q in metrics.PERCENTILES.items()}
    out["max"] = round(float(ms.max()), 3)
    out["mean"] = round(float(ms.mean()), 3)
    return out


def traffic(requests: pd.DataFrame, seconds: float, completed: pd.DataFrame | None = None) -> Traffic:
    """Counts, goodput and latency of one slice of requests that spans `seconds`.

    A fast refusal is not service: `rps` and the latency percentiles count successful requests
    only; failures have their own rate (`attempted_rps` counts both) and their own latencies.
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
        failed_latency_ms=latency_ms(latency[~ok]) if failures else {},
        offered_rps=round(n / seconds, 3) if open_model and seconds > 0 else None,
        service_ms=latency_ms(requests.loc[ok, "response_ms"]) if open_model else {},
        send_lag_ms=(
            latency_ms(((requests["sent"] - requests["sched"] - requests["wait"]) * 1000.0)[sent])
            if sent is not None
            else {}
        ),
        slot_wait_ms=latency_ms((requests["wait"] * 1000.0)[sent]) if sent is not None else {},
    )


def measured(requests: pd.DataFrame, window: dict[str, Any]) -> tuple[pd.DataFrame, float, float]:
    start, end = window["warmup_s"], window["end_s"]
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


def _series(samples: pd.DataFrame, name: str) -> pd.DataFrame:
    return samples.loc[samples["metric"] == name, ["ts", "value"]].sort_values("ts")


def counter_growth(series: pd.DataFrame, t_start: float, t_end: float) -> float | None:
    """How much a cumulative counter grew over [t_start, t_end], read at the window's edges.

    Counters are sampled every half second, so the first and last samples inside the window
    miss up to a sample interval at each end; interpolating between the samples on either side
    of each edge counts the whole window (an edge beyond the samples is read at the nearest one)."""
    if len(series) < 2:
        return None
    ts, values = series["ts"].to_numpy(float), series["value"].to_numpy(float)
    if t_end < ts[0] or t_start > ts[-1]:
        return None
    return float(np.interp(t_end, ts, values) - np.interp(t_start, ts, values))


def _reduce(metric: metrics.Metric, series: pd.DataFrame, t_start: float, t_end: float) -> float | None:
    if metric.reduce == "delta":
        return counter_growth(series, t_start, t_end)
    inside = series.loc[(series["ts"] >= t_start) & (series["ts"] <= t_end), "value"]
    if inside.empty:
        return None
    if metric.reduce == "mean":
        return round(float(inside.mean()), 3)
    if metric.reduce == "peak":
        return float(inside.max())
    return float(inside.iloc[-1])  # last


def cell_metrics(samples: pd.DataFrame, t_start: float, t_end: float, requests: int) -> dict[str, float | None]:
    """Every cell-level metric of the registry whose source was sampled in this cell.

    A metric whose source was not sampled (no database, an upstream sampler that failed) is
    absent, never zero."""
    present = set(samples["metric"].unique()) if not samples.empty else set()
    wanted = [m for m in metrics.REGISTRY if m.series and m.series in present]
    for series in sorted(s for s in present if s.startswith("app_")):
        wanted += [m for r in metrics.APP_REDUCES if (m := metrics.get(f"{series}_{r}")) is not None]
    out = {m.name: _reduce(m, _series(samples, m.series), t_start, t_end) for m in wanted}
    for m in metrics.REGISTRY:
        parts = [out.get(name) for name in m.of]
        if m.reduce == "per_request" and m.of[0] in out:
            out[m.name] = round(parts[0] / requests, 4) if parts[0] is not None and requests else None
        elif m.reduce == "sum" and parts and parts[0] is not None:
            out[m.name] = round(sum(p for p in parts if p is not None), 3)
        elif m.reduce == "difference" and len(parts) == 2 and parts[0] is not None and parts[1] is not None:
            out[m.name] = round(parts[0] - parts[1], 3)
    return out


def counter_segments(
    samples: pd.DataFrame, bounds: list[tuple[float, float]], requests: list[int]
) -> dict[str, list[float | None]]:
    """Counters (and their per-request rates) per segment of the window, each read at its edges,
    so that cell-level counts get a spread like traffic metrics."""
    present = set(samples["metric"].unique()) if not samples.empty else set()
    out: dict[str, list[float | None]] = {}
    for m in metrics.REGISTRY:
        if m.reduce == "delta" and m.series in present:
            series = _series(samples, m.series)
            out[m.name] = [counter_growth(series, lo, hi) for lo, hi in bounds]
        elif m.reduce == "per_request" and m.of[0] in out:
            out[m.name] = [
                round(g / n, 4) if g is not None and n else None for g, n in zip(out[m.of[0]], requests, strict=True)
            ]
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
    requests: pd.DataFrame,
    window: dict[str, Any],
    samples: pd.DataFrame,
    *,
    faults: list[dict[str, Any]] | None = None,
    pinned: bool = True,
    sampler_errors: Sequence[str] = (),
    in_flight: pd.DataFrame | None = None,
    lag_bound_ms: float | None = None,
    pacing_s: float | None = None,
    unpaced: Sequence[str] = (),
    generator_cores: int = 0,
) -> CellSummary:
    """`pacing_s`: a closed model's interval between one user's sends, to find where it fell behind
    (`unpaced`: request names whose users do not pace, left out of that). `generator_cores`: how
    many cores Locust had, against the processes the window says it ran (0: not known)."""
    requests = prepare(requests, window)
    inside, start, end = measured(requests, window)
    seconds = end - start
    names = {str(name): part for name, part in inside.groupby("name", sort=True)}
    cell = cell_metrics(samples, window["t0"] + start, window["t0"] + end, len(inside))
    if faults:
        cell["recovery_s"] = recovery_s(requests, faults)
    # Open model: a request belongs to the window it was scheduled in (its latency counts the wait),
    # while goodput counts what completed in it: past capacity, a backlog answered after the window
    # must not count as throughput delivered inside it.
    every = requests if window.get("model") == "open" else None
    by_name = {str(name): part for name, part in every.groupby("name")} if every is not None else {}
    whole = traffic(inside, seconds, completed_in(every, start, end))
    parts = segments(inside, start, end, every=every)
    step = seconds / SEGMENTS
    bounds = [(window["t0"] + start + i * step, window["t0"] + start + (i + 1) * step) for i in range(SEGMENTS)]
    summary = CellSummary(
        **whole.model_dump(),
        window_s=round(seconds, 3),
        by_request={
            name: traffic(part, seconds, completed_in(by_name.get(name), start, end)) for name, part in names.items()
        },
        segments={
            ALL: parts,
            **{name: segments(part, start, end, every=by_name.get(name)) for name, part in names.items()},
        },
        metrics=cell,
        metric_segments=counter_segments(samples, bounds, [p.requests for p in parts]),
        sampler_errors=list(sampler_errors),
    )
    if window.get("model") == "open":
        summary.model, summary.target_rps = "open", float(window["rate"])
        summary.in_flight_mean, summary.little_ratio = littles_law(inside, in_flight, start, end)
        if in_flight is not None and summary.in_flight_mean is not None:
            n = int(((in_flight["t"] >= start) & (in_flight["t"] < end)).sum())
            mean_ms = float(inside["latency_ms"].mean()) if not inside.empty else 0.0
            summary.little_tolerance = round(little_tolerance(summary.in_flight_mean, n, mean_ms), 4)
    elif pacing_s and not (paced := inside[~inside["name"].isin(list(unpaced))]).empty:
        summary.late_share = round(float((paced["latency_ms"] >= pacing_s * 1000.0).mean()), 4)
    shared = generator_cores > 0 and int(window.get("generators", 1)) > generator_cores
    summary.flags = decide_flags(summary, pinned, lag_bound_ms, shared)
    return summary


def littles_law(
    inside: pd.DataFrame, in_flight: pd.DataFrame | None, start: float, end: float
) -> tuple[float | None, float | None]:
    """Mean in flight as the generator sampled it, and its ratio to arrival rate x mean latency
    (Little's law, L = lambda W: 1.0 in a steady state)."""
    if in_flight is None or in_flight.empty or inside.empty:
        return None, None
    sampled = in_flight.loc[(in_flight["t"] >= start) & (in_flight["t"] < end), "in_flight"]
    if sampled.empty:
        return None, None
    mean_in_flight = float(sampled.mean())
    predicted = len(inside) / (end - start) * float(inside["latency_ms"].mean()) / 1000.0
    return round(mean_in_flight, 3), round(mean_in_flight / predicted, 4) if predicted > 0 else None


def little_tolerance(in_flight_mean: float, samples: int, mean_latency_ms: float) -> float:
    """How far from 1 the ratio may be before a step is called unsteady: LITTLE_TOLERANCE, or wider
    when the check itself is coarser: three standard errors of a mean of `samples` counts (taken as
    Poisson: wide below one request in flight), or the generator's sampling jitter (a sample is taken
    when gevent's loop gets to it, up to about GENERATOR_JITTER_MS late (measured here: a 30 % excess at a 2.4 ms mean latency), and late samples land in
    busy moments) relative to the mean latency (wide for millisecond requests)."""
    if in_flight_mean <= 0 or samples <= 0 or mean_latency_ms <= 0:
        return LITTLE_TOLERANCE
    noise = 3 * math.sqrt(in_flight_mean / samples) / in_flight_mean
    return max(LITTLE_TOLERANCE, noise, GENERATOR_JITTER_MS / mean_latency_ms)


def decide_flags(
    summary: CellSummary, pinned: bool, lag_bound_ms: float | None = None, generators_share_cores: bool = False
) -> list[Flag]:
    """The one place a cell's flags are decided."""
    out: list[Flag] = []
    # The open model's own clock: arrivals sent late (slot waits aside) mean the generator, not the
    # server, shaped the load.
    lag = summary.send_lag_ms.get("p99")
    late = lag_bound_ms is not None and lag is not None and lag > lag_bound_ms
    if summary.requests == 0:
        out.append("no_requests")
    elif summary.requests < FEW_REQUESTS:
        out.append("few_requests")
    # Whatever shares Locust's core (the database, the upstream, the harness, the kernel) starves it
    # as much as its own work does: the core is measured as a whole, on average and at its busiest.
    mean = summary.value("generator_cores_busy_pct") or summary.value("generator_core_cpu_pct")
    peak = summary.value("generator_cores_busy_peak")
    if (
        late
        or (mean is not None and mean >= GENERATOR_BOUND_CPU_PCT)
        or (peak is not None and peak >= GENERATOR_BOUND_PEAK_PCT)
    ):
        out.append("generator_bound")
    # A paced user waits for its answer: an answer slower than the pacing delays its next send, and
    # the requests real traffic would have sent meanwhile are never measured.
    if summary.late_share is not None and summary.late_share > LATE_SHARE:
        out.append("coordinated_omission")
    if summary.little_ratio is not None and abs(summary.little_ratio - 1) > (
        summary.little_tolerance or LITTLE_TOLERANCE
    ):
        out.append("not_steady")
    other = summary.value("server_cores_other_pct")
    if other is not None and other >= NOISY_NEIGHBOUR_PCT:
        out.append("noisy_neighbour")
    if not pinned:
        out.append("unpinned")
    # More Locust processes than cores: they take turns, so the extra processes add no capacity (the
    # numbers stand; whether the shared core was saturated is generator_bound's to say).
    if generators_share_cores:
        out.append("generators_share_cores")
    return out


# -- over repeats -----------------------------------------------------------------------------------
def median(values: Sequence[float | None]) -> float | None:
    """Median of the known values (None when none is), to three decimals."""
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def combine(parts: Sequence[Traffic]) -> Traffic:
    """Median over repeats of one traffic summary (requests, rps, latency...)."""
    counts = {
        k: median([p.value(k) for p in parts]) for k in ("requests", "failures", "error_rate", "rps", "attempted_rps")
    }
    failed = [p.failed_latency_ms for p in parts if p.failed_latency_ms]
    return Traffic(
        requests=round(counts["requests"] or 0),
        failures=round(counts["failures"] or 0),
        error_rate=counts["error_rate"],
        rps=counts["rps"],
        attempted_rps=counts["attempted_rps"],
        latency_ms={k: median([p.latency_ms.get(k) for p in parts]) for k in metrics.LATENCY},
        failed_latency_ms={k: median([f.get(k) for f in failed]) for k in metrics.LATENCY} if failed else {},
    )


def aggregate(cells: Sequence[CellRecord]) -> dict[str, VariantSummary]:
    """Per variant (and matrix point): medians across repeats of the cells that were measured."""
    groups: dict[str, list[CellRecord]] = {}
    for cell in cells:
        if cell.status == "ok" and cell.summary is not None:
            groups.setdefault(cell.group, []).append(cell)
    variants = {}
    for group, members in groups.items():
        sums = [m.summary for m in members if m.summary is not None]
        names = sorted({n for s in sums for n in s.by_request})
        cell_names = [n for n in dict.fromkeys(k for s in sums for k in s.metrics)]
        first = members[0]
        variants[group] = VariantSummary(
            **combine(sums).model_dump(),
            variant=first.variant,
            app=first.app,
            setting=first.setting,
            server=first.server,
            load=first.load,
            repeats=len(members),
            by_request={n: combine([s.by_request[n] for s in sums if n in s.by_request]) for n in names},
            metrics={n: median([s.metrics.get(n) for s in sums]) for n in cell_names},
            flags=sorted({f for s in sums for f in s.flags}),
        )
    return variants


def ledger(confirmed: list[str], taken: list[str]) -> dict[str, float | None]:
    """Writes a server confirmed to its clients but the upstream never took (lost), and writes the
    upstream took more than once (an at-least-once delivery's repeats). Keys, not counts: a repeat
    must not hide a loss."""
    distinct = set(taken)
    return {
        "writes_confirmed": float(len(set(confirmed))),
        "writes_lost": float(len(set(confirmed) - distinct)),
        "writes_duplicated": float(len(taken) - len(distinct)),
    }
