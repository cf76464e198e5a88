"""Every complete run's claims and capacities, one row each, in a Parquet table; and the trends page.

`results/history.parquet` (read it with `pandas.read_parquet`) grows by one row per claim and per
capacity of every complete run; `reports/trends.html` gives each scenario a panel of small charts,
a claim's value per run (commit and date) with its interval and threshold, regressions (from CI
gates) marked.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

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


COLUMNS_PER_ROW = 3  # small multiples: a scenario's claims side by side


def run_label(part: pd.DataFrame) -> pd.Series:
    """A run as the x axis names it: its id (when it ran, unique) and its commit; a category, never a
    time axis, which ticks a lone run at sub-millisecond steps."""
    sha = part["git_sha"].fillna("").str[:7]
    run = part["run_id"].astype(str)  # 20261207T051653166Z: shown as 1207-051653, month-day and time
    return (run.str[4:8] + "-" + run.str[9:15] + " " + sha).str.strip()


def trends_page(history: pd.DataFrame, reports: Path) -> Path:
    """One panel per scenario, its claims and capacities as small multiples: each a value per run
    (runs on the x axis by id, which is when they ran, and commit) with its interval, the threshold, and regressions
    marked. Null-mode runs are left out: they are audits, not the trend."""
    from plotly.subplots import make_subplots

    frame = history[~history["null_mode"].astype(bool)].sort_values("finished_at")
    frame = frame.assign(run=run_label(frame))
    sections = []
    for scenario, runs in frame.groupby("scenario", sort=True):
        series = list(runs.groupby(["kind", "name", "setting"], sort=False))
        rows = -(-len(series) // COLUMNS_PER_ROW)
        titles = [f"{name}" + (f" [{setting}]" if setting else "") for (_, name, setting), _ in series]
        fig = make_subplots(
            rows=rows,
            cols=COLUMNS_PER_ROW,
            subplot_titles=[t if len(t) <= 60 else t[:57] + "..." for t in titles],
            vertical_spacing=min(0.5 / max(rows - 1, 1), 0.2),  # room for the angled run labels
        )
        order = list(dict.fromkeys(runs["run"]))
        for index, (_, part) in enumerate(series):
            row, col = index // COLUMNS_PER_ROW + 1, index % COLUMNS_PER_ROW + 1
            fig.add_scatter(
                x=part["run"], y=part["value"], mode="lines+markers", showlegend=False, row=row, col=col,
                marker={"color": "#1f77b4"},
                error_y={"type": "data", "symmetric": False, "array": part["high"] - part["value"],
                         "arrayminus": part["value"] - part["low"]},
                text=part["run_id"], hovertemplate="%{y:.3g} (%{text})<extra></extra>",
            )  # fmt: skip
            bad = part[part["regression"].astype(bool)]
            if not bad.empty:
                fig.add_scatter(
                    x=bad["run"], y=bad["value"], mode="markers", showlegend=False, row=row, col=col,
                    marker={"color": "#d62728", "size": 12, "symbol": "x"}, hovertemplate="regression<extra></extra>",
                )  # fmt: skip
            threshold = part["threshold"].dropna()
            if not threshold.empty:
                fig.add_hline(y=float(threshold.iloc[-1]), line_dash="dash", line_color="#888", row=row, col=col)
            fig.update_xaxes(
                type="category", categoryorder="array", categoryarray=order, tickangle=-30, row=row, col=col
            )
        fig.update_annotations(font_size=11)
        fig.update_layout(
            title=f"{scenario}: {runs['run_id'].nunique()} runs",
            template="plotly_white",
            height=140 + 300 * rows,
            margin={"t": 80, "l": 50, "r": 20, "b": 60},
        )
        slug = "".join(ch if ch.isalnum() else "-" for ch in f"trend-{scenario}")[:120]
        sections.append(figure(fig, slug))
    body = (
        "<p class='muted'><a href='index.html'>all scenarios</a></p><h1>Trends</h1>"
        f"<p class='muted'>{esc(len(frame))} rows from {esc(frame['run_id'].nunique())} runs "
        "(results/history.parquet). A panel per scenario, a small chart per claim and capacity; each "
        "point a run (its id and commit), with its interval; dashed: the claim's threshold; red "
        "crosses: regressions found by the CI gate.</p>" + ("".join(sections) or "<p>No complete runs yet.</p>")
    )
    return write(reports / "trends.html", page("Trends - FastAPI perf lab", body))
