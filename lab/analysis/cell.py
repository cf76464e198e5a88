"""From the raw outputs of one step (requests, window, samples) to its summary.

Cell-level metrics are computed from the registry (lab/metrics.py) alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lab import metrics
from lab.analysis.flags import decide_flags, little_tolerance, littles_law
from lab.analysis.traffic import SEGMENTS, completed_in, measured, prepare, segments, traffic
from lab.record.models import ALL, CellSummary
from lab.record.window import Window


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
    window: Window,
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
    cell = cell_metrics(samples, window.t0 + start, window.t0 + end, len(inside))
    if faults:
        cell["recovery_s"] = recovery_s(requests, faults)
    # Open model: a request belongs to the window it was scheduled in (its latency counts the wait),
    # while goodput counts what completed in it: past capacity, a backlog answered after the window
    # must not count as throughput delivered inside it.
    every = requests if window.open else None
    by_name = {str(name): part for name, part in every.groupby("name")} if every is not None else {}
    whole = traffic(inside, seconds, completed_in(every, start, end))
    parts = segments(inside, start, end, every=every)
    step = seconds / SEGMENTS
    bounds = [(window.t0 + start + i * step, window.t0 + start + (i + 1) * step) for i in range(SEGMENTS)]
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
    if window.open:
        summary.model, summary.target_rps = "open", float(window.rate or 0)
        summary.in_flight_mean, summary.little_ratio = littles_law(inside, in_flight, start, end)
        if in_flight is not None and summary.in_flight_mean is not None:
            n = int(((in_flight["t"] >= start) & (in_flight["t"] < end)).sum())
            mean_ms = float(inside["latency_ms"].mean()) if not inside.empty else 0.0
            summary.little_tolerance = round(little_tolerance(summary.in_flight_mean, n, mean_ms), 4)
    elif pacing_s and not (paced := inside[~inside["name"].isin(list(unpaced))]).empty:
        summary.late_share = round(float((paced["latency_ms"] >= pacing_s * 1000.0).mean()), 4)
    shared = generator_cores > 0 and window.generators > generator_cores
    summary.flags = decide_flags(summary, pinned, lag_bound_ms, shared)
    return summary


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
