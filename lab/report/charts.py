"""The figures of a scenario report. Each takes tidy frames and returns one plotly figure."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

BAD_COLOR = "#d62728"
FIX_COLORS = ["#2ca02c", "#1f77b4", "#9467bd", "#17becf", "#8c564b", "#bcbd22"]


def colors(variants: list[str]) -> dict[str, str]:
    """Bad variants red, fixes in calm colours, the same in every chart of a report."""
    fixes = iter(FIX_COLORS * 4)
    return {v: BAD_COLOR if v.startswith("bad") else next(fixes) for v in variants}


def _style(fig: go.Figure, title: str) -> go.Figure:
    fig.update_layout(
        title=title,
        template="plotly_white",
        legend_title_text="variant",
        margin={"t": 70, "l": 60, "r": 20, "b": 50},
        height=420,
    )
    return fig


def latency_percentiles(frame: pd.DataFrame, palette: dict[str, str]) -> go.Figure:
    fig = px.bar(
        frame.dropna(subset=["ms"]),
        x="percentile",
        y="ms",
        color="variant",
        barmode="group",
        facet_col="request",
        log_y=True,
        color_discrete_map=palette,
        labels={"ms": "latency (ms, log scale)", "percentile": ""},
    )
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    return _style(fig, "Latency percentiles over the measured window (median of repeats)")


def throughput(frame: pd.DataFrame, palette: dict[str, str]) -> go.Figure:
    stats = frame.groupby("variant", sort=False)["rps"].agg(["median", "min", "max"]).reset_index()
    fig = go.Figure(
        go.Bar(
            x=stats["variant"],
            y=stats["median"],
            marker_color=[palette[v] for v in stats["variant"]],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": stats["max"] - stats["median"],
                "arrayminus": stats["median"] - stats["min"],
            },
            text=[f"{v:,.0f}" for v in stats["median"]],
            textposition="outside",
        )
    )
    fig.update_yaxes(title="completed requests/s")
    return _style(fig, "Throughput (median of repeats; bars span min-max)")


def _warmup(fig: go.Figure, warmup_s: float) -> go.Figure:
    if warmup_s > 0:
        fig.add_vrect(
            x0=0,
            x1=warmup_s,
            fillcolor="grey",
            opacity=0.12,
            line_width=0,
            row="all",
            col="all",
            annotation_text="warm-up",
            annotation_position="top left",
        )
    return fig


def over_time(
    frame: pd.DataFrame, column: str, label: str, palette: dict[str, str], warmup_s: float, log: bool = False
) -> go.Figure:
    fig = px.line(
        frame,
        x="second",
        y=column,
        color="variant",
        line_dash="repeat",
        log_y=log,
        color_discrete_map=palette,
        labels={"second": "seconds since load start", column: label},
    )
    return _style(_warmup(fig, warmup_s), f"{label} per second")


def resources(frame: pd.DataFrame, palette: dict[str, str], warmup_s: float) -> go.Figure:
    names = {"server_cpu_pct": "server CPU %", "server_rss_mb": "server RSS (MB)", "generator_cpu_pct": "Locust CPU %",
             "database_cpu_pct": "PostgreSQL CPU %"}  # fmt: skip
    part = frame[frame["metric"].isin(list(names))].copy()
    part["metric"] = part["metric"].map(names)
    fig = px.line(
        part,
        x="t",
        y="value",
        color="variant",
        line_dash="repeat",
        facet_row="metric",
        color_discrete_map=palette,
        labels={"t": "seconds since load start", "value": ""},
    )
    fig.update_yaxes(matches=None, rangemode="tozero")
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    fig = _style(_warmup(fig, warmup_s), "Server and load-generator resources (sampled every second)")
    fig.update_layout(height=220 * part["metric"].nunique() + 80)
    return fig


DB_STATES = {"db_active": "active", "db_idle": "idle", "db_idle_in_transaction": "idle in transaction"}
DB_STATE_COLORS = {"active": "#1f77b4", "idle": "#aec7e8", "idle in transaction": "#d62728"}


def db_connections(frame: pd.DataFrame, max_connections: int | None, warmup_s: float) -> go.Figure:
    """Connections the database sees, by state, per variant (first repeat), under its ceiling."""
    part = frame[frame["metric"].isin(list(DB_STATES)) & (frame["repeat"] == frame["repeat"].min())].copy()
    part["state"] = part["metric"].map(DB_STATES)
    fig = px.area(part, x="t", y="value", color="state", facet_col="variant", color_discrete_map=DB_STATE_COLORS,
                  labels={"t": "seconds since load start", "value": "connections"})  # fmt: skip
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    if max_connections:
        fig.add_hline(y=max_connections, line_dash="dot", line_color="black", row="all", col="all",
                      annotation_text="max_connections", annotation_position="top left")  # fmt: skip
    fig = _style(_warmup(fig, warmup_s), "PostgreSQL connections by state (pg_stat_activity, every 0.5 s)")
    fig.update_layout(legend_title_text="state")
    return fig
