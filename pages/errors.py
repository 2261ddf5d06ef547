"""Errors: error rate, critical count, trends by level/type, fingerprint groups (resolve as
admin), recent errors with details on demand; filters by level, type, component, resolved."""

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Input, Output, ctx, dcc, html
from dash.exceptions import PreventUpdate

from btrmon import queries as Q
from btrmon.dashboard.export_button import export_button, register_panel_export
from btrmon.dashboard import auth, figures, ids
from btrmon.dashboard.components import (
    controls, empty, fmt, graph, guarded, monitor, panel, stat_card, table, timeframe_of,
)
from btrmon.errors_admin import resolve_fingerprint
from btrmon.models import ERROR_LEVELS, ERROR_TYPES

dash.register_page(__name__, path="/errors", name="Errors", order=20)

_TRIGGERS = [Input(ids.REFRESH, "n_intervals"), Input(ids.REFRESH_BUTTON, "n_clicks"), Input(ids.TIMEFRAME, "data")]
_FILTERS = [Input(ids.ERR_FILTER_LEVEL, "value"), Input(ids.ERR_FILTER_TYPE, "value"),
            Input(ids.ERR_FILTER_COMPONENT, "value"), Input(ids.ERR_FILTER_RESOLVED, "value")]

register_panel_export("err-trends", lambda m, tf: Q.error_trends(m, tf, "level"), "error-trends")
register_panel_export("err-groups", lambda m, tf: Q.error_groups(m, tf, None, 1000), "error-groups")
register_panel_export("err-recent", lambda m, tf: Q.recent_errors(m, tf, None, 1000), "recent-errors")


def layout(**query):
    """The errors page."""
    tf = timeframe_of(query)
    filters = dbc.Row([
        dbc.Col(dcc.Dropdown(list(ERROR_LEVELS), multi=True, placeholder="level", id=ids.ERR_FILTER_LEVEL), md=3),
        dbc.Col(dcc.Dropdown(list(ERROR_TYPES), multi=True, placeholder="type", id=ids.ERR_FILTER_TYPE), md=3),
        dbc.Col(dbc.Input(placeholder="component", id=ids.ERR_FILTER_COMPONENT, debounce=True), md=3),
        dbc.Col(dcc.Dropdown([{"label": "unresolved", "value": "no"}, {"label": "resolved", "value": "yes"}],
                             placeholder="resolved?", id=ids.ERR_FILTER_RESOLVED), md=3),
    ], className="mb-3 g-2")
    return html.Div([
        html.H2("Errors", className="h4"),
        controls("/errors", tf),
        html.Div(id=ids.ERR_CARDS, className="mb-2"),
        panel("Error trends", ids.ERR_TRENDS, html.Div([dbc.RadioItems(
            options=[{"label": "by level", "value": "level"}, {"label": "by type", "value": "type"}],
            value="level", inline=True, id=ids.ERR_TRENDS_BY, className="d-inline-block me-2"),
            export_button("err-trends")])),
        filters,
        html.Div(id=ids.ERR_RESOLVE_RESULT),
        panel("Errors grouped by fingerprint", ids.ERR_GROUPS, export_button("err-groups")),
        panel("Recent errors", ids.ERR_RECENT, export_button("err-recent")),
        dbc.Modal([dbc.ModalHeader(dbc.ModalTitle("Error details")), dbc.ModalBody(id=ids.ERR_DETAIL_BODY)],
                  id=ids.ERR_DETAIL, size="xl", scrollable=True),
    ])


def _where(file, line) -> str:
    """'file:line', 'file' or '-'."""
    if not isinstance(file, str) or not file:
        return "-"
    return file if pd.isna(line) else f"{file}:{int(line)}"


def _filters(level, etype, component, resolved) -> dict:
    out = {"level": level or None, "type": etype or None, "component": (component or "").strip() or None}
    if resolved in ("yes", "no"):
        out["resolved"] = resolved == "yes"
    return out


@dash.callback(Output(ids.ERR_CARDS, "children"), *_TRIGGERS)
@guarded()
def render_cards(_n, _clicks, tf):
    """Error rate, critical count, totals."""
    s = Q.cached(monitor(), Q.error_summary, tf)
    cards = [
        stat_card("Error rate", fmt(s["error_rate_pct"], "%"),
                  f"{fmt(s['failures'])} critical+error / {fmt(s['requests'])} requests", card_id="err-rate"),
        stat_card("Critical errors", fmt(s["critical"]), color="danger" if s["critical"] else None, card_id="err-critical"),
        stat_card("All errors", fmt(s["errors"]), " / ".join(f"{k} {v}" for k, v in s["by_level"].items())),
        stat_card("Unresolved", fmt(s["unresolved"]), f"{fmt(s['groups'])} distinct errors"),
    ]
    return dbc.Row([dbc.Col(c, xs=6, md=3, className="mb-2") for c in cards])


