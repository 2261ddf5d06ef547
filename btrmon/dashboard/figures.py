"""Plotly figures built from query results: pure functions ``figure_x(df) -> go.Figure``.

The dashboard shows them and the PDF export renders the same figures with kaleido.
An empty result gives a figure that says there is no data (never an error).
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

STATUS_COLORS = {"healthy": "#198754", "warning": "#fd7e14", "critical": "#dc3545", "unknown": "#6c757d"}
LEVEL_COLORS = {"critical": "#842029", "error": "#dc3545", "warning": "#fd7e14", "notice": "#6c757d"}
_LAYOUT = dict(template="plotly_white", margin=dict(l=50, r=20, t=40, b=40), height=320,
               legend=dict(orientation="h", y=-0.2))


def _figure(title: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=dict(text=title, font=dict(size=15)), **_LAYOUT)
    return fig


def empty_figure(title: str, hint: str = "No data in this timeframe.") -> go.Figure:
    """A figure with ``hint`` in the middle instead of data."""
    fig = _figure(title)
    fig.add_annotation(text=hint, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
                       font=dict(size=14, color="#6c757d"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def _average_and_p95(df: pd.DataFrame, title: str, empty_message: str) -> go.Figure:
    """Lines of ``avg_ms`` and ``p95_ms`` per ``bucket``."""
    if df.empty:
        return empty_figure(title, empty_message)
    fig = _figure(title)
    fig.add_trace(go.Scatter(x=df["bucket"], y=df["avg_ms"], mode="lines+markers", name="average"))
    fig.add_trace(go.Scatter(x=df["bucket"], y=df["p95_ms"], mode="lines", name="p95", line=dict(dash="dot")))
    return fig


def figure_response_time(df: pd.DataFrame) -> go.Figure:
    """Average and p95 response time per bucket (``response_time_series``)."""
    return _average_and_p95(df, "Response time (ms)", "No requests yet: send request_duration metrics.")


def figure_requests(df: pd.DataFrame) -> go.Figure:
    """Requests per bucket (``response_time_series``)."""
    title = "Requests"
    if df.empty:
        return empty_figure(title, "No requests yet: send request_duration metrics.")
    fig = _figure(title)
    fig.add_trace(go.Bar(x=df["bucket"], y=df["count"], name="requests"))
    return fig


def figure_ajax(df: pd.DataFrame) -> go.Figure:
    """Average and p95 AJAX duration per bucket (``ajax_series``)."""
    return _average_and_p95(df, "AJAX duration (ms)", "No AJAX calls yet: send ajax_duration metrics.")


def figure_memory(df: pd.DataFrame) -> go.Figure:
    """Peak memory and memory growth per bucket (``memory_series``)."""
    title = "Memory (MB)"
    if df.empty:
        return empty_figure(title, "No memory data yet: send peak_memory and memory_growth metrics.")
    fig = _figure(title)
    fig.add_trace(go.Scatter(x=df["bucket"], y=df["peak_memory_mb"], mode="lines", name="peak memory"))
    fig.add_trace(go.Scatter(x=df["bucket"], y=df["memory_growth_mb"], mode="lines", name="growth per request"))
    return fig


def figure_component_durations(df: pd.DataFrame) -> go.Figure:
    """Average and p95 duration per component operation (``component_durations``)."""
    title = "Component operations (ms)"
    if df.empty:
        return empty_figure(title, "No component timings yet: send e.g. calculator.operation_duration.")
    fig = _figure(title)
    fig.add_trace(go.Bar(x=df["component"], y=df["avg_ms"], name="average"))
    fig.add_trace(go.Bar(x=df["component"], y=df["p95_ms"], name="p95"))
    fig.update_layout(barmode="group")
    return fig


def figure_error_trends(df: pd.DataFrame) -> go.Figure:
    """Errors per bucket stacked by key (level or type) (``error_trends``)."""
    title = "Errors over time"
    if df.empty:
        return empty_figure(title, "No errors in this timeframe.")
    fig = _figure(title)
    for key, part in df.groupby("key", sort=True):
        fig.add_trace(go.Bar(x=part["bucket"], y=part["count"], name=str(key),
                             marker_color=LEVEL_COLORS.get(str(key))))
    fig.update_layout(barmode="stack")
    return fig


def figure_funnel(df: pd.DataFrame, name: str = "") -> go.Figure:
    """Sessions per funnel step (``funnel``)."""
    title = f"Funnel {name}".strip()
    if df.empty or not df["sessions"].any():
        return empty_figure(title, "No sessions in this funnel: send journey steps with conversion_funnel.")
    fig = _figure(title)
    fig.add_trace(go.Funnel(y=df["stage"], x=df["sessions"], textinfo="value+percent initial"))
    return fig


def figure_conversion_rates(df: pd.DataFrame) -> go.Figure:
    """Conversion rate per funnel (``conversion_rates``)."""
    title = "Conversion rate per funnel (%)"
    if df.empty or not df["sessions"].any():
        return empty_figure(title, "No journey sessions yet.")
    fig = _figure(title)
    fig.add_trace(go.Bar(x=df["funnel"], y=df["rate_pct"].fillna(0), name="conversion %"))
    return fig


def figure_drop_off(df: pd.DataFrame) -> go.Figure:
    """Sessions that stopped at each stage/step (``drop_off_points``)."""
    title = "Drop-off points (sessions)"
    if df.empty:
        return empty_figure(title, "No drop-offs in this timeframe.")
    fig = _figure(title)
    labels = df["stage"].astype(str) + " / " + df["step"].astype(str)
    fig.add_trace(go.Bar(x=df["sessions"], y=labels, orientation="h", name="sessions"))
    fig.update_yaxes(autorange="reversed")
    return fig


def figure_journey_durations(df: pd.DataFrame) -> go.Figure:
    """Sessions per duration bucket (``journey_durations``)."""
    title = "Session duration"
    if df.empty or not df["sessions"].any():
        return empty_figure(title, "No journey sessions yet.")
    fig = _figure(title)
    fig.add_trace(go.Bar(x=df["bucket"], y=df["sessions"], name="sessions"))
    return fig


def figure_stage_times(df: pd.DataFrame) -> go.Figure:
    """Average time per stage in seconds (``stage_times``)."""
    title = "Time per stage (s)"
    if df.empty or not df["steps"].any():
        return empty_figure(title, "No stage timings yet.")
    fig = _figure(title)
    fig.add_trace(go.Bar(x=df["stage"], y=df["avg_ms"] / 1000.0, name="average"))
    return fig


def figure_health_response(df: pd.DataFrame) -> go.Figure:
    """Health check response time per component (``health_series``)."""
    title = "Health check response time (ms)"
    if df.empty:
        return empty_figure(title, "No health checks yet: run them or send health events.")
    fig = _figure(title)
    for component, part in df.groupby("component", sort=True):
        fig.add_trace(go.Scatter(x=part["bucket"], y=part["avg_response_ms"], mode="lines+markers",
                                 name=str(component)))
    return fig
