"""Activity log: the newest events of every kind as a live stream, filters by kind, level
and component, auto-scroll that pauses when you scroll up, a pause button, and CSV/JSON
download of the filtered events."""

import json

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from btrmon import queries as Q
from btrmon.dashboard import ids
from btrmon.exports.csv_export import neutralise
from btrmon.dashboard.components import controls, empty, fmt, guarded, monitor, timeframe_of
from btrmon.models import ERROR_LEVELS, HEALTH_STATUSES
from btrmon.store import utcnow

dash.register_page(__name__, path="/activity", name="Activity log", order=50)

SHOWN = 300
DOWNLOAD_MAX = 100_000


def layout(**query):
    """The activity log page."""
    tf = timeframe_of(query)
    filters = dbc.Row([
        dbc.Col(dbc.Checklist(options=list(Q.KINDS), value=list(Q.KINDS), inline=True, id=ids.ACT_KIND), md=4),
        dbc.Col(dcc.Dropdown(list(ERROR_LEVELS) + [s for s in HEALTH_STATUSES if s not in ERROR_LEVELS],
                             multi=True, placeholder="level / status", id=ids.ACT_LEVEL), md=3),
        dbc.Col(dbc.Input(placeholder="component", id=ids.ACT_COMPONENT, debounce=True), md=2),
        dbc.Col([
            dbc.Button("Pause", id=ids.ACT_PAUSE, size="sm", color="warning", outline=True, n_clicks=0),
            dbc.Button("CSV", id=ids.ACT_DOWNLOAD_CSV, size="sm", color="secondary", outline=True, className="ms-2"),
            dbc.Button("JSON", id=ids.ACT_DOWNLOAD_JSON, size="sm", color="secondary", outline=True, className="ms-1"),
        ], md=3, className="text-end"),
    ], className="mb-2 g-2 align-items-center")
    return html.Div([
        html.H2("Activity log", className="h4"),
        controls("/activity", tf),
        filters,
        dcc.Store(id=ids.ACT_PAUSED, data=False),
        dcc.Download(id=ids.ACT_DOWNLOAD),
        html.Div("auto-scroll on", id=ids.ACT_SCROLL_STATE, className="small text-muted mb-1"),
        html.Div(id=ids.ACT_LOG),
    ])


def _filters(kinds, levels, component) -> dict:
    return {"kind": kinds or list(Q.KINDS), "level": levels or None, "component": (component or "").strip() or None}


@dash.callback(Output(ids.ACT_PAUSED, "data"), Output(ids.ACT_PAUSE, "children"),
               Input(ids.ACT_PAUSE, "n_clicks"), State(ids.ACT_PAUSED, "data"), prevent_initial_call=True)
def toggle_pause(_clicks, paused):
    """Pause or resume the live stream."""
    return (not paused), ("Resume" if not paused else "Pause")


def _row(record: dict) -> html.Div:
    level = record["level"] if isinstance(record["level"], str) else ""
    parts = [fmt(record["timestamp"]), record["kind"].ljust(7), (level or "-").ljust(8),
             (record["component"] if isinstance(record["component"], str) else "-").ljust(12),
             str(record["summary"])]
    uri = record["request_uri"]
    if isinstance(uri, str) and uri:
        parts.append(uri)
    return html.Div("  ".join(parts), className=f"act-row act-{level}")


@dash.callback(Output(ids.ACT_LOG, "children"),
               Input(ids.REFRESH, "n_intervals"), Input(ids.REFRESH_BUTTON, "n_clicks"), Input(ids.TIMEFRAME, "data"),
               Input(ids.ACT_KIND, "value"), Input(ids.ACT_LEVEL, "value"), Input(ids.ACT_COMPONENT, "value"),
               State(ids.ACT_PAUSED, "data"))
@guarded()
def render_log(_n, _clicks, tf, kinds, levels, component, paused):
    """The newest events, oldest first so the newest is at the bottom."""
    if paused and ctx.triggered_id == ids.REFRESH:
        raise PreventUpdate
    if not kinds:
        return empty("Choose at least one kind of event.", "")
    df = Q.activity(monitor(), _filters(kinds, levels, component), SHOWN, tf)
    if df.empty:
        return empty(f"No events match in the last {tf}.")
    return html.Div([_row(r) for r in reversed(df.to_dict("records"))], id="act-rows")


@dash.callback(Output(ids.ACT_DOWNLOAD, "data"),
               Input(ids.ACT_DOWNLOAD_CSV, "n_clicks"), Input(ids.ACT_DOWNLOAD_JSON, "n_clicks"),
               State(ids.TIMEFRAME, "data"), State(ids.ACT_KIND, "value"), State(ids.ACT_LEVEL, "value"),
               State(ids.ACT_COMPONENT, "value"), prevent_initial_call=True)
def download(csv_clicks, json_clicks, tf, kinds, levels, component):
    """The filtered events of the timeframe as CSV or JSON (newest first)."""
    if not ctx.triggered_id or not (csv_clicks or json_clicks):
        raise PreventUpdate
    df = Q.activity(monitor(), _filters(kinds, levels, component), DOWNLOAD_MAX, tf)
    stamp = f"{utcnow():%Y%m%d-%H%M%S}"
    if ctx.triggered_id == ids.ACT_DOWNLOAD_CSV:
        safe = df.astype(object).map(lambda v: neutralise(v) if isinstance(v, str) else v)
        return dcc.send_data_frame(safe.to_csv, f"btrmon-activity-{tf}-{stamp}.csv", index=False)
    records = Q.records(df)
    return {"content": json.dumps({"timeframe": tf, "filters": _filters(kinds, levels, component),
                                   "events": records}, ensure_ascii=False, indent=2),
            "filename": f"btrmon-activity-{tf}-{stamp}.json", "type": "application/json"}