@dash.callback(Output(ids.ERR_TRENDS, "children"), *_TRIGGERS, Input(ids.ERR_TRENDS_BY, "value"))
@guarded()
def render_trends(_n, _clicks, tf, by):
    """Errors over time by level or type."""
    return graph(figures.figure_error_trends(Q.cached(monitor(), Q.error_trends, tf, by or "level")))


def _resolve_button(record: dict):
    if not auth.is_admin() or not record["unresolved"]:
        return "resolved" if not record["unresolved"] else ""
    return dbc.Button("Mark resolved", size="sm", color="success", outline=True,
                      id={"type": ids.ERR_RESOLVE_BUTTON, "index": record["fingerprint"]})


@dash.callback(Output(ids.ERR_GROUPS, "children"), *_TRIGGERS, *_FILTERS, Input(ids.ERR_RESOLVE_RESULT, "children"))
@guarded()
def render_groups(_n, _clicks, tf, level, etype, component, resolved, _resolved_msg):
    """Errors grouped by fingerprint (admin: mark resolved)."""
    df = Q.error_groups(monitor(), tf, _filters(level, etype, component, resolved), 50)
    if df.empty:
        return empty("No errors match in this timeframe.", "Errors arrive as kind 'error' events "
                     "(error_type, error_level, error_message, error_file, error_line).")
    df["where"] = [_where(f, n) for f, n in zip(df["error_file"], df["error_line"])]
    return table(df, [("error_level", "Level"), ("error_type", "Type"), ("error_message", "Message (latest)"),
                      ("where", "File:line"), ("component", "Component"), ("count", "Count"),
                      ("unresolved", "Unresolved"), ("first_seen", "First seen"), ("last_seen", "Last seen")],
                 extra=_resolve_button, extra_title="", table_id="groups-table")


@dash.callback(Output(ids.ERR_RECENT, "children"), *_TRIGGERS, *_FILTERS, Input(ids.ERR_RESOLVE_RESULT, "children"))
@guarded()
def render_recent(_n, _clicks, tf, level, etype, component, resolved, _resolved_msg):
    """The newest errors with a details button."""
    df = Q.recent_errors(monitor(), tf, _filters(level, etype, component, resolved), 50)
    if df.empty:
        return empty("No errors match in this timeframe.", "Errors arrive as kind 'error' events.")
    df["where"] = [_where(f, n) for f, n in zip(df["error_file"], df["error_line"])]
    return table(df, [("timestamp", "Time (UTC)"), ("error_level", "Level"), ("error_type", "Type"),
                      ("error_message", "Message"), ("where", "File:line"), ("component", "Component"),
                      ("request_uri", "URI")],
                 extra=lambda r: dbc.Button("details", size="sm", color="link",
                                            id={"type": ids.ERR_DETAIL_BUTTON, "index": r["event_id"]}),
                 table_id="recent-table")


@dash.callback(Output(ids.ERR_DETAIL, "is_open"), Output(ids.ERR_DETAIL_BODY, "children"),
               Input({"type": ids.ERR_DETAIL_BUTTON, "index": ALL}, "n_clicks"), prevent_initial_call=True)
def show_detail(clicks):
    """The full error (stack trace included) in a dialog, all as text."""
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    detail = Q.error_detail(monitor(), ctx.triggered_id["index"])
    if detail is None:
        return True, "This error no longer exists (retention may have removed it)."
    fields = ["timestamp", "error_level", "error_type", "component", "request_uri", "user_agent",
              "session_id", "fingerprint", "resolved", "resolved_by", "resolved_at"]
    return True, html.Div([
        html.P(detail["error_message"], className="fw-semibold", id="detail-message"),
        html.P(f"{detail['error_file'] or '-'}:{detail['error_line'] if detail['error_line'] is not None else '-'}",
               className="font-monospace"),
        dbc.Table(html.Tbody([html.Tr([html.Th(f), html.Td(fmt(detail[f]))]) for f in fields]), size="sm"),
        html.H6("Stack trace"),
        html.Pre(detail["stack_trace"] or "(none)", className="stack"),
    ])


@dash.callback(Output(ids.ERR_RESOLVE_RESULT, "children"),
               Input({"type": ids.ERR_RESOLVE_BUTTON, "index": ALL}, "n_clicks"), prevent_initial_call=True)
def mark_resolved(clicks):
    """Admin: mark every error of a fingerprint resolved."""
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    if not auth.is_admin():
        return dbc.Alert("Only admins can resolve errors.", color="warning", dismissable=True)
    user = auth.current_user()["username"]
    changed = resolve_fingerprint(monitor(), ctx.triggered_id["index"], user)
    return dbc.Alert(f"Marked {changed} error(s) resolved.", color="success", dismissable=True, duration=5000)
