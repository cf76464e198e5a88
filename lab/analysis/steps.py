"""A step (one Locust run at one offered rate, or a closed model's one run) made into numbers, and
an open-model cell's steps judged together: each step's SLO outcome, the queue model's prediction
beside it, and the cell's capacity. The runner decides which rate to run next from these; it makes
no number itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from lab.analysis import sweep
from lab.analysis.cell import summarise
from lab.analysis.decision import Tally, bounds_ms, decide
from lab.analysis.traffic import measured, prepare
from lab.record.models import CellSummary
from lab.record.raw import StepFiles
from lab.scenario.models import LoadProfile, QueueModel, Scenario, Slo


def pacing(step: LoadProfile) -> float | None:
    """A closed model's pacing (locustfiles/_common.py: PacedUser); 0 or absent: users never wait."""
    value = step.options.get("pacing")
    if step.model != "closed" or isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value) or None
    except ValueError:
        return None


def summarise_step(
    files: StepFiles,
    step: LoadProfile,
    samples: pd.DataFrame,
    *,
    faults: list[dict[str, Any]] | None,
    pinned: bool,
    sampler_errors: Sequence[str] = (),
    generator_cores: int = 0,
    tag: str = "",
) -> CellSummary:
    """One step's summary, from its files read once and the samples taken so far."""
    summary = summarise(
        files.requests,
        files.window,
        samples,
        faults=faults,
        pinned=pinned,
        sampler_errors=sampler_errors,
        in_flight=files.in_flight,
        lag_bound_ms=step.lag_bound_ms if step.model == "open" else None,
        pacing_s=pacing(step),
        unpaced=step.unpaced,
        generator_cores=generator_cores,
    )
    summary.tag = tag
    return summary


def tallies(files: StepFiles, slo: Slo) -> dict[str, Tally]:
    """Per latency bound of the SLO: the step's measured arrivals (failures, drops and unsent ones
    included), and how many were not answered OK within the bound."""
    frame = measured(prepare(files.requests, files.window), files.window)[0]
    ok = (frame["ok"] == 1).to_numpy()
    latency = frame["latency_ms"].to_numpy(float)
    return {name: Tally(len(frame), int((~(ok & (latency <= bound))).sum())) for name, bound in bounds_ms(slo).items()}


def judge(
    summary: CellSummary, slo: Slo | None, files: StepFiles | None = None, confidence: float = 0.95
) -> sweep.Outcome:
    """A step's SLO outcome, recorded on the step (an untrusted or undecided step neither meets nor
    misses). With its files, the latency bounds are decided on its arrivals' counts."""
    if slo is None:
        return "meets"
    counted = tallies(files, slo) if files is not None and files.window.open else None
    result, summary.slo_misses = sweep.outcome(summary, slo, counted, confidence)
    summary.slo_decision = result
    summary.meets_slo = result == "meets" if result in ("meets", "misses") else None
    return result


def judged_steps(points: Sequence[CellSummary]) -> list[sweep.Step]:
    """The sweep's steps as the rate search sees them (a step run for a claim does not move it)."""
    return [sweep.Step(float(p.target_rps or 0), _outcome(p)) for p in points if not p.tag]


def _outcome(point: CellSummary) -> sweep.Outcome:
    if point.slo_decision is not None:
        return point.slo_decision
    return "untrusted" if point.meets_slo is None else "meets" if point.meets_slo else "misses"


def decided(progress: dict[str, Any], slo: Slo, confidence: float) -> bool:
    """Whether a running step's SLO is decided from the tallies its Locust processes publish."""
    counts = progress.get("slo")
    if not counts:
        return False
    found = {name: Tally(int(n), int(bad)) for name, (n, bad) in counts.items()}
    return decide(found, slo, confidence)[0] != "undecided"


def bounds_spec(slo: Slo | None) -> str:
    """The SLO's latency bounds as the Locust plugin takes them: `p99=100`."""
    return ",".join(f"{k}={v:g}" for k, v in bounds_ms(slo).items()) if slo is not None else ""


def open_cell(
    points: list[CellSummary], files: list[StepFiles], variant: str, scenario: Scenario
) -> tuple[CellSummary, sweep.Bound | None]:
    """The steps of an open-model cell (each already judged): the queue prediction per step, and the
    cell's summary (the step at its capacity, or its only step) carrying the capacity."""
    queue = scenario.queue
    if queue is not None and points and queue.describes(variant):
        lowest = min((i for i, p in enumerate(points) if not p.tag), key=lambda i: points[i].target_rps or 0)
        low = files[lowest]
        pool = sweep.service_pool(measured(prepare(low.requests, low.window), low.window)[0])
        round_trip = queue.round_trip
        round_trip_s = float(np.median(pool[round_trip])) if round_trip and round_trip in pool else 0.0
        for point, step in zip(points, files, strict=True):
            frame = prepare(step.requests, step.window)
            edges = (step.window.warmup_s, step.window.measured_end_s)
            point.predicted_ms = _model(queue, queue.discipline, frame, pool, edges, round_trip_s)
            point.queue_load = point.predicted_ms.pop("load", None)
            point.queue_round_trip_ms = round(round_trip_s * 1000.0, 3) if round_trip else None
            if queue.discipline != "fifo":  # first come, first served beside it: what the order changes
                fifo = _model(queue, "fifo", frame, pool, edges, round_trip_s)
                point.predicted_ms.update({f"fifo_{k}": v for k, v in fifo.items() if k != "load"})
            part = point.part(queue.reads or "all")
            for key in ("p50", "p90", "p99"):
                predicted = point.predicted_ms.get(key)
                # Every arrival, as the model has them: one failed or never answered is not left out.
                value = part.arrival_latency_ms.get(key, part.latency_ms.get(key)) if part is not None else None
                if predicted and value is not None:
                    point.set_metric(f"queue_ratio_{key}", round(value / predicted, 4))
    steps = judged_steps(points) if scenario.slo is not None else []
    value, bound = sweep.capacity(steps)
    if len(points) == 1 or value is None:
        summary = points[-1].model_copy(deep=True)
    else:
        summary = next(p for p in points if p.target_rps == value and not p.tag).model_copy(deep=True)
    if value is not None and len(points) > 1:
        summary.set_metric("capacity", value)
    return summary, bound if len(points) > 1 else None


def _model(
    queue: QueueModel,
    discipline: str,
    frame: pd.DataFrame,
    pool: dict[str, np.ndarray],
    edges: tuple[float, float],
    round_trip_s: float,
) -> dict[str, float | None]:
    """The scenario's queue, with `discipline`, fed one step's arrivals."""
    return sweep.predict(
        frame, pool, queue.servers, edges[0], edges[1], discipline=discipline, request=queue.request,
        read=queue.reads, round_trip_s=round_trip_s,
    )  # fmt: skip
