"""Admin notices: open alerts shown on every page, coloured by severity, dismissible,
with an acknowledge button for admins.

Wiring: none beyond the shell's empty ``html.Div(id=ids.NOTICES)``: ``mount`` fills it
with ``area()`` once per page load. ``register()`` adds the callbacks; the alerts page
calls it, because Dash executes page modules once per app (an ordinary module's
``@callback`` would reach only the first app of the process). A shell may also place
``area()`` in that Div itself. A dismissal lasts for the browser tab's
session and only for the alert's current severity: an escalation shows it again.
"""

from __future__ import annotations

import logging

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from btrmon.dashboard import ids
from btrmon.queries import alerts as q

log = logging.getLogger(__name__)

DISMISSED = "notices-dismissed"  # dcc.Store: ["alert_id:severity", ...]
LIST = "notices-list"
RESULT = "notices-result"
NOTICE = "notice"  # pattern-matching type, index = "alert_id:severity"
ACK = "notice-ack"  # pattern-matching type, index = alert_id
COLORS = {"warning": "warning", "critical": "danger", "emergency": "dark"}
MAX_SHOWN = 5


def area() -> html.Div:
    """The notices container, to be placed in the shell's ``html.Div(id=ids.NOTICES)``."""
    return html.Div([
        dcc.Store(id=DISMISSED, storage_type="session"),
        html.Div(id=RESULT, className="small"),
        html.Div(id=LIST),
    ], className="admin-notices container-fluid")


def _monitor():
    from btrmon.server import current_monitor

    return current_monitor()


def admin_user() -> str | None:
    """The name of the logged-in admin, or None (viewer, or no login)."""
    try:
        from btrmon.dashboard.auth import current_user, is_admin
    except ImportError:
        return None
    user = current_user()
    return user["username"] if user and is_admin() else None


def notice(alert: dict, admin: bool) -> dbc.Alert:
    """One open alert as a dismissible notice."""
    key = f"{alert['alert_id']}:{alert['severity']}"
    body = [html.Strong(f"{alert['severity'].upper()} "), alert.get("message") or alert["rule_name"]]
    if alert.get("component"):
        body.append(html.Span(f" [{alert['component']}]", className="text-muted"))
    if alert["state"] == "acknowledged":
        body.append(html.Span(f" acknowledged by {alert.get('acknowledged_by') or '?'}", className="ms-2 small"))
    elif admin:
        body.append(dbc.Button("Acknowledge", id={"type": ACK, "index": alert["alert_id"]}, size="sm",
                               color="light", className="ms-3", n_clicks=0))
    body.append(dcc.Link("details", href="/alerts", className="ms-3 small"))
    return dbc.Alert(body, id={"type": NOTICE, "index": key}, color=COLORS.get(alert["severity"], "secondary"),
                     dismissable=True, is_open=True, className="py-2 mb-1")


def mount(_path, children):
    """Put the notices area into the shell's empty container (once per page load)."""
    return no_update if children else area()


def render_notices(_n, _path, dismissed, _result):
    """The open alerts not dismissed in this tab."""
    try:
        alerts = q.open_alerts(_monitor().db)
    except Exception:  # noqa: BLE001 - notices never break a page
        log.exception("admin notices failed")
        return []
    dismissed = set(dismissed or [])
    shown = [a for a in alerts if f"{a['alert_id']}:{a['severity']}" not in dismissed]
    admin = admin_user() is not None
    items = [notice(a, admin) for a in shown[:MAX_SHOWN]]
    if len(shown) > MAX_SHOWN:
        items.append(dcc.Link(f"{len(shown) - MAX_SHOWN} more open alerts", href="/alerts", className="small"))
    # a marker tests (and scripts) can wait for: the notices were rendered, this many shown
    return items + [html.Span(id="notices-rendered", hidden=True, **{"data-shown": str(len(items))})]


def dismiss(open_flags, notice_ids, dismissed):
    """Remember notices closed with their x."""
    closed = [i["index"] for i, is_open in zip(notice_ids, open_flags) if is_open is False]
    if not closed:
        return no_update
    return sorted(set(dismissed or []) | set(closed))


def acknowledge(clicks):
    """Acknowledge the alert whose button was clicked (admins only)."""
    trigger = ctx.triggered_id
    if not trigger or not any(clicks or []) or not (ctx.triggered and ctx.triggered[0]["value"]):
        return no_update
    user = admin_user()
    if user is None:
        return dbc.Alert("Only admins can acknowledge alerts.", color="danger", className="py-1 mb-1")
    from btrmon.alerts.engine import get_engine

    try:
        get_engine(_monitor()).acknowledge(int(trigger["index"]), user)
    except ValueError as exc:
        return dbc.Alert(str(exc), color="warning", className="py-1 mb-1")
    return html.Span(f"Alert {trigger['index']} acknowledged.", className="text-success")


def register() -> None:
    """Register the notices callbacks with the Dash app being built."""
    callback(Output(ids.NOTICES, "children"), Input(ids.URL, "pathname"), State(ids.NOTICES, "children"))(mount)
    callback(Output(LIST, "children"), Input(ids.REFRESH, "n_intervals"), Input(ids.URL, "pathname"),
             Input(DISMISSED, "data"), Input(RESULT, "children"))(render_notices)
    callback(Output(DISMISSED, "data"), Input({"type": NOTICE, "index": ALL}, "is_open"),
             State({"type": NOTICE, "index": ALL}, "id"), State(DISMISSED, "data"), prevent_initial_call=True)(dismiss)
    callback(Output(RESULT, "children"), Input({"type": ACK, "index": ALL}, "n_clicks"),
             prevent_initial_call=True)(acknowledge)
