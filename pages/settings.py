"""Settings (admins): every option of ``config.SETTINGS`` with its help text, validated
with ``config.coerce`` and saved with ``monitor.config.set`` (all or nothing)."""

import json

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, html
from dash.exceptions import PreventUpdate

from btrmon.config import SettingError, coerce, lookup
from btrmon.dashboard import auth, ids
from btrmon.dashboard.components import controls, monitor

dash.register_page(__name__, path="/settings", name="Settings", order=90, admin=True)


def _text(setting, value) -> str:
    if setting.type is list:
        return json.dumps(value)
    return "" if value is None else str(value)


def _field(setting, value, source: str):
    field_id = {"type": ids.SET_FIELD, "index": setting.name}
    locked = source == "env"
    if setting.type is bool:
        control = dbc.Switch(id=field_id, value=bool(value), disabled=locked)
    elif setting.type is list:
        control = dbc.Textarea(id=field_id, value=_text(setting, value), rows=2, disabled=locked)
    elif setting.secret:
        control = dbc.Input(id=field_id, value="", type="password", placeholder="(hidden: type a new value to change)",
                            disabled=locked)
    else:
        control = dbc.Input(id=field_id, value=_text(setting, value), disabled=locked)
    limits = []
    if setting.minimum is not None:
        limits.append(f"min {setting.minimum:g}")
    if setting.maximum is not None:
        limits.append(f"max {setting.maximum:g}")
    note = f" Set by {setting.env_name} (environment): change it there." if locked else ""
    return dbc.Row([
        dbc.Col([html.Code(setting.name), html.Div(f"{setting.type.__name__} {' '.join(limits)}".strip(),
                                                   className="small text-muted")], md=4),
        dbc.Col([control, html.Div(setting.help + note, className="form-text")], md=6),
        dbc.Col(dbc.Badge(source, color={"env": "warning", "database": "primary"}.get(source, "secondary")), md=2),
    ], className="mb-3 setting-row")


def layout(**query):
    """The settings page (admins only)."""
    if not auth.is_admin():
        return dbc.Alert("Settings are for admins. Ask an admin to change them.", color="warning", id="admin-only")
    groups: dict[str, list] = {}
    for setting, value, source in monitor().config.items():
        groups.setdefault(setting.group, []).append(_field(setting, value, source))
    return html.Div([
        html.H2("Settings", className="h4"),
        controls("/settings", "24h", timeframes=False),
        html.P("Changes apply at once; all changed fields are validated before anything is saved.",
               className="text-muted small"),
        *[dbc.Card([dbc.CardHeader(group.title(), className="fw-semibold"), dbc.CardBody(rows)], className="mb-3")
          for group, rows in groups.items()],
        html.Div(dbc.Button("Save settings", id=ids.SET_SAVE, color="primary", n_clicks=0),
                 className="settings-save-bar"),
        html.Div(id=ids.SET_RESULT, className="settings-result"),
    ])


def _changes(values: list, field_ids: list) -> tuple[dict, list[str]]:
    """Coerced values that differ from the effective ones, and the errors (each names the field)."""
    config = monitor().config
    changes, errors = {}, []
    for value, field_id in zip(values, field_ids):
        name = field_id["index"]
        setting = lookup(name)
        if config.source(name) == "env" or (setting.secret and not value):
            continue
        current = config.get(name)
        if setting.type is not bool and value == _text(setting, current):
            continue
        try:
            coerced = coerce(setting, value)
        except SettingError as exc:
            errors.append(str(exc))
            continue
        if coerced != current:
            changes[name] = coerced
    return changes, errors


@dash.callback(Output(ids.SET_RESULT, "children"), Input(ids.SET_SAVE, "n_clicks"),
               State({"type": ids.SET_FIELD, "index": ALL}, "value"),
               State({"type": ids.SET_FIELD, "index": ALL}, "id"), prevent_initial_call=True)
def save(clicks, values, field_ids):
    """Validate every changed field; save them all only when all are valid."""
    if not clicks:
        raise PreventUpdate
    if not auth.is_admin():
        return dbc.Alert("Only admins can change settings.", color="danger")
    changes, errors = _changes(values, field_ids)
    if errors:
        return dbc.Alert([html.P("Nothing saved. Fix these fields:"), html.Ul([html.Li(e) for e in errors])],
                         color="danger", id="settings-errors")
    if not changes:
        return dbc.Alert("No changes.", color="secondary", duration=4000)
    for name, value in changes.items():
        monitor().config.set(name, value)
    return dbc.Alert(f"Saved {len(changes)} setting(s): {', '.join(sorted(changes))}.", color="success",
                     id="settings-saved")
