"""How much of a difference between server settings comes from each part: the HTTP parser, the
event loop, the access log and the server itself.

Each factor is a ratio between two settings that differ in that part only (same route, same
everything else), taken within each repeat, so that the repeats stay the independent samples
(lab/analysis/intervals.py). Where several pairs show the same factor (the parser with and without
uvloop), a repeat's ratio is their geometric mean, so the factor is its average effect. Capacities
are known within a range per repeat (the rate that met the SLO to the one that missed it); the
ratio's range follows from both ends, as a ratio claim's does (lab/analysis/claims.py).

Then the decomposition: on the log scale the parser, loop and access-log factors add up, so a
difference between two uvicorn settings splits into their shares, and what remains of a
difference between two servers at the same parser, loop and log is the server's own.
Nothing here measures; it reads a run record.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lab.analysis import claims
from lab.analysis.claims import Repeat
from lab.record.models import CellRecord, CellSummary, RunRecord
from lab.scenario.models import ServerSettings

CONFIDENCE = 0.95
# Fields that never make two settings different servers: where they run, and how they are named.
# Flags do (gunicorn's --max-requests): two variants of one app with other flags are not paired.
IGNORED = {"host", "health", "startup_timeout_s", "stop_grace_s", "startup_budget_s"}


@dataclass(frozen=True)
class Factor:
    """`other` against `base` in `field`; `base_also`: what else the base side must have (granian
    parses with hyper, so it is compared with uvicorn at httptools, the fastest of uvicorn's)."""

    name: str
    field: str
    base: Any
    other: Any
    base_also: tuple[tuple[str, Any], ...] = ()


FACTORS = [
    Factor("HTTP parser: httptools / h11", "http", "h11", "httptools"),
    Factor("event loop: uvloop / asyncio", "loop", "asyncio", "uvloop"),
    Factor("access log: off / on", "access_log", True, False),
    Factor("server: gunicorn / uvicorn (same worker)", "kind", "uvicorn", "gunicorn"),
    Factor("server: hypercorn / uvicorn (both h11)", "kind", "uvicorn", "hypercorn", (("http", "h11"),)),
    Factor("server: granian / uvicorn (httptools)", "kind", "uvicorn", "granian", (("http", "httptools"),)),
]
# The factors that add up along uvicorn's own settings (the decomposition's parts).
PARTS = FACTORS[:3]
_PART_NAMES = {f.name for f in PARTS}
_ORDER = {f.name: i for i, f in enumerate(FACTORS)}


@dataclass(frozen=True)
class Effect:
    factor: str
    route: str
    metric: str
    ratio: float  # median over repeats of each repeat's (geometric mean) ratio
    low: float | None  # the interval at `confidence`; None with fewer than two repeats
    high: float | None  # math.inf: no upper bound (a capacity past the sweep's top)
    confidence: float
    pairs: int  # pairs of settings that differ in this factor alone
    repeats: int
    method: str


def _key(server: ServerSettings, route_field: str) -> tuple[tuple[str, Any], ...]:
    data = server.model_dump(exclude=IGNORED)
    env = {k: v for k, v in data.pop("env").items() if k != route_field}
    data["flags"] = tuple(data["flags"])  # a list: the key must hash
    return tuple(sorted({**data, "env": tuple(sorted(env.items()))}.items()))


def _route(cell: CellRecord, route_field: str) -> str:
    return cell.server.env.get(route_field, "all")


def _point(cell: CellRecord, at_rps: float | None) -> CellSummary | None:
    return cell.at(at_rps) if at_rps is not None else cell.summary


def _range(cell: CellRecord, metric: str, at_rps: float | None) -> tuple[float, float, float] | None:
    """(value, low, high) of one repeat: a capacity within its sweep's bracket, else a point."""
    point = _point(cell, at_rps)
    value = None if point is None else point.value(metric)
    if value is None:
        return None
    return (value, *claims.capacity_range(cell)) if metric == "capacity" else (value, value, value)


def _geomean(values: Sequence[float]) -> float:
    if any(v == 0 for v in values):
        return 0.0
    if any(math.isinf(v) for v in values):
        return math.inf
    return math.exp(sum(math.log(v) for v in values) / len(values))


def effects(
    rec: RunRecord,
    metric: str = "capacity",
    at_rps: float | None = None,
    route_field: str = "ROUTE",
    confidence: float = CONFIDENCE,
) -> list[Effect]:
    """Every factor the run's settings can show, per route (the `route_field` environment setting)."""
    cells = [c for c in rec.ok_cells() if c.summary is not None]
    index: dict[tuple[int, str, str, tuple[tuple[str, Any], ...]], CellRecord] = {}
    for cell in cells:
        # Paired by the app they serve, not the variant's name: a scenario may give each setting its
        # own variant (so that null mode can put one setting in every other's place).
        index[(cell.repeat, cell.app, _route(cell, route_field), _key(cell.server, route_field))] = cell
    out = []
    routes = sorted({_route(c, route_field) for c in cells})
    for route in routes:
        for factor in FACTORS:
            per_repeat: dict[int, list[tuple[float, float, float]]] = {}
            pairs: set[tuple[Any, ...]] = set()
            for (repeat, app, where, key), cell in index.items():
                if where != route or getattr(cell.server, factor.field) != factor.other:
                    continue
                base_server = cell.server.model_copy(update={factor.field: factor.base, **dict(factor.base_also)})
                base = index.get((repeat, app, route, _key(base_server, route_field)))
                if base is None:
                    continue
                mine, theirs = _range(cell, metric, at_rps), _range(base, metric, at_rps)
                # A ratio needs two positive values (a cost of zero or less is no measurement of one).
                if mine is None or theirs is None or mine[0] <= 0 or theirs[0] <= 0:
                    continue
                lo, hi = claims.ratio_range(mine[1], mine[2], theirs[1], theirs[2])
                per_repeat.setdefault(repeat, []).append((mine[0] / theirs[0], lo, hi))
                pairs.add((app, key))
            if not per_repeat:
                continue
            repeats = [
                Repeat(_geomean([r[0] for r in rs]), _geomean([r[1] for r in rs]), _geomean([r[2] for r in rs]))
                for rs in per_repeat.values()
            ]
            ratio = statistics.median(r.whole for r in repeats)
            low: float | None = None
            high: float | None = None
            method = f"{len(repeats)} repeat: an interval needs two"
            stated = confidence
            if len(repeats) >= 2:
                found = claims.interval(repeats, confidence)
                low, high, stated, method = found.low, found.high, found.confidence, found.method
            out.append(Effect(factor.name, route, metric, ratio, low, high, stated, len(pairs), len(repeats), method))
    return out


def shares(found: Sequence[Effect], route: str) -> dict[str, float]:
    """Of the parser's, loop's and access log's effects on `route`, each one's share of their sum
    on the log scale (|log ratio| over the sum of them): how much of the spread each explains."""
    parts = {e.factor: abs(math.log(e.ratio)) for e in found if e.route == route and e.factor in _PART_NAMES}
    total = sum(parts.values())
    return {name: (size / total if total else 0.0) for name, size in parts.items()}


def first_rate(rec: RunRecord) -> float | None:
    """The offered rate every sweep of the run started at (none saturates there): where CPU per
    request is compared; None when the cells do not share one."""
    firsts = {c.points[0].target_rps for c in rec.ok_cells() if c.points}
    return firsts.pop() if len(firsts) == 1 else None


@dataclass(frozen=True)
class Row:
    factor: str
    route: str
    capacity: Effect | None
    cpu: Effect | None  # server CPU per request at `first_rate`
    share: float | None  # of uvicorn's spread in capacity on this route (parser, loop, access log)


def table(rec: RunRecord, route_field: str = "ROUTE") -> list[Row]:
    """Per route and factor: the capacity ratio and the CPU-per-request ratio, with intervals."""
    capacity = effects(rec, "capacity", route_field=route_field)
    rate = first_rate(rec)
    cpu = effects(rec, "server_cpu_ms_per_request", rate, route_field) if rate is not None else []
    keys = sorted({(e.route, e.factor) for e in [*capacity, *cpu]}, key=lambda k: (k[0], _ORDER[k[1]]))
    rows = []
    for route, factor in keys:
        cap = next((e for e in capacity if (e.route, e.factor) == (route, factor)), None)
        per = next((e for e in cpu if (e.route, e.factor) == (route, factor)), None)
        share = shares(capacity, route).get(factor)
        rows.append(Row(factor, route, cap, per, share))
    return rows
