"""Exports page: the whole report or data export of a timeframe as PDF, CSV, zip or JSON.

The export runs in a background thread (``exports.jobs``); an Interval polls its
progress and the finished file arrives through ``dcc.Download``.
"""

from __future__ import annotations

import os

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, dcc, html, no_update

from btrmon.exports.data import SECTION_TITLES, SECTIONS, ExportRequest
from btrmon.exports.jobs import export_jobs
from btrmon.models import ERROR_LEVELS, FUNNELS
from btrmon.server import current_monitor

dash.register_page(__name__, path="/exports", name="Exports", order=90)

# component ids of this page (kept here: no other module uses them)
FORMAT, TIMEFRAME, START, END = "exp-format", "exp-timeframe", "exp-start", "exp-end"
LEVEL, COMPONENT, FUNNEL, SECTIONS_ID = "exp-level", "exp-component", "exp-funnel", "exp-sections"
GENERATE, JOB, POLL, PROGRESS, MESSAGE, DOWNLOAD = ("exp-generate", "exp-job", "exp-poll", "exp-progress",
                                                     "exp-message", "exp-download")
MAX_BROWSER_BYTES = 100 * 1024 * 1024  # larger files: CLI or HTTP API (a browser download is held in memory)

_FORMATS = [{"label": "PDF report", "value": "pdf"}, {"label": "CSV (one file, sections)", "value": "csv"},
            {"label": "CSV per section (zip)", "value": "zip"}, {"label": "JSON", "value": "json"}]
_TIMEFRAMES = [{"label": t, "value": t} for t in ("1h", "6h", "24h", "7d")] + [{"label": "custom", "value": "custom"}]


def _field(label: str, control, width: int = 3) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="small fw-semibold"), control], md=width, className="mb-3")


def layout(**query):
    """The export form, the progress bar and the download."""
    return dbc.Container([
        html.H3("Exports", className="mt-3"),
        html.P("A PDF report for managers, or the raw data of a timeframe (metrics, errors with stack traces, "
               "journey steps and funnels, health and alert history) as CSV or JSON.", className="text-muted"),
        dbc.Row([
            _field("Format", dbc.RadioItems(id=FORMAT, options=_FORMATS, value="pdf")),
            _field("Timeframe", dcc.Dropdown(id=TIMEFRAME, options=_TIMEFRAMES, value=query.get("tf", "24h"),
                                             clearable=False)),
            _field("Custom start (UTC)", dbc.Input(id=START, type="datetime-local")),
            _field("Custom end (UTC)", dbc.Input(id=END, type="datetime-local")),
        ]),
        dbc.Row([
            _field("Error levels", dcc.Dropdown(id=LEVEL, options=list(ERROR_LEVELS), multi=True,
                                                placeholder="all levels")),
            _field("Components", dbc.Input(id=COMPONENT, placeholder="e.g. payment, checkout")),
            _field("Funnels", dcc.Dropdown(id=FUNNEL, options=list(FUNNELS), multi=True, placeholder="all funnels")),
            _field("Sections (data exports)", dcc.Dropdown(
                id=SECTIONS_ID, options=[{"label": SECTION_TITLES[s], "value": s} for s in SECTIONS],
                value=list(SECTIONS), multi=True)),
        ]),
        dbc.Button("Generate export", id=GENERATE, color="primary", n_clicks=0),
        html.Div(id=MESSAGE, className="mt-3"),
        dbc.Progress(id=PROGRESS, value=0, striped=True, animated=True, className="mt-2", style={"height": "1.4rem"}),
        dcc.Store(id=JOB),
        dcc.Interval(id=POLL, interval=700, disabled=True),
        dcc.Download(id=DOWNLOAD),
    ], fluid=True)


def request_from_form(timeframe, start, end, levels, components, funnels, sections, user: str) -> ExportRequest:
    """An ``ExportRequest`` from the form values (validated when the export starts)."""
    filters = {}
    if levels:
        filters["level"] = list(levels)
    if components:
        filters["component"] = [c.strip() for c in components.split(",") if c.strip()]
    if funnels:
        filters["funnel"] = list(funnels)
    custom = timeframe == "custom"
    if custom and not start:
        raise ValueError("start: choose a custom start (or a timeframe)")
    return ExportRequest(timeframe=None if custom else timeframe, start=start if custom else None,
                         end=(end or None) if custom else None, filters=filters,
                         sections=tuple(sections or SECTIONS), requested_by=user)


def _user() -> str:
    try:
        from btrmon.dashboard.auth import current_user

        user = current_user()
        return f"dashboard {user['username']}" if user else "dashboard"
    except Exception:  # noqa: BLE001 - login not installed
        return "dashboard"


@dash.callback(
    Output(JOB, "data"), Output(POLL, "disabled"), Output(MESSAGE, "children"), Output(PROGRESS, "value"),
    Input(GENERATE, "n_clicks"),
    State(FORMAT, "value"), State(TIMEFRAME, "value"), State(START, "value"), State(END, "value"),
    State(LEVEL, "value"), State(COMPONENT, "value"), State(FUNNEL, "value"), State(SECTIONS_ID, "value"),
    prevent_initial_call=True,
)
def start_export(_, fmt, timeframe, start, end, levels, components, funnels, sections):
    """Start a background export; a bad field is reported by name."""
    try:
        request = request_from_form(timeframe, start, end, levels, components, funnels, sections, _user())
        job_id = export_jobs(current_monitor()).start(request, fmt)
    except ValueError as exc:
        return None, True, dbc.Alert(str(exc), color="danger", className="export-error"), 0
    return job_id, False, dbc.Alert("Export started…", color="info"), 0


@dash.callback(
    Output(PROGRESS, "value", allow_duplicate=True), Output(PROGRESS, "label"),
    Output(DOWNLOAD, "data"), Output(POLL, "disabled", allow_duplicate=True),
    Output(MESSAGE, "children", allow_duplicate=True),
    Input(POLL, "n_intervals"), State(JOB, "data"),
    prevent_initial_call=True,
)
def poll_export(_, job_id):
    """Show the progress; send the file when the export is done."""
    jobs = export_jobs(current_monitor())
    status = jobs.status(job_id) if job_id else None
    if status is None:
        return 0, "", no_update, True, no_update
    if status["state"] == "running":
        pct = int(100 * status["done"] / status["total"]) if status["total"] else 0
        return pct, f"{pct}%", no_update, False, no_update
    if status["state"] == "failed":
        jobs.forget(job_id)
        return 0, "", no_update, True, dbc.Alert(f"The export failed: {status['error']}", color="danger")
    path, name = jobs.file_of(job_id)
    note = f" {status['note']}" if status["note"] else ""
    if os.path.getsize(path) > MAX_BROWSER_BYTES:
        jobs.forget(job_id)
        return 100, "100%", no_update, True, dbc.Alert(
            f"The export is {status['size'] / 2**20:,.0f} MB, too large for a browser download. Use "
            f"`python -m btrmon export --format {status['fmt']} ...` or GET /api/v1/export.", color="warning")
    download = dcc.send_file(path, filename=name)
    jobs.forget(job_id)
    return 100, "100%", download, True, dbc.Alert(f"{name} ({status['size']:,} bytes) is ready.{note}",
                                                   color="success", className="export-done")
