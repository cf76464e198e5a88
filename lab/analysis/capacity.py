"""Capacity at the SLO per variant and server setting, and every sweep step as a row, from a run record.

Read by the terminal table, the report's charts and the catalogue; nothing here measures.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import pandas as pd

from lab.analysis import sweep
from lab.analysis.repeats import median
from lab.analysis.steps import judged_steps
from lab.record.models import CellRecord, RunRecord

BOUND_MARK = {"exact": "", "at_least": ">=", "below": "<"}


@dataclass(frozen=True)
class Capacity:
    group: str
    variant: str
    setting: str
    workers: int
    capacities: list[float]  # one per repeat
    bounds: list[str]
    # Per repeat, where the truth lies: from the highest rate decided to meet the SLO to the lowest
    # decided to miss above it (None: no rate missed).
    ranges: list[tuple[float, float | None]]
    p99_ms: float | None  # at the capacity step, median over repeats
    cpu_pct: float | None
    rss_mb_per_worker: float | None
    db_connections: float | None
    contended: bool  # more server processes than server cores: they share, they do not scale

    @property
    def median(self) -> float:
        return statistics.median(self.capacities)

    @property
    def shown(self) -> str:
        return f"{mark(self.bounds)}{self.median:,.0f}"

    @property
    def per_repeat(self) -> str:
        """`10-40 10-25`: each repeat's capacity range (`>=80` without an upper end)."""
        return " ".join(f"{lo:g}-{hi:g}" if hi is not None else f">={lo:g}" for lo, hi in self.ranges)


def mark(bounds: list[str]) -> str:
    """`>=` when every repeat's capacity is a lower bound, `<` when each lies below, `~` when mixed."""
    marks = {BOUND_MARK.get(b, "") for b in bounds}
    return marks.pop() if len(marks) == 1 else "~"


def capacities(rec: RunRecord) -> list[Capacity]:
    groups: dict[str, list[CellRecord]] = {}
    for cell in rec.ok_cells():
        if cell.points and cell.summary is not None and cell.summary.value("capacity") is not None:
            groups.setdefault(cell.group, []).append(cell)
    cores = len(rec.pinning.server_cores)
    out = []
    for group, cells in groups.items():
        summaries = [c.summary for c in cells if c.summary is not None]
        workers = cells[0].server.workers
        rss = median([s.value("server_rss_mb") for s in summaries])
        out.append(
            Capacity(
                group=group,
                variant=cells[0].variant,
                setting=cells[0].setting,
                workers=workers,
                capacities=[float(s.value("capacity") or 0) for s in summaries],
                bounds=[c.capacity_bound or "exact" for c in cells],
                ranges=[sweep.bracket(judged_steps(c.points)) for c in cells],
                p99_ms=median([s.value("p99") for s in summaries]),
                cpu_pct=median([s.value("server_cpu_pct") for s in summaries]),
                rss_mb_per_worker=None if rss is None else rss / workers,
                db_connections=median([s.value("db_connections_peak") for s in summaries]),
                contended=workers > max(cores, 1),
            )
        )
    return out


def steps(rec: RunRecord) -> pd.DataFrame:
    """One row per step of every open-model cell: offered and achieved rate, latency, prediction."""
    rows = []
    for cell in rec.ok_cells():
        for point in cell.points:
            rows.append(
                {
                    "group": cell.group,
                    "variant": cell.variant,
                    "setting": cell.setting,
                    "repeat": cell.repeat,
                    "rate": point.target_rps,
                    "offered": point.offered_rps,
                    "achieved": point.rps,
                    "p50": point.latency_ms.get("p50"),
                    "p90": point.latency_ms.get("p90"),
                    "p99": point.latency_ms.get("p99"),
                    "arrival_p99": point.arrival_latency_ms.get("p99"),
                    "arrivals": point.requests,
                    "window_s": point.window_s,
                    "decision": point.slo_decision or "",
                    "service_p50": point.service_ms.get("p50"),
                    "service_p99": point.service_ms.get("p99"),
                    "send_lag_p99": point.send_lag_ms.get("p99"),
                    "predicted_p50": point.predicted_ms.get("p50"),
                    "predicted_p90": point.predicted_ms.get("p90"),
                    "predicted_p99": point.predicted_ms.get("p99"),
                    "in_flight": point.in_flight_mean,
                    "cpu_ms_per_request": point.value("server_cpu_ms_per_request"),
                    "little_ratio": point.little_ratio,
                    "error_rate": point.error_rate,
                    "meets_slo": point.meets_slo,
                    "flags": ",".join(point.flags),
                }
            )
    return pd.DataFrame(rows)


def curve(rec: RunRecord) -> pd.DataFrame:
    """Median over repeats per group and offered rate (bisection steps differ between repeats and
    stay single points)."""
    frame = steps(rec)
    if frame.empty:
        return frame
    numeric = [
        c
        for c in frame.columns
        if c not in ("group", "variant", "setting", "repeat", "rate", "flags", "meets_slo", "decision")
    ]
    out = frame.groupby(["group", "variant", "setting", "rate"], as_index=False)[numeric].median()
    decisions = (
        frame.groupby(["group", "rate"])["decision"]
        .agg(lambda d: "/".join(sorted({str(v) for v in d if v})))
        .reset_index()
    )
    out = out.merge(decisions, on=["group", "rate"])
    counts = frame.groupby(["group", "rate"]).size().rename("repeats").reset_index()
    return out.merge(counts, on=["group", "rate"]).sort_values(["group", "rate"])
