"""A variant's figures over its repeats: medians of the cells that were measured."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from lab import metrics
from lab.record.models import CellRecord, Traffic, VariantSummary


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
        arrival_latency_ms={k: median([p.arrival_latency_ms.get(k) for p in parts]) for k in metrics.PERCENTILES}
        if any(p.arrival_latency_ms for p in parts)
        else {},
        # The open model's clocks: the service time from the actual send, and how late it was sent
        # (the tables print the lag beside the latencies as the floor of what was resolved).
        **{
            field: {k: median([getattr(p, field).get(k) for p in parts]) for k in metrics.LATENCY}
            for field in ("service_ms", "send_lag_ms")
            if any(getattr(p, field) for p in parts)
        },
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
