"""The figures of a scenario report. Each takes tidy frames and returns one plotly figure."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from lab.scenario.models import is_bad

BAD_COLOR = "#d62728"
FIX_COLORS = ["#2ca02c", "#1f77b4", "#9467bd", "#17becf", "#8c564b", "#bcbd22"]


def colors(variants: list[str]) -> dict[str, str]:
    """Bad variants red, fixes in calm colours, the same in every chart of a report."""
    # A variant keeps its colour at every matrix point: `fix[workers=2]` is coloured as `fix`.
    fixes = iter(FIX_COLORS * 4)
    by_variant: dict[str, str] = {}
    for name in dict.fromkeys(v.split("[", 1)[0] for v in variants):
        by_variant[name] = BAD_COLOR if is_bad(name) else next(fixes)
    return {v: by_variant[v.split("[", 1)[0]] for v in variants}


# Log axes ticked at 1-2-5 in full numbers: plotly's own minor labels ("2 5" between decades) read as
# the values themselves, so 20-50 looked like 2-5.
LOG_TICKS = [m * 10.0**e for e in range(-2, 7) for m in (1, 2, 5)]


def _log_ticks(fig: go.Figure, axis: str = "y") -> None:
    labels = [f"{v:g}" if v < 1e4 else f"{v:,.0f}" for v in LOG_TICKS]
    (fig.update_yaxes if axis == "y" else fig.update_xaxes)(tickvals=LOG_TICKS, ticktext=labels)


def _style(
    fig: go.Figure,
    title: str,
    *,
    shade: Shade | None = None,
    facets: bool = False,
    height: int = 420,
    legend: str = "variant",
) -> go.Figure:
    """Every chart's finish: the title, the look, the legend's title, restarts and faults shaded
    (`shade`), facet labels without plotly's `name=` prefix (`facets`)."""
    if shade is not None:
        _shade(fig, shade)
    if facets:
        fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    fig.update_layout(
        title=title,
        template="plotly_white",
        legend_title_text=legend,
        margin={"t": 70, "l": 60, "r": 20, "b": 50},
        height=height,
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
    _log_ticks(fig)
    return _style(fig, "Latency percentiles over the measured window (median of repeats)", facets=True)


def throughput(frame: pd.DataFrame, palette: dict[str, str], references: list[dict[str, Any]]) -> go.Figure:
    stats = frame.groupby(["request", "variant"], sort=False)["rps"].agg(["median", "min", "max"]).reset_index()
    stats["above"], stats["below"] = stats["max"] - stats["median"], stats["median"] - stats["min"]
    fig = px.bar(
        stats,
        x="variant",
        y="median",
        color="variant",
        facet_col="request",
        error_y="above",
        error_y_minus="below",
        text_auto=".0f",
        color_discrete_map=palette,
        labels={"median": "completed requests/s", "variant": ""},
    )
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=", 1)[-1]))
    requests = list(dict.fromkeys(stats["request"]))
    for ref in references:
        name = "all requests" if ref["request"] == "all" else ref["request"]
        if name in requests:
            fig.add_hline(
                y=ref["rps"],
                line_dash="dash",
                line_color="black",
                row=1,
                col=requests.index(name) + 1,
                annotation_text=ref["label"],
                annotation_position="top left",
            )
    fig.update_layout(showlegend=False)
    return _style(fig, "Throughput per request name (median of repeats; bars span min-max)")


@dataclass(frozen=True)
class Shade:
    """Time spans every time-series chart marks: the warm-up, the upstream's fault windows, and the
    server's restarts (from its stop to its first healthy answer, the longest of the cells)."""

    warmup_s: float
    faults: list[dict[str, Any]]


def fault_label(fault: dict[str, Any]) -> str:
    if fault.get("label"):  # not the upstream's: a restart of the server, say
        return str(fault["label"])
    if fault.get("hang"):
        return "upstream hangs"
    if fault.get("refuse"):
        return "upstream refuses"
    if fault.get("error_rate"):
        return f"upstream errors {fault['error_rate']:.0%}"
    return f"upstream slow ({fault.get('latency_ms', 0):g} ms)"


def _shade(fig: go.Figure, shade: Shade) -> go.Figure:
    if shade.warmup_s > 0:
        fig.add_vrect(
            x0=0,
            x1=shade.warmup_s,
            fillcolor="grey",
            opacity=0.12,
            line_width=0,
            row="all",
            col="all",
            annotation_text="warm-up",
            annotation_position="top left",
        )
    for fault in shade.faults:
        fig.add_vrect(
            x0=fault["from_s"],
            x1=fault["until_s"],
            fillcolor="red",
            opacity=0.08,
            line_width=0,
            row="all",
            col="all",
            annotation_text=fault_label(fault),
            annotation_position="top left",
        )
    return fig


def over_time(
    frame: pd.DataFrame, column: str, label: str, palette: dict[str, str], shade: Shade, log: bool = False
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
    if log:
        _log_ticks(fig)
    return _style(fig, f"{label} per second", shade=shade)


def _series_rows(part: pd.DataFrame, palette: dict[str, str], shade: Shade, title: str) -> go.Figure:
    """One row per sampled series (`metric`, already renamed for people), a line per variant and repeat."""
    dash = "repeat" if part["repeat"].nunique() > 1 else None
    labels = {"t": "seconds since load start", "value": ""}
    fig = px.line(
        part,
        x="t",
        y="value",
        color="variant",
        line_dash=dash,
        facet_row="metric",
        color_discrete_map=palette,
        labels=labels,
    )
    fig.update_yaxes(matches=None, rangemode="tozero")
    return _style(fig, title, shade=shade, facets=True, height=200 * max(1, part["metric"].nunique()) + 100)


RESOURCES = {
    "server_cpu_pct": "server CPU %",
    "server_rss_mb": "server RSS (MB)",
    "generator_cpu_pct": "Locust CPU %",
    "generator_cores_busy_pct": "Locust's core busy %",
    "database_cpu_pct": "PostgreSQL CPU %",
}


def resources(frame: pd.DataFrame, palette: dict[str, str], shade: Shade) -> go.Figure:
    part = frame[frame["metric"].isin(list(RESOURCES))].copy()
    part["metric"] = part["metric"].map(RESOURCES)
    return _series_rows(part, palette, shade, "Server and load-generator resources (sampled every second)")


def recycled(frame: pd.DataFrame) -> pd.DataFrame:
    """When a server process started during the load (a worker recycled or restarted): rows of
    `variant`, `repeat`, `t` where the server tree's count of processes seen went up."""
    seen = frame[frame["metric"] == "server_processes_seen"].sort_values("t")
    rows = []
    for (variant, repeat), part in seen.groupby(["variant", "repeat"], sort=False):
        steps = part["value"].diff().fillna(0)
        rows += [{"variant": variant, "repeat": repeat, "t": t} for t in part.loc[steps > 0, "t"]]
    return pd.DataFrame(rows, columns=["variant", "repeat", "t"])


def recycles(frame: pd.DataFrame, palette: dict[str, str], shade: Shade) -> go.Figure:
    """The server's resident memory over time, per variant (first repeat), with a mark wherever a
    new server process appeared: a leak grows without bound until a worker is recycled."""
    first = frame["repeat"] == frame["repeat"].min()
    rss = frame[(frame["metric"] == "server_rss_mb") & first].sort_values("t")
    fig = px.line(
        rss,
        x="t",
        y="value",
        color="variant",
        color_discrete_map=palette,
        labels={"t": "seconds since load start", "value": "server RSS (MB)"},
    )
    marks = recycled(frame[first])
    for variant, part in marks.groupby("variant", sort=False):
        line = rss[rss["variant"] == variant]
        if line.empty:
            continue
        # Each mark at the memory read nearest in time: where the line drops after a recycle.
        at = [float(line.iloc[(line["t"] - t).abs().argmin()]["value"]) for t in part["t"]]
        fig.add_trace(
            go.Scatter(
                x=part["t"],
                y=at,
                mode="markers",
                marker={"symbol": "x", "size": 9, "color": palette.get(str(variant), "black")},
                name=f"{variant}: worker started",
            )
        )
    return _style(fig, "Server memory over time, worker (re)starts marked", shade=shade)


DB_STATES = {"db_active": "active", "db_idle": "idle", "db_idle_in_transaction": "idle in transaction"}
DB_STATE_COLORS = {"active": "#1f77b4", "idle": "#aec7e8", "idle in transaction": "#d62728"}


def db_connections(frame: pd.DataFrame, max_connections: int | None, shade: Shade) -> go.Figure:
    """Connections the database sees, by state, per variant (first repeat), under its ceiling."""
    part = frame[frame["metric"].isin(list(DB_STATES)) & (frame["repeat"] == frame["repeat"].min())].copy()
    part["state"] = part["metric"].map(DB_STATES)
    fig = px.area(
        part,
        x="t",
        y="value",
        color="state",
        facet_col="variant",
        color_discrete_map=DB_STATE_COLORS,
        labels={"t": "seconds since load start", "value": "connections"},
    )
    if max_connections:
        fig.add_hline(
            y=max_connections,
            line_dash="dot",
            line_color="black",
            row="all",
            col="all",
            annotation_text="max_connections",
            annotation_position="top left",
        )
    title = "PostgreSQL connections by state (pg_stat_activity, every 0.5 s)"
    return _style(fig, title, shade=shade, facets=True, legend="state")


UPSTREAM_SERIES = {
    "upstream_connections_open": "connections open",
    "upstream_inflight": "requests in flight",
    "upstream_time_wait": "sockets in TIME_WAIT",
}


def upstream(frame: pd.DataFrame, palette: dict[str, str], shade: Shade) -> go.Figure:
    """What the upstream saw, per variant (first repeat): connections, in-flight requests, TIME_WAIT."""
    part = frame[frame["metric"].isin(list(UPSTREAM_SERIES)) & (frame["repeat"] == frame["repeat"].min())].copy()
    part["metric"] = part["metric"].map(UPSTREAM_SERIES)
    return _series_rows(part, palette, shade, "The upstream service's view (sampled every 0.5 s)")


def matrix(frame: pd.DataFrame, palette: dict[str, str]) -> go.Figure:
    """Every variant at every matrix point (workers, pool sizes, payload sizes, dependency sets):
    grouped bars of throughput and p99, to read a knee or a version's effect at a glance."""
    long = frame.melt(id_vars=["variant", "setting"], value_vars=["rps", "p99 ms"], var_name="measure")
    fig = px.bar(
        long,
        x="setting",
        y="value",
        color="variant",
        barmode="group",
        facet_row="measure",
        color_discrete_map=palette,
        labels={"setting": "matrix point", "value": ""},
    )
    fig.update_yaxes(matches=None)
    return _style(fig, "Variants across the matrix (median of repeats)", facets=True, height=640)


def hockey_stick(
    curve: pd.DataFrame, steps: pd.DataFrame, palette: dict[str, str], slo_ms: float | None, model: str = "queue model"
) -> go.Figure:
    """Latency against offered rate, per variant: p99 solid, p50 dotted, the queue model dashed, the
    SLO as a line. Medians over repeats; each repeat's p99 as a faint dot."""
    fig = go.Figure()
    for group, part in curve.groupby("group", sort=False):
        color = palette.get(str(group), "#444")
        fig.add_scatter(
            x=part["rate"],
            y=part["p99"],
            name=f"{group} p99",
            mode="lines+markers",
            line={"color": color, "width": 3},
            legendgroup=str(group),
        )
        fig.add_scatter(
            x=part["rate"],
            y=part["p50"],
            name=f"{group} p50",
            mode="lines+markers",
            line={"color": color, "dash": "dot"},
            legendgroup=str(group),
        )
        if part["predicted_p99"].notna().any():
            fig.add_scatter(
                x=part["rate"],
                y=part["predicted_p99"],
                name=f"{group} p99, {model}",
                mode="lines",
                line={"color": color, "dash": "dash", "width": 1.5},
                legendgroup=str(group),
            )
        dots = steps[steps["group"] == group]
        fig.add_scatter(
            x=dots["rate"],
            y=dots["p99"],
            mode="markers",
            showlegend=False,
            legendgroup=str(group),
            marker={"color": color, "opacity": 0.35, "size": 6},
            name=f"{group} p99 per repeat",
        )
    if slo_ms is not None:
        fig.add_hline(y=slo_ms, line_dash="dash", line_color="#555")
        # An annotation on a log axis is placed in log10 units (a shape is not): given 100, plotly
        # put the label at 1e100 and autoranged the axis up to it.
        fig.add_annotation(
            text=f"SLO p99 {slo_ms:g} ms", x=0, xref="x domain", xanchor="left",
            y=math.log10(slo_ms), yref="y", yanchor="bottom", showarrow=False,
        )  # fmt: skip
    # Tick at the rates that ran: plotly's own minor ticks on a short log range read "2 3 4 5" for
    # 20-50 req/s.
    rates = sorted({float(r) for r in steps["rate"].dropna()}) if not steps.empty else []
    fig.update_xaxes(
        type="log", title="offered rate (requests/s, log scale)", tickvals=rates, ticktext=[f"{r:g}" for r in rates]
    )
    fig.update_yaxes(type="log", title="latency from scheduled time (ms, log scale)")
    _log_ticks(fig)
    return _style(fig, "Latency against offered load (open model): where each variant breaks its SLO")


def achieved(curve: pd.DataFrame, palette: dict[str, str]) -> go.Figure:
    """Goodput against offered rate: on the diagonal while the server keeps up."""
    fig = go.Figure()
    top = float(curve["rate"].max()) if not curve.empty else 1.0
    fig.add_scatter(
        x=[0, top], y=[0, top], mode="lines", name="achieved = offered", line={"color": "#999", "dash": "dash"}
    )
    _line_per_group(fig, curve, "rate", "achieved", palette)
    fig.update_xaxes(title="offered rate (requests/s)")
    fig.update_yaxes(title="successful requests/s")
    return _style(fig, "Achieved against offered rate")


def _line_per_group(
    fig: go.Figure, curve: pd.DataFrame, x: str, y: str, palette: dict[str, str], hover: str | None = None
) -> None:
    """One line per group of a sweep's curve (the offered rate as each point's customdata)."""
    for group, part in curve.dropna(subset=[x, y]).groupby("group", sort=False):
        fig.add_scatter(
            x=part[x],
            y=part[y],
            name=str(group),
            mode="lines+markers",
            line={"color": palette.get(str(group), "#444")},
            customdata=part["rate"],
            hovertemplate=hover,
        )


def cost_per_request(curve: pd.DataFrame, palette: dict[str, str]) -> go.Figure:
    """Server CPU per request against requests in flight: flat when a request costs the same however
    many others wait beside it; rising when the server's own bookkeeping grows with them."""
    fig = go.Figure()
    hover = "%{x:.0f} in flight at %{customdata:g} req/s offered: %{y:.2f} ms CPU per request"
    _line_per_group(fig, curve, "in_flight", "cpu_ms_per_request", palette, hover)
    fig.update_xaxes(type="log", title="requests in flight (mean, sampled at the generator; log scale)")
    _log_ticks(fig, "x")
    fig.update_yaxes(rangemode="tozero", title="server CPU per completed request (ms)")
    return _style(fig, "What one request costs the server as more wait beside it")


def spectrum(frame: pd.DataFrame, palette: dict[str, str]) -> go.Figure:
    """Latency by percentile on a 1/(1-p) axis (HdrHistogram's view): the tail gets the room."""
    fig = go.Figure()
    for variant, part in frame.groupby("variant", sort=False):
        fig.add_scatter(
            x=1 / (1 - part["percentile"]), y=part["ms"], name=str(variant), mode="lines+markers",
            line={"color": palette.get(str(variant), "#444"), "width": 2.5},
            text=[f"p{100 * p:g}" for p in part["percentile"]], hovertemplate="%{text}: %{y:.3g} ms",
        )  # fmt: skip
    ticks = [0.5, 0.9, 0.99, 0.999, 0.9999]
    fig.update_xaxes(
        type="log", title="percentile", tickvals=[1 / (1 - p) for p in ticks], ticktext=[f"{100 * p:g}%" for p in ticks]
    )
    fig.update_yaxes(type="log", title="latency (ms, log scale)")
    _log_ticks(fig)
    return _style(fig, "Latency spectrum: every percentile the samples support (repeats pooled)")


MECHANISM = {
    "app_loop_lag_ms": "event-loop lag, worst per 0.5 s (ms)",
    "app_threadpool_in_use": "threadpool tokens in use",
}


def mechanism(frame: pd.DataFrame, palette: dict[str, str], shade: Shade) -> go.Figure:
    """The mechanism, measured inside the app: how late the event loop ran a 10 ms timer, and how
    many of AnyIO's threadpool tokens were borrowed."""
    part = frame[frame["metric"].isin(list(MECHANISM))].copy()
    part["metric"] = part["metric"].map(MECHANISM)
    return _series_rows(part, palette, shade, "The mechanism inside the app (sampled every 0.5 s)")
