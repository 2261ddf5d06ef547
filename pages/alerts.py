"""Alerts page: active alerts (acknowledge / resolve), history, rules with a 7-day preview,
channel settings with test buttons, the delivery log and dead letters ("send again").

Changing anything needs an admin; viewers see everything read-only.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Callable

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from btrmon.alerts import preview as alert_preview
from btrmon.alerts import rules as alert_rules
from btrmon.alerts.channels import channels
from btrmon.alerts.channels.settings import save_channel_settings
from btrmon.alerts.engine import get_engine
from btrmon.dashboard import ids
from btrmon.dashboard.components import guarded, monitor
from btrmon.dashboard import notices
from btrmon.dashboard.notices import admin_user
from btrmon.queries import alerts as q
from btrmon.store import utcnow
from pages import _alerts_parts as parts

dash.register_page(__name__, path="/alerts", name="Alerts", order=6)
notices.register()  # the admin notices on every page (see btrmon.dashboard.notices)

ADMIN_ONLY = "Only admins can change alerts and their settings."


def layout(**query):
    """The alerts page (read per request)."""
    m, admin = monitor(), admin_user() is not None
    all_rules = alert_rules.all_rules(m)
    severity = [{"label": s, "value": s} for s in alert_rules.SEVERITIES]
    states = [{"label": s, "value": s} for s in ("firing", "acknowledged", "resolved")]
    return html.Div([
        html.H3("Alerts"),
        parts.section("Active alerts",
                      html.Div(id=parts.RULE_ERRORS),
                      dbc.Input(id=parts.COMMENT, placeholder="comment for acknowledge / resolve (optional)",
                                size="sm", className="mb-2",
                                style={"maxWidth": "40rem"} if admin else {"display": "none"}),
                      html.Div(id=parts.ACTION_RESULT),
                      dcc.Loading(html.Div(id=parts.ACTIVE), delay_show=400)),
        parts.section("History", dbc.Row([
            dbc.Col(dcc.Dropdown([{"label": r.name, "value": r.id} for r in all_rules], id=parts.HIST_RULE,
                                 placeholder="all rules"), md=3),
            dbc.Col(dcc.Dropdown(severity, id=parts.HIST_SEVERITY, placeholder="all severities"), md=2),
            dbc.Col(dcc.Dropdown(states, id=parts.HIST_STATE, placeholder="all states"), md=2),
            dbc.Col(dcc.Dropdown([{"label": f"last {d} days", "value": d} for d in (1, 7, 30, 90)], 7,
                                 id=parts.HIST_DAYS, clearable=False), md=2),
        ], className="g-2 mb-2"), html.Div(id=parts.HISTORY)),
        parts.section("Rules", html.Div(id=parts.RULES), html.Hr(), parts.rule_form(all_rules)),
        parts.section("Notification channels", html.Div(id=parts.CHANNELS),
                      parts.channel_form(m.config) if admin else html.P(ADMIN_ONLY, className="text-muted"),
                      html.Div(id=parts.CH_RESULT, className="mt-2")),
        parts.section("Deliveries", html.Div(id=parts.DELIVERY_RESULT), html.Div(id=parts.DELIVERIES)),
    ], className="alerts-page")


# -- active alerts ---------------------------------------------------------------------------------
@callback(Output(parts.ACTIVE, "children"), Output(parts.RULE_ERRORS, "children"),
          Input(ids.REFRESH, "n_intervals"), Input(parts.ACTION_RESULT, "children"))
@guarded(outputs=2)
def render_active(_n, _result):
    """Open alerts and failing rules."""
    m = monitor()
    failing = q.rule_errors(m.db, utcnow() - timedelta(minutes=15))
    return parts.active_alerts(q.open_alerts(m.db), admin_user() is not None), parts.rule_errors(failing)


def _clicked() -> dict | None:
    """The pattern id of the button really clicked (not a freshly rendered one)."""
    if not ctx.triggered or not ctx.triggered[0]["value"]:
        return None
    return ctx.triggered_id if isinstance(ctx.triggered_id, dict) else None


@callback(Output(parts.ACTION_RESULT, "children"), Input({"type": parts.ACK, "index": ALL}, "n_clicks"),
          Input({"type": parts.RESOLVE, "index": ALL}, "n_clicks"), State(parts.COMMENT, "value"),
          prevent_initial_call=True)
def act_on_alert(_acks, _resolves, comment):
    """Acknowledge or resolve the alert whose button was clicked."""

    def act(trigger: dict, user: str) -> str:
        engine = get_engine(monitor())
        if trigger["type"] == parts.ACK:
            engine.acknowledge(trigger["index"], user, comment or "")
            return f"Alert {trigger['index']} acknowledged."
        engine.resolve(trigger["index"], user, comment or "")
        return f"Alert {trigger['index']} resolved."

    return _admin_click(act, "success")


def _admin_click(action: Callable[[dict, str], str], color: str = "info"):
    """Run ``action(trigger, admin)`` for the button clicked; its message, a refusal or the error as an alert."""
    trigger = _clicked()
    if trigger is None:
        return no_update
    user = admin_user()
    if user is None:
        return dbc.Alert(ADMIN_ONLY, color="danger", className="py-2")
    try:
        message = action(trigger, user)
    except ValueError as exc:
        return dbc.Alert(str(exc), color="warning", className="py-2")
    return dbc.Alert(message, color=color, className="py-2")


@callback(Output(parts.HISTORY, "children"), Input(parts.HIST_RULE, "value"), Input(parts.HIST_SEVERITY, "value"),
          Input(parts.HIST_STATE, "value"), Input(parts.HIST_DAYS, "value"), Input(parts.ACTION_RESULT, "children"))
@guarded()
def render_history(rule_id, severity, state, days, _result):
    """Alerts opened in the chosen period, filtered."""
    end = utcnow()
    frame = q.alert_history(monitor().db, end - timedelta(days=int(days or 7)), end + timedelta(minutes=1),
                            rule_id=rule_id, severity=severity, state=state)
    return parts.history(frame)


# -- rules -------------------------------------------------------------------------------------------
@callback(Output(parts.RULES, "children"), Input(parts.RULE_RESULT, "children"))
@guarded()
def render_rules(_result):
    """Every rule as currently configured."""
    return parts.rules_table(alert_rules.all_rules(monitor()))


@callback(Output(parts.RULE_THRESHOLD, "value"), Output(parts.RULE_WINDOW, "value"), Output(parts.RULE_MIN, "value"),
          Output(parts.RULE_ENABLED, "value"), Output(parts.RULE_PREVIEW, "children", allow_duplicate=True),
          Input(parts.RULE_PICK, "value"), prevent_initial_call="initial_duplicate")
def fill_rule_form(rule_id):
    """The picked rule's current values."""
    rule = alert_rules.find_rule(monitor(), rule_id) if rule_id else None
    if rule is None:
        return None, None, None, False, None
    return rule.threshold, rule.window_minutes, rule.min_sample, rule.enabled, None


