"""System health: a status indicator per component, the latest check results, response
time over time, and "Run health checks now"."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, html
from dash.exceptions import PreventUpdate

from btrmon import queries as Q
from btrmon.dashboard.export_button import export_button, register_panel_export
from btrmon.dashboard import figures, ids
from btrmon.dashboard.components import controls, empty, fmt, graph, guarded, monitor, panel, table, timeframe_of

dash.register_page(__name__, path="/health", name="System health", order=40)

_TRIGGERS = [Input(ids.REFRESH, "n_intervals"), Input(ids.REFRESH_BUTTON, "n_clicks"), Input(ids.TIMEFRAME, "data")]
_HEALTH_HINT = ("Press 'Run health checks now', wait for the scheduled checks, or send kind 'health' events "
                "(component, status healthy|warning|critical, response_time_ms).")

register_panel_export("hlt-latest", lambda m, tf: Q.health_latest(m), "health-latest")
register_panel_export("hlt-history", lambda m, tf: Q.health_history(m, tf, None, 10_000), "health-history")


def layout(**query):
    """The system health page."""
    tf = timeframe_of(query)
    run = dbc.Button("Run health checks now", id=ids.HLT_RUN, color="primary", size="sm", n_clicks=0)
    return html.Div([
        html.H2("System health", className="h4"),
        controls("/health", tf),
        html.Div([run, dbc.Spinner(html.Span(id=ids.HLT_RUN_RESULT, className="ms-2"), size="sm")],
                 className="mb-3 d-flex align-items-center"),
        html.Div(id=ids.HLT_STATUS, className="mb-2"),
        panel("Latest check results", ids.HLT_LATEST, export_button("hlt-latest")),
        panel("Response time", ids.HLT_SERIES, export_button("hlt-history")),
    ])


def _status_card(record: dict) -> dbc.Card:
    status = str(record["status"])
    return dbc.Card(dbc.CardBody([
        html.Div([html.Span(className=f"status-dot status-{status}"), html.Span(str(record["component"]),
                                                                                 className="fw-semibold")]),
        html.Div(status, className=f"small status-text-{status}"),
        html.Div(f"{fmt(record['checks'])} check(s), last {fmt(record['last_check'])} UTC", className="small text-muted"),
    ]), className=f"status-card {status} mb-2", id=f"status-{record['component']}")


@dash.callback(Output(ids.HLT_STATUS, "children"), Output(ids.HLT_LATEST, "children"),
               *_TRIGGERS, Input(ids.HLT_RUN_RESULT, "children"))
@guarded(outputs=2)
def render_status(_n, _clicks, _tf, _ran):
    """Status per component and the latest result of each check."""
    m = monitor()
    status = Q.cached(m, Q.component_status)
    latest = Q.cached(m, Q.health_latest)
    if status.empty:
        return empty("No health results yet.", _HEALTH_HINT), ""
    cards = dbc.Row([dbc.Col(_status_card(r), xs=6, md=4, xl=2) for r in status.to_dict("records")])
    rows = table(latest, [("component", "Component"), ("health_check", "Check"), ("status", "Status"),
                          ("response_time_ms", "Response"), ("error_message", "Message"), ("timestamp", "Time (UTC)")],
                 units={"response_time_ms": "ms"}, row_class=lambda r: {"critical": "table-danger",
                                                                        "warning": "table-warning"}.get(r["status"]))
    return cards, rows


@dash.callback(Output(ids.HLT_SERIES, "children"), *_TRIGGERS)
@guarded()
def render_series(_n, _clicks, tf):
    """Check response time per component."""
    return graph(figures.figure_health_response(Q.cached(monitor(), Q.health_series, tf)))


@dash.callback(Output(ids.HLT_RUN_RESULT, "children"), Input(ids.HLT_RUN, "n_clicks"), prevent_initial_call=True)
def run_checks(clicks):
    """Run the built-in checks now (stored like scheduled runs)."""
    if not clicks:
        raise PreventUpdate
    m = monitor()
    if not hasattr(m, "run_health_checks"):
        return "health checks are not available in this build"
    try:
        results = m.run_health_checks()
    except Exception as exc:  # noqa: BLE001 - shown next to the button
        return f"health checks failed: {type(exc).__name__}: {exc}"
    worst = max((r.get("status", "healthy") for r in results), key=lambda s: Q.health.SEVERITY.get(s, 0),
                default="healthy")
    return f"ran {len(results)} check(s) at {fmt(Q.base.utcnow())} UTC: worst {worst}"
