"""Performance: response times (real time), memory, cache hit rate, AJAX, slow queries,
component operations and the slowest endpoints."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, html

from btrmon import queries as Q
from btrmon.dashboard.export_button import export_button, register_panel_export
from btrmon.dashboard import figures, ids
from btrmon.dashboard.components import (
    controls, empty, fmt, graph, guarded, monitor, panel, stat_card, table, timeframe_of,
)

dash.register_page(__name__, path="/performance", name="Performance", order=10)

_TRIGGERS = [Input(ids.REFRESH, "n_intervals"), Input(ids.REFRESH_BUTTON, "n_clicks"), Input(ids.TIMEFRAME, "data")]

register_panel_export("perf-response", lambda m, tf: Q.response_time_series(m, tf), "response-time")
register_panel_export("perf-memory", lambda m, tf: Q.memory_series(m, tf), "memory")
register_panel_export("perf-components", lambda m, tf: Q.component_durations(m, tf), "component-operations")
register_panel_export("perf-ajax", lambda m, tf: Q.ajax_series(m, tf), "ajax")
register_panel_export("perf-endpoints", lambda m, tf: Q.slowest_endpoints(m, tf, 1000), "slowest-endpoints")
register_panel_export("perf-slow-queries", lambda m, tf: Q.slow_queries(m, tf, 1000), "slow-queries")


def layout(**query):
    """The performance page."""
    tf = timeframe_of(query)
    return html.Div([
        html.H2("Performance", className="h4"),
        controls("/performance", tf),
        html.Div(id=ids.PERF_CARDS, className="mb-2"),
        dbc.Row([
            dbc.Col(panel("Response time", ids.PERF_RESPONSE, export_button("perf-response")), lg=8),
            dbc.Col(panel("Memory", ids.PERF_MEMORY, export_button("perf-memory")), lg=4),
        ]),
        dbc.Row([
            dbc.Col(panel("Component operations", ids.PERF_COMPONENTS, export_button("perf-components")), lg=6),
            dbc.Col(panel("AJAX", ids.PERF_AJAX, export_button("perf-ajax")), lg=6),
        ]),
        panel("Slowest endpoints", ids.PERF_ENDPOINTS, export_button("perf-endpoints")),
        panel("Slow queries", ids.PERF_SLOW_QUERIES, export_button("perf-slow-queries")),
    ])


@dash.callback(Output(ids.PERF_CARDS, "children"), *_TRIGGERS)
@guarded()
def render_cards(_n, _clicks, tf):
    """Headline performance numbers."""
    s = Q.cached(monitor(), Q.performance_summary, tf)
    cards = [
        stat_card("Requests", fmt(s["requests"]), card_id="perf-requests"),
        stat_card("Avg response", fmt(s["avg_ms"], "ms"), card_id="perf-avg"),
        stat_card("p95 response", fmt(s["p95_ms"], "ms"), card_id="perf-p95"),
        stat_card("Peak memory", fmt(s["peak_memory_mb"], "MB")),
        stat_card("Memory growth", fmt(s["memory_growth_mb"], "MB"), "mean per request"),
        stat_card("Cache hit rate", fmt(s["cache_hit_rate"], "%"),
                  "from cache_hit / cache_miss metrics" if s["cache_hit_rate"] is None else
                  f"{fmt(s['cache_hits'])} hits, {fmt(s['cache_misses'])} misses"),
        stat_card("AJAX avg", fmt(s["ajax_avg_ms"], "ms"), f"{fmt(s['ajax_requests'])} calls"),
    ]
    return dbc.Row([dbc.Col(c, xs=6, md=3, xl="auto", className="mb-2") for c in cards])


@dash.callback(Output(ids.PERF_RESPONSE, "children"), Output(ids.PERF_MEMORY, "children"),
               Output(ids.PERF_AJAX, "children"), *_TRIGGERS)
@guarded(outputs=3)
def render_series(_n, _clicks, tf):
    """Response time, memory and AJAX charts."""
    m = monitor()
    return (graph(figures.figure_response_time(Q.cached(m, Q.response_time_series, tf))),
            graph(figures.figure_memory(Q.cached(m, Q.memory_series, tf))),
            graph(figures.figure_ajax(Q.cached(m, Q.ajax_series, tf))))


@dash.callback(Output(ids.PERF_COMPONENTS, "children"), *_TRIGGERS)
@guarded()
def render_components(_n, _clicks, tf):
    """Component operation durations: chart and table."""
    df = Q.cached(monitor(), Q.component_durations, tf)
    if df.empty:
        return empty("No component timings in this timeframe.",
                     "Send metrics named " + ", ".join(Q.COMPONENT_METRICS) + " (ms).")
    return html.Div([
        graph(figures.figure_component_durations(df)),
        table(df, [("metric_name", "Operation"), ("count", "Count"), ("avg_ms", "Avg"),
                   ("p95_ms", "p95"), ("max_ms", "Max")], units={"avg_ms": "ms", "p95_ms": "ms", "max_ms": "ms"}),
    ])


@dash.callback(Output(ids.PERF_ENDPOINTS, "children"), Output(ids.PERF_SLOW_QUERIES, "children"), *_TRIGGERS)
@guarded(outputs=2)
def render_tables(_n, _clicks, tf):
    """Slowest endpoints and slow queries."""
    m = monitor()
    endpoints = Q.cached(m, Q.slowest_endpoints, tf, 15)
    slow = Q.cached(m, Q.slow_queries, tf, 20)
    ms = {"avg_ms": "ms", "p95_ms": "ms", "max_ms": "ms"}
    return (
        table(endpoints, [("request_uri", "Endpoint"), ("requests", "Requests"), ("avg_ms", "Avg"),
                          ("p95_ms", "p95"), ("max_ms", "Max")], units=ms, table_id="endpoints-table")
        if not endpoints.empty else empty("No requests in this timeframe.",
                                          "Send request_duration metrics with request_uri."),
        table(slow, [("statement", "Statement"), ("count", "Count"), ("avg_ms", "Avg"), ("max_ms", "Max"),
                     ("last_seen", "Last seen (UTC)"), ("component", "Component")], units=ms)
        if not slow.empty else empty("No slow queries in this timeframe.",
                                     "Send slow_query metrics (ms) with metadata.statement."),
    )