@callback(Output(parts.RULE_PREVIEW, "children"), Input(parts.RULE_PREVIEW_BUTTON, "n_clicks"),
          State(parts.RULE_PICK, "value"), State(parts.RULE_THRESHOLD, "value"), State(parts.RULE_WINDOW, "value"),
          State(parts.RULE_MIN, "value"), prevent_initial_call=True)
@guarded()
def preview_rule(_n, rule_id, threshold, window, min_sample):
    """What the rule, with the values in the form, would have fired over the past 7 days."""
    m = monitor()
    try:
        rule = alert_rules.candidate(m, rule_id, threshold, window, min_sample)
    except ValueError as exc:
        return dbc.Alert(str(exc), color="danger", className="py-2")
    episodes = alert_preview.preview(m, rule, days=7, step=alert_preview.default_step(m, 7))
    return parts.preview_result(rule, episodes)


@callback(Output(parts.RULE_RESULT, "children"), Input(parts.RULE_SAVE, "n_clicks"), State(parts.RULE_PICK, "value"),
          State(parts.RULE_THRESHOLD, "value"), State(parts.RULE_WINDOW, "value"), State(parts.RULE_MIN, "value"),
          State(parts.RULE_ENABLED, "value"), prevent_initial_call=True)
def save_rule(_n, rule_id, threshold, window, min_sample, enabled):
    """Store the rule's new values (admins only)."""
    if admin_user() is None:
        return dbc.Alert(ADMIN_ONLY, color="danger", className="py-2")
    try:
        alert_rules.candidate(monitor(), rule_id, threshold, window, min_sample)  # validate everything first
        rule = alert_rules.save_rule(monitor(), rule_id, threshold, window, min_sample, bool(enabled))
    except ValueError as exc:
        return dbc.Alert(str(exc), color="danger", className="py-2")
    return dbc.Alert(f"Saved: {rule.name} {rule.condition} over {rule.window_minutes:g} min.", color="success",
                     className="py-2")


