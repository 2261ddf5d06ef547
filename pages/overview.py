"""Overview: the headline numbers of performance, errors, journey and health, and the newest events."""

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, html

from btrmon import queries as Q
from btrmon.dashboard import ids
from btrmon.dashboard.components import (
    controls, empty, fmt, guarded, monitor, panel, stat_card, table, timeframe_of,
)

dash.register_page(__name__, path="/", name="Overview", order=0)

_TRIGGERS = [Input(ids.REFRESH, "n_intervals"), Input(ids.REFRESH_BUTTON, "n_clicks"), Input(ids.TIMEFRAME, "data")]


def layout(**query):
    """The overview page."""
    tf = timeframe_of(query)
    return html.Div([
        html.H2("Overview", className="h4"),
        controls("/", tf),
        html.Div(id=ids.OVERVIEW_CARDS),
        panel("Newest events", ids.OVERVIEW_ACTIVITY, dbc.NavLink("Activity log", href="/activity")),
    ])


def _section(title: str, href: str, cards: list) -> html.Div:
    return html.Div([
        html.Div([html.H3(title, className="h6 mb-2"), dbc.NavLink("details", href=href, className="small ms-2 p-0")],
                 className="d-flex align-items-baseline"),
        dbc.Row([dbc.Col(card, xs=6, md=3, className="mb-2") for card in cards]),
    ], className="mb-3")


@dash.callback(Output(ids.OVERVIEW_CARDS, "children"), *_TRIGGERS)
@guarded()
def render_cards(_n, _clicks, tf):
    """The four panels' headline numbers."""
    metrics = Q.cached(monitor(), Q.dashboard_metrics, tf)
    perf, err, jrn, hlt = metrics["performance"], metrics["errors"], metrics["journey"], metrics["health"]
    if not (perf["requests"] or err["errors"] or jrn["sessions"] or hlt["components"]):
        return empty(f"No events in the last {tf} yet.")
    health_color = {"critical": "danger", "warning": "warning", "healthy": "success"}.get(hlt["overall"])
    return html.Div([
        _section("Performance", "/performance", [
            stat_card("Requests", fmt(perf["requests"]), card_id="ov-requests"),
            stat_card("Avg response", fmt(perf["avg_ms"], "ms"), card_id="ov-avg"),
            stat_card("p95 response", fmt(perf["p95_ms"], "ms")),
            stat_card("Peak memory", fmt(perf["peak_memory_mb"], "MB")),
        ]),
        _section("Errors", "/errors", [
            stat_card("Error rate", fmt(err["error_rate_pct"], "%"), "critical + error / requests", card_id="ov-error-rate"),
            stat_card("Critical errors", fmt(err["critical"]), color="danger" if err["critical"] else None),
            stat_card("All errors", fmt(err["errors"])),
            stat_card("Unresolved", fmt(err["unresolved"])),
        ]),
        _section("User journey", "/journey", [
            stat_card("Sessions", fmt(jrn["sessions"]), card_id="ov-sessions"),
            stat_card("Conversion", fmt(jrn["conversion_rate_pct"], "%")),
            stat_card("Avg session", fmt(jrn["avg_duration_s"], "s")),
            stat_card("Flagged drop-offs", fmt(jrn["dropped"])),
        ]),
        _section("System health", "/health", [
            stat_card("Overall", hlt["overall"], color=health_color, card_id="ov-health"),
            stat_card("Critical", fmt(hlt["critical"])),
            stat_card("Warning", fmt(hlt["warning"])),
            stat_card("Healthy", fmt(hlt["healthy"])),
        ]),
    ])


@dash.callback(Output(ids.OVERVIEW_ACTIVITY, "children"), *_TRIGGERS)
@guarded()
def render_activity(_n, _clicks, _tf):
    """The 15 newest events of all kinds."""
    df = Q.cached(monitor(), Q.activity, None, 15)
    if df.empty:
        return empty("No events yet.")
    return table(df, [("timestamp", "Time (UTC)"), ("kind", "Kind"), ("level", "Level"),
                      ("component", "Component"), ("summary", "Event")])
