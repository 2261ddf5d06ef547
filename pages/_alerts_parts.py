"""Pieces of the alerts page: ids, tables and forms (no callbacks, no SQL)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from btrmon.alerts.channels.settings import CHANNEL_SETTINGS
from btrmon.alerts.preview import Episode
from btrmon.alerts.rules import Rule
from btrmon.config import lookup
from btrmon.dashboard.components import fmt, table

# component ids of this page
ACTIVE = "alr-active"
RULE_ERRORS = "alr-rule-errors"
COMMENT = "alr-comment"
ACK = "alr-ack"  # pattern-matching type, index = alert_id
RESOLVE = "alr-resolve"  # pattern-matching type, index = alert_id
ACTION_RESULT = "alr-action-result"
HIST_RULE, HIST_SEVERITY, HIST_STATE, HIST_DAYS = "alr-hist-rule", "alr-hist-severity", "alr-hist-state", "alr-hist-days"
HISTORY = "alr-history"
RULES = "alr-rules"
RULE_PICK, RULE_THRESHOLD, RULE_WINDOW, RULE_MIN, RULE_ENABLED = (
    "alr-rule-pick", "alr-rule-threshold", "alr-rule-window", "alr-rule-min", "alr-rule-enabled")
RULE_PREVIEW_BUTTON, RULE_SAVE, RULE_PREVIEW, RULE_RESULT = (
    "alr-rule-preview-button", "alr-rule-save", "alr-rule-preview", "alr-rule-result")
CHANNELS = "alr-channels"
CH_FIELD = "alr-ch-field"  # pattern-matching type, index = setting name
CH_SAVE, CH_RESULT = "alr-ch-save", "alr-ch-result"
CH_TEST = "alr-ch-test"  # pattern-matching type, index = channel name
DELIVERIES = "alr-deliveries"
RESEND = "alr-resend"  # pattern-matching type, index = delivery_id
DELIVERY_RESULT = "alr-delivery-result"

SEVERITY_COLORS = {"warning": "warning", "critical": "danger", "emergency": "dark"}


def section(title: str, *children) -> dbc.Card:
    """A titled card."""
    return dbc.Card([dbc.CardHeader(title, className="fw-semibold"), dbc.CardBody(list(children))], className="mb-3")


def active_alerts(alerts: list[dict], admin: bool) -> html.Div:
    """Open alerts with acknowledge / resolve buttons for admins."""
    if not alerts:
        return html.P("No open alerts.", className="text-muted mb-0", id="alr-none")
    rows = []
    for a in alerts:
        buttons = []
        if admin and a["state"] == "firing":
            buttons.append(dbc.Button("Acknowledge", id={"type": ACK, "index": a["alert_id"]}, size="sm",
                                      color="primary", outline=True, className="me-1", n_clicks=0))
        if admin:
            buttons.append(dbc.Button("Resolve", id={"type": RESOLVE, "index": a["alert_id"]}, size="sm",
                                      color="success", outline=True, n_clicks=0))
        ack = f"{a['acknowledged_by']} at {fmt(a['acknowledged_at'])}" if a["acknowledged_at"] else ""
        rows.append(html.Tr([
            html.Td(dbc.Badge(a["severity"], color=SEVERITY_COLORS.get(a["severity"], "secondary"))),
            html.Td(a["rule_name"] + (f" [{a['component']}]" if a["component"] else "")),
            html.Td(a["message"] or ""), html.Td(a["state"]), html.Td(fmt(a["opened_at"])), html.Td(ack),
            html.Td(buttons)], className=f"alert-row alert-{a['state']}"))
    head = html.Thead(html.Tr([html.Th(h) for h in ("Severity", "Rule", "Value", "State", "Since (UTC)",
                                                     "Acknowledged", "")]))
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, responsive=True, className="mb-0")


def rule_errors(frame: pd.DataFrame) -> html.Div:
    """Rules that failed to evaluate recently."""
    if frame.empty:
        return html.Div()
    latest = frame.drop_duplicates("rule_id")
    return dbc.Alert([html.Strong("Rules failing to evaluate: ")] + [
        html.Div(f"{r.rule_id} ({fmt(r.occurred_at)}): {r.comment}") for r in latest.itertuples()],
        color="danger", className="py-2")


def history(frame: pd.DataFrame) -> html.Div:
    """The alert history table."""
    if frame.empty:
        return html.P("No alerts in this period.", className="text-muted mb-0")
    return table(frame, [("opened_at", "Opened (UTC)"), ("rule_name", "Rule"), ("component", "Component"),
                         ("severity", "Severity"), ("state", "State"), ("value", "Value"),
                         ("condition", "Condition"), ("acknowledged_by", "Ack by"), ("ack_comment", "Comment"),
                         ("resolved_at", "Resolved (UTC)"), ("resolved_by", "Resolved by"),
                         ("reopen_count", "Reopened")])


def rules_table(rules: list[Rule]) -> dbc.Table:
    """Every rule with its condition, window, minimum sample and state."""
    frame = pd.DataFrame([{"name": r.name, "condition": r.condition, "window": r.window_minutes,
                           "min_sample": r.min_sample, "severity": r.severity, "channels": ", ".join(r.channels),
                           "enabled": r.enabled, "description": r.description} for r in rules])
    return table(frame, [("name", "Rule"), ("condition", "Condition"), ("window", "Window (min)"),
                         ("min_sample", "Min. sample"), ("severity", "Severity"), ("channels", "Channels"),
                         ("enabled", "Enabled"), ("description", "What it measures")], units={"window": ""})


def rule_form(rules: list[Rule]) -> html.Div:
    """Pick a rule, change threshold / window / minimum sample, preview, save."""
    field = lambda label, component: dbc.Col([dbc.Label(label, className="small mb-0"), component], md=2)  # noqa: E731
    return html.Div([
        dbc.Row([
            dbc.Col([dbc.Label("Rule", className="small mb-0"), dcc.Dropdown(
                [{"label": r.name, "value": r.id} for r in rules], rules[0].id if rules else None,
                id=RULE_PICK, clearable=False)], md=3),
            field("Threshold", dbc.Input(id=RULE_THRESHOLD, type="number", size="sm")),
            field("Window (minutes)", dbc.Input(id=RULE_WINDOW, type="number", min=1, size="sm")),
            field("Minimum sample", dbc.Input(id=RULE_MIN, type="number", min=0, step=1, size="sm")),
            dbc.Col(dbc.Checkbox(id=RULE_ENABLED, label="enabled", value=True), md=1, className="pt-4"),
            dbc.Col([dbc.Button("Preview 7 days", id=RULE_PREVIEW_BUTTON, size="sm", color="secondary",
                                className="me-1", n_clicks=0),
                     dbc.Button("Save", id=RULE_SAVE, size="sm", color="primary", n_clicks=0)], md=2,
                    className="pt-4"),
        ], className="g-2 align-items-start"),
        html.Div(id=RULE_RESULT, className="mt-2"),
        dcc.Loading(html.Div(id=RULE_PREVIEW, className="mt-2")),
    ])


def preview_result(rule: Rule, episodes: list[Episode]) -> html.Div:
    """"Would have fired N times" with when and how long."""
    if not episodes:
        return dbc.Alert(f"{rule.name} ({rule.condition}, {rule.window_minutes:g} min) would not have fired "
                         "in the past 7 days.", color="success", className="py-2", id="alr-preview-summary")
    total = sum((e.duration for e in episodes), start=pd.Timedelta(0))
    frame = pd.DataFrame([{"start": e.start, "end": e.end if e.end else "still firing",
                           "minutes": e.duration.total_seconds() / 60, "component": e.component, "peak": e.peak}
                          for e in episodes])
    return html.Div([
        dbc.Alert(f"{rule.name} ({rule.condition}, {rule.window_minutes:g} min) would have fired "
                  f"{len(episodes)} time(s) in the past 7 days, {total.total_seconds() / 3600:.1f} h in all.",
                  color="warning", className="py-2", id="alr-preview-summary"),
        table(frame, [("start", "From (UTC)"), ("end", "To (UTC)"), ("minutes", "Minutes"),
                      ("component", "Component"), ("peak", "Worst value")]),
    ])


def channel_status(channels: dict, config, admin: bool) -> dbc.Table:
    """Each channel: configured or not, and its test button."""
    rows = []
    for name, channel in channels.items():
        configured = channel.configured(config)
        button = dbc.Button("Send test", id={"type": CH_TEST, "index": name}, size="sm", outline=True,
                            color="primary", n_clicks=0, disabled=not (configured and admin))
        rows.append(html.Tr([html.Td(name), html.Td("configured" if configured else "not configured"),
                             html.Td(button)]))
    return dbc.Table([html.Tbody(rows)], size="sm", className="mb-2")


def _input(name: str, value) -> dbc.Input | dcc.Dropdown:
    setting = lookup(name)
    if setting.choices:
        return dcc.Dropdown(list(setting.choices), value, id={"type": CH_FIELD, "index": name}, clearable=False)
    if setting.type is bool:
        return dcc.Dropdown([{"label": "yes", "value": "true"}, {"label": "no", "value": "false"}],
                            "true" if value else "false", id={"type": CH_FIELD, "index": name}, clearable=False)
    if setting.secret:
        return dbc.Input(id={"type": CH_FIELD, "index": name}, type="password", size="sm", value="",
                         placeholder="stored (leave empty to keep)" if value else "")
    if setting.type is list:
        value = ", ".join(value) if all(isinstance(v, str) for v in value) else json.dumps(value)
    return dbc.Input(id={"type": CH_FIELD, "index": name}, value="" if value is None else str(value), size="sm")


def channel_form(config) -> html.Div:
    """The settings of every channel, grouped."""
    groups = []
    for group, names in CHANNEL_SETTINGS.items():
        fields = [dbc.Col([html.Label(name.removeprefix("btrmon_"), className="small mb-0",
                                      title=lookup(name).help), _input(name, config.get(name))], md=4)
                  for name in names]
        groups.append(html.Div([html.H6(group, className="mt-2"), dbc.Row(fields, className="g-2")]))
    return html.Div(groups + [dbc.Button("Save channel settings", id=CH_SAVE, color="primary", size="sm",
                                         className="mt-3", n_clicks=0)])


def shown_target(target) -> str:
    """A delivery target safe to show: a URL cut to scheme, host and port (a Slack webhook path is a secret)."""
    parts = urlsplit(str(target))
    if parts.scheme in ("http", "https") and parts.hostname:
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}/..." if parts.path not in ("", "/") else \
            f"{parts.scheme}://{parts.hostname}{port}/"
    return str(target)


def deliveries(log: pd.DataFrame, dead: pd.DataFrame, admin: bool) -> html.Div:
    """Dead letters (with "send again") and the delivery log; URL targets shown without their path."""
    log, dead = (frame.assign(target=frame["target"].map(shown_target)) if not frame.empty else frame
                 for frame in (log, dead))
    dead_part = html.P("No dead letters.", className="text-muted") if dead.empty else table(
        dead, [("created_at", "Created (UTC)"), ("channel", "Channel"), ("target", "Target"), ("event", "Event"),
               ("attempts", "Attempts"), ("last_error", "Last error")],
        extra=(lambda r: dbc.Button("Send again", id={"type": RESEND, "index": r["delivery_id"]}, size="sm",
                                    color="warning", n_clicks=0)) if admin else None, extra_title="",
        table_id="alr-dead-letters")
    log_part = html.P("No deliveries yet.", className="text-muted") if log.empty else table(
        log, [("created_at", "Created (UTC)"), ("alert_id", "Alert"), ("event", "Event"), ("channel", "Channel"),
              ("target", "Target"), ("status", "Status"), ("attempts", "Attempts"), ("last_status", "Last status"),
              ("last_error", "Last error")])
    return html.Div([html.H6("Dead letters"), dead_part, html.H6("Delivery log", className="mt-3"), log_part])