# -- channels ----------------------------------------------------------------------------------------
@callback(Output(parts.CHANNELS, "children"), Input(parts.CH_RESULT, "children"))
@guarded()
def render_channels(_result):
    """Each channel's state with its test button."""
    m = monitor()
    return parts.channel_status(channels(m), m.config, admin_user() is not None)


@callback(Output(parts.CH_RESULT, "children"), Input(parts.CH_SAVE, "n_clicks"),
          State({"type": parts.CH_FIELD, "index": ALL}, "value"), State({"type": parts.CH_FIELD, "index": ALL}, "id"),
          prevent_initial_call=True)
def save_channels(_n, values, field_ids):
    """Validate (URLs, addresses) and store the channel settings (admins only)."""
    if admin_user() is None:
        return dbc.Alert(ADMIN_ONLY, color="danger", className="py-2")
    try:
        changed = save_channel_settings(monitor(), {i["index"]: v for i, v in zip(field_ids, values)})
    except ValueError as exc:
        return dbc.Alert(str(exc), color="danger", className="py-2")
    return dbc.Alert(f"Saved {len(changed)} setting(s).", color="success", className="py-2")


@callback(Output(parts.CH_RESULT, "children", allow_duplicate=True),
          Input({"type": parts.CH_TEST, "index": ALL}, "n_clicks"), prevent_initial_call=True)
def send_test(_clicks):
    """Queue a test notification on the clicked channel (see the delivery log for the outcome)."""

    def test(trigger: dict, _user: str) -> str:
        sent = get_engine(monitor()).notifier.send_test(trigger["index"])
        return (f"Test notification queued on {trigger['index']} ({len(sent)} delivery). "
                "Its outcome appears in the delivery log below.")

    return _admin_click(test)


# -- deliveries --------------------------------------------------------------------------------------
@callback(Output(parts.DELIVERIES, "children"), Input(ids.REFRESH, "n_intervals"),
          Input(parts.DELIVERY_RESULT, "children"), Input(parts.CH_RESULT, "children"))
@guarded()
def render_deliveries(_n, _result, _channel_result):
    """Dead letters and the last deliveries."""
    m = monitor()
    return parts.deliveries(q.deliveries(m.db, limit=100), q.deliveries(m.db, status="dead"),
                            admin_user() is not None)


@callback(Output(parts.DELIVERY_RESULT, "children"), Input({"type": parts.RESEND, "index": ALL}, "n_clicks"),
          prevent_initial_call=True)
def send_again(_clicks):
    """Retry a dead letter with its original idempotency key."""

    def again(trigger: dict, _user: str) -> str:
        get_engine(monitor()).notifier.resend(trigger["index"])
        return "Queued again."

    return _admin_click(again)
