"""Tidy tables for the charts, read only from a run folder (so old runs can be re-reported)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lab import metrics
from lab.analysis.traffic import measured, prepare
from lab.record.models import CellRecord, CellSummary, RunRecord, Traffic, VariantSummary
from lab.record.raw import read_requests
from lab.record.store import read_samples
from lab.record.window import Window, read_window

PERCENTILE_ORDER = [*metrics.PERCENTILES, "max"]


def percentiles(rec: RunRecord, rate: float | None = None, tag: str | None = None) -> pd.DataFrame:
    """variant, request, percentile, ms: from the per-variant medians over repeats; at one step of
    an open-model sweep (an offered rate, or a tagged step such as `0.8 x capacity of bad`) when
    given, so a chart beside a claim at 40 req/s shows 40 req/s."""
    parts: list[tuple[str, CellSummary | VariantSummary]]
    if rate is None and tag is None:
        parts = list(rec.variants.items())
    else:
        parts = [(c.group, point) for c in rec.ok_cells() if (point := c.at(rate, tag)) is not None]
    rows = [
        {"variant": group, "request": request, "percentile": key, "ms": part.value(key)}
        for group, traffic in parts
        for request, part in {"all requests": traffic, **traffic.by_request}.items()
        for key in PERCENTILE_ORDER
    ]
    frame = pd.DataFrame(rows, columns=["variant", "request", "percentile", "ms"])
    # One row per variant already when read from its summary; the median over repeats at a step.
    return frame.groupby(["variant", "request", "percentile"], sort=False)["ms"].median().reset_index()


def per_cell(rec: RunRecord) -> pd.DataFrame:
    """One row per measured cell and request name ("all requests" included), for throughput with its
    spread over repeats."""
    rows = []
    for c in rec.ok_cells():
        assert c.summary is not None
        parts: dict[str, Traffic] = {"all requests": c.summary, **c.summary.by_request}
        for request, part in parts.items():
            rows.append({"variant": c.group, "repeat": c.repeat, "request": request, "rps": part.rps})
    return pd.DataFrame(rows, columns=["variant", "repeat", "request", "rps"])


def load_runs(directory: Path, cell_id: str) -> list[tuple[Path, Window]]:
    """The Locust runs of a cell with their windows, in the order run: the cell's folder itself, or
    (an open-model sweep) one folder per offered rate."""
    folder = directory / "cells" / cell_id
    if (folder / "window.json").is_file():
        return [(folder, read_window(folder / "window.json"))]
    runs = [(f, read_window(f / "window.json")) for f in folder.glob("rate-*") if (f / "window.json").is_file()]
    return sorted(runs, key=lambda run: run[1].t0)


def timeline(rec: RunRecord, directory: Path) -> pd.DataFrame:
    """Per cell and second since load start: completed requests, failures, p50 and p99 (a sweep's
    steps one after another, on the clock of its first)."""
    frames = []
    for cell in rec.ok_cells():
        parts = []
        runs = load_runs(directory, cell.id)
        for folder, window in runs:
            requests = prepare(read_requests(folder / "requests.csv"), window)
            # a last, partial second would look like a drop
            requests = requests[requests["t"] < int(window.end_s or 0)].copy()
            requests["t"] += window.t0 - runs[0][1].t0
            parts.append(requests)
        requests = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        if requests.empty:
            continue
        requests["second"] = requests["t"].astype(int)
        per_s = (
            requests.groupby("second")
            .agg(
                rps=("ok", "size"),
                failures=("ok", lambda s: int((s == 0).sum())),
                p50=("latency_ms", lambda s: s.quantile(0.5)),
                p99=("latency_ms", lambda s: s.quantile(0.99)),
            )
            .reset_index()
        )
        per_s["variant"], per_s["repeat"] = cell.group, cell.repeat
        frames.append(per_s)
    if not frames:
        return pd.DataFrame(columns=["second", "rps", "failures", "p50", "p99", "variant", "repeat"])
    return pd.concat(frames, ignore_index=True)


def samples(rec: RunRecord, directory: Path) -> pd.DataFrame:
    """Server/generator samples with time in seconds since each cell's load start."""
    raw = read_samples(directory)
    frames: list[pd.DataFrame] = []
    for cell in rec.ok_cells():
        runs = load_runs(directory, cell.id)
        if not runs:
            continue
        window = runs[0][1]
        part = raw[raw["cell"] == cell.id].copy()
        part["t"] = part["ts"] - window.t0
        part["variant"], part["repeat"] = cell.group, cell.repeat
        frames.append(part)
    if not frames:
        return pd.DataFrame(columns=["t", "metric", "value", "variant", "repeat"])
    return pd.concat(frames, ignore_index=True)


def matrix_points(rec: RunRecord) -> pd.DataFrame:
    """variant, setting, rps, p99 ms: one row per variant and matrix point."""
    rows = [
        {"variant": v.variant, "setting": v.setting or "(none)", "rps": v.rps, "p99 ms": v.value("p99")}
        for v in rec.variants.values()
    ]
    return pd.DataFrame(rows, columns=["variant", "setting", "rps", "p99 ms"])


# Percentiles of the spectrum chart: each one shown only where at least 10 samples lie above it.
SPECTRUM = (0.5, 0.75, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 0.9995, 0.9999)


def summary_folder(directory: Path, cell: CellRecord) -> Path | None:
    """The Locust run behind a cell's summary: its folder, or (a sweep) the step the summary is."""
    runs = load_runs(directory, cell.id)
    if len(runs) == 1:
        return runs[0][0]
    target = cell.summary.target_rps if cell.summary is not None else None
    for folder, window in runs:
        if window.rate == target and not folder.name.endswith("-at-fraction"):
            return folder
    return None


def spectrum(rec: RunRecord, directory: Path) -> pd.DataFrame:
    """variant, percentile, ms: successful requests of every repeat pooled, per variant."""
    pooled: dict[str, list[pd.Series]] = {}
    for cell in rec.ok_cells():
        folder = summary_folder(directory, cell)
        if folder is None:
            continue
        window = read_window(folder / "window.json")
        inside, _, _ = measured(prepare(read_requests(folder / "requests.csv"), window), window)
        pooled.setdefault(cell.group, []).append(inside.loc[inside["ok"] == 1, "latency_ms"])
    rows = []
    for group, parts in pooled.items():
        values = pd.concat(parts, ignore_index=True)
        for p in SPECTRUM:
            if len(values) * (1 - p) >= 10:
                rows.append({"variant": group, "percentile": p, "ms": float(values.quantile(p))})
    return pd.DataFrame(rows, columns=["variant", "percentile", "ms"])
