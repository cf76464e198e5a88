"""Every complete run's claims and capacities, one row each, in a Parquet table; and the trends page.

`results/history.parquet` (read it with `pandas.read_parquet`) grows by one row per claim and per
capacity of every complete run; `reports/trends.html` plots each claim's value over time with its
interval and threshold, regressions (from CI gates) marked.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from lab.analysis.capacity import capacities
from lab.paths import RESULTS
from lab.record.models import RunRecord
from lab.report.html import esc, figure, page, write

HISTORY = RESULTS / "history.parquet"
COLUMNS = [
    "finished_at", "run_id", "git_sha", "scenario", "profile", "null_mode", "kind", "name", "setting",
    "value", "low", "high", "op", "threshold", "verdict", "regression", "fastapi", "uvicorn", "python",
    "cpu_model",
]  # fmt: skip


def rows(rec: RunRecord, regressions: Iterable[str] = ()) -> pd.DataFrame:
    flagged = set(regressions)
    env = rec.environment
    common = {
        "finished_at": pd.Timestamp(rec.finished_at or rec.started_at),
        "run_id": rec.run_id,
        "git_sha": env.git_sha,
        "scenario": rec.scenario,
        "profile": rec.profile,
        "null_mode": rec.null_mode,
        "fastapi": env.version("fastapi"),
        "uvicorn": env.version("uvicorn"),
        "python": env.python,
        "cpu_model": env.cpu_model,
    }
    out = []
    for c in rec.claims:
        name = c.text
        out.append(
            common
            | {
                "kind": "claim", "name": name, "setting": c.setting, "value": c.value, "low": c.low, "high": c.high,
                "op": c.op, "threshold": c.threshold, "verdict": c.verdict, "regression": name in flagged,
            }
        )  # fmt: skip
    for cap in capacities(rec):
        name = f"capacity of {cap.group}"
        out.append(
            common
            | {
                "kind": "capacity", "name": name, "setting": cap.setting, "value": cap.median,
                "low": min(cap.capacities), "high": max(cap.capacities), "op": None, "threshold": None,
                "verdict": None, "regression": name in flagged,
            }
        )  # fmt: skip
    return pd.DataFrame(out, columns=COLUMNS)


def append(rec: RunRecord, path: Path = HISTORY, regressions: Iterable[str] = ()) -> Path:
    new = rows(rec, regressions)
    if new.empty:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.concat([read(path), new], ignore_index=True) if path.is_file() else new
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return path


def keep(rec: RunRecord, root: Path) -> None:
    """A complete run's claims and capacities as trend rows (null-mode runs are audits, not trends)."""
    if rec.status != "complete" or rec.null_mode:
        return
    try:
        append(rec, root / "history.parquet")
    except (OSError, ValueError) as exc:  # the run itself is recorded; its trend row is not worth a crash
        print(f"warning: history not updated: {exc}", file=sys.stderr)


def read(path: Path = HISTORY) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=COLUMNS)
    return pd.read_parquet(path)


def trends_page(history: pd.DataFrame, reports: Path) -> Path:
    """One chart per claim (and capacity): value over time with its interval, the threshold, and
    regressions marked. Null-mode runs are left out: they are audits, not the trend."""
    frame = history[~history["null_mode"].astype(bool)].sort_values("finished_at")
    sections = []
    for (scenario, _kind, name, setting), part in frame.groupby(["scenario", "kind", "name", "setting"], sort=True):
        fig = go.Figure()
        fig.add_scatter(
            x=part["finished_at"], y=part["value"], mode="lines+markers", name="value",
            error_y={"type": "data", "symmetric": False, "array": part["high"] - part["value"],
                     "arrayminus": part["value"] - part["low"]},
            text=part["run_id"] + " " + part["git_sha"].fillna("").str[:8], hovertemplate="%{y:.3g} %{text}",
        )  # fmt: skip
        bad = part[part["regression"].astype(bool)]
        if not bad.empty:
            fig.add_scatter(
                x=bad["finished_at"], y=bad["value"], mode="markers", name="regression",
                marker={"color": "#d62728", "size": 14, "symbol": "x"},
            )  # fmt: skip
        threshold = part["threshold"].dropna()
        if not threshold.empty:
            fig.add_hline(y=float(threshold.iloc[-1]), line_dash="dash", annotation_text="threshold")
        title = f"{scenario}: {name}" + (f" [{setting}]" if setting else "")
        fig.update_layout(title=title, template="plotly_white", height=320, margin={"t": 50, "l": 60, "r": 20, "b": 40})
        slug = "".join(ch if ch.isalnum() else "-" for ch in f"trend-{scenario}-{name}-{setting}")[:120]
        sections.append(figure(fig, slug))
    body = (
        "<p class='muted'><a href='index.html'>all scenarios</a></p><h1>Trends</h1>"
        f"<p class='muted'>{esc(len(frame))} rows from {esc(frame['run_id'].nunique())} runs "
        "(results/history.parquet); each point a run, with its 95 % interval; red crosses: regressions "
        "found by the CI gate.</p>" + ("".join(sections) or "<p>No complete runs yet.</p>")
    )
    return write(reports / "trends.html", page("Trends - FastAPI perf lab", body))
