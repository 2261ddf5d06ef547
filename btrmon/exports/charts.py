"""Report charts: the dashboard's Plotly figures rendered to PNG by one kaleido renderer.

The figures are those of ``btrmon.dashboard.figures`` (pure ``figure_x(df) -> go.Figure``),
so the PDF shows the same charts as the dashboard. One kaleido server (a headless
chromium) is started on first use and reused for every chart of every report; a
lock keeps its single request queue to one caller at a time.
"""

from __future__ import annotations

import threading

import pandas as pd
import plotly.graph_objects as go

from btrmon.dashboard import figures

_RENDER_LOCK = threading.Lock()
_started = False
CHART_WIDTH, CHART_HEIGHT = 900, 340


def start_renderer() -> None:
    """Start the shared kaleido renderer (once per process)."""
    global _started
    if _started:
        return
    import kaleido

    kaleido.start_sync_server(n=1, timeout=90, silence_warnings=True)
    _started = True


def render_png(fig: go.Figure, width: int = CHART_WIDTH, height: int = CHART_HEIGHT, scale: float = 2) -> bytes:
    """``fig`` as PNG bytes through the shared renderer."""
    import kaleido

    with _RENDER_LOCK:
        start_renderer()
        return kaleido.calc_fig_sync(fig, opts={"format": "png", "width": width, "height": height, "scale": scale})


def _for_print(fig: go.Figure, color: str) -> go.Figure:
    """The dashboard figure sized for A4 with the brand colour first."""
    fig.update_layout(width=CHART_WIDTH, height=CHART_HEIGHT, colorway=[color, "#fd7e14", "#198754", "#6f42c1"],
                      font={"family": "DejaVu Sans, Arial", "size": 12}, margin={"l": 60, "r": 20, "t": 50, "b": 50})
    return fig


def report_figures(tables: dict[str, pd.DataFrame]) -> list[go.Figure]:
    """The figures of the report, in order, for the tables that have data."""
    out = []

    def has(name: str) -> bool:
        df = tables.get(name)
        return df is not None and not df.empty

    if has("response_series"):
        out += [figures.figure_response_time(tables["response_series"]), figures.figure_requests(tables["response_series"])]
    if has("error_trends"):
        out.append(figures.figure_error_trends(tables["error_trends"]))
    if has("funnel_steps"):
        steps = tables["funnel_steps"]
        for name, part in steps.groupby("funnel", sort=False):
            out.append(figures.figure_funnel(part.reset_index(drop=True), str(name)))
    if has("components"):
        out.append(figures.figure_component_durations(tables["components"]))
    if has("health_series"):
        out.append(figures.figure_health_response(tables["health_series"]))
    return out


def report_charts(tables: dict[str, pd.DataFrame], color: str) -> list[tuple[str, bytes]]:
    """``(title, png)`` of each report chart that has data."""
    charts = []
    for fig in report_figures(tables):
        title = fig.layout.title.text or ""
        charts.append((title, render_png(_for_print(fig, color))))
    return charts
