"""Why a cell's numbers may not be the server's alone: the one place a cell's flags are decided."""

from __future__ import annotations

import math

import pandas as pd

from lab.record.models import UNTRUSTED, CellSummary, Flag, RunRecord

# Locust's cores at or above this share busy (every process on them) on average, or at or above
# GENERATOR_BOUND_PEAK_PCT in their busiest second: the generator, not the server, sets the pace.
GENERATOR_BOUND_CPU_PCT = 90.0


GENERATOR_BOUND_PEAK_PCT = 98.0


# Work on the server's cores that is not the server's, in % of one core: a noisy neighbour.
NOISY_NEIGHBOUR_PCT = 25.0


# Below this many requests a p99 rests on one or two samples.
FEW_REQUESTS = 200


# Mean in flight (sampled by the generator) vs arrival rate x mean latency: further apart than this,
# and the step was not a steady state (a queue that grew or drained during the window).
LITTLE_TOLERANCE = 0.10


# How late the in-flight sampler may take a sample (its 10 ms sleeps end when gevent's loop gets to
# them, and late samples land in busy moments). On epoll's millisecond timer it was 1 ms; on the
# select() loop (lab/drive/load.py) the excess of Little's ratio times the mean latency was at most
# 0.12 ms over 18 one-process steps at 500-4,000 req/s (run 20261206T172037815Z): twice that.
GENERATOR_JITTER_MS = 0.25


# The open model's resolution goal: arrivals sent within this of their time at the p99. A step whose
# send lag p99 exceeds it is flagged coarse_timing: its latencies are measured from the schedule and
# so stay honest, but nothing finer than the lag can be told apart (the tables print it as the floor).
RESOLUTION_MS = 2.0


# Paced closed-loop users: more than this share of requests outlasting the pacing, and the users sent
# late often enough to hide a tail (a p99 rests on the slowest 1 %): the cell is coordinated_omission.
LATE_SHARE = 0.01


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
    when gevent's loop gets to it, up to about GENERATOR_JITTER_MS late, and late samples land in
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
    if lag is not None and lag > RESOLUTION_MS:
        out.append("coarse_timing")
    return out


def timing_floor(rec: RunRecord) -> float | None:
    """The largest send-lag p99 of any open-model step in the run whose numbers it reports as the
    server's (a step flagged generator_bound or unpinned is already set aside): the finest latency
    the run resolves."""
    lags = [
        lag
        for cell in rec.cells
        for step in [*cell.points, *([cell.summary] if cell.summary else [])]
        if (lag := step.send_lag_ms.get("p99")) is not None and not UNTRUSTED.intersection(step.flags)
    ]
    return max(lags) if lags else None


def floor_line(rec: RunRecord) -> str:
    """One line on the generator's resolution, for the head of every open-model run's output."""
    floor = timing_floor(rec)
    if floor is None:
        return ""
    verdict = "within" if floor <= RESOLUTION_MS else "OVER"
    return (
        f"generator resolution: send-lag p99 at most {floor:.2f} ms in any step it reports ({verdict} the "
        f"{RESOLUTION_MS:g} ms goal); latencies closer than that are not told apart"
    )
