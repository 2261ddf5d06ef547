"""Shared page pieces: the controls bar, stat cards, panels, text-only tables, empty states.

Event text is always passed to Dash as plain strings (React escapes it); nothing
here uses markdown or ``dangerously_allow_html``.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Any, Callable, Iterable

import dash_bootstrap_components as dbc
import numpy as np
import pandas as pd
from dash import dcc, html
from dash.exceptions import PreventUpdate

from btrmon.dashboard import ids
from btrmon.queries import DEFAULT_TIMEFRAME, TIMEFRAMES

log = logging.getLogger(__name__)

SEND_HINT = ("Send events with POST /api/v1/events (API key from `python -m btrmon keys create`) "
             "or the Python API, e.g. monitor.record_metric('performance', 'request_duration', 120, 'ms').")


def timeframe_of(query: dict) -> str:
    """The ``tf`` query parameter when valid, else the default timeframe."""
    tf = query.get("tf")
    return tf if tf in TIMEFRAMES else DEFAULT_TIMEFRAME


def controls(path: str, tf: str, timeframes: bool = True) -> html.Div:
    """Timeframe links (``?tf=``), manual refresh, auto-refresh state and last update time."""
    links = dbc.ButtonGroup([
        dcc.Link(label, href=f"{path}?tf={label}", id=f"tf-{label}",
                 className="btn btn-sm " + ("btn-primary active" if label == tf else "btn-outline-primary"))
        for label in TIMEFRAMES
    ], id=ids.TIMEFRAME_LINKS) if timeframes else html.Span()
    return html.Div([
        dcc.Store(id=ids.TIMEFRAME, data=tf),
        links,
        dbc.Button("Refresh", id=ids.REFRESH_BUTTON, size="sm", color="secondary", outline=True,
                   className="ms-3", n_clicks=0),
        html.Span("auto refresh: live", id=ids.REFRESH_STATE, className="ms-3 small text-muted"),
        html.Span("", id=ids.LAST_UPDATED, className="ms-3 small text-muted"),
    ], className="controls d-flex align-items-center flex-wrap gap-1 mb-3")


def fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    """A number or time as short text ('-' for missing)."""
    if value is None or isinstance(value, (list, dict)):
        return "-" if value is None else str(value)
    try:
        if pd.isna(value):
            return "-"
    except (TypeError, ValueError):
        pass
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        text = f"{int(value):,}"
    elif isinstance(value, (float, np.floating)):
        text = f"{float(value):,.{digits}f}"
    else:
        return str(value)
    return f"{text} {unit}".strip()


def stat_card(title: str, value: str, sub: str = "", color: str | None = None, card_id: str | None = None) -> dbc.Card:
    """A headline number."""
    body = [html.Div(title, className="stat-title"), html.Div(value, className="stat-value")]
    if sub:
        body.append(html.Div(sub, className="stat-sub"))
    kwargs = {"id": card_id} if card_id else {}
    return dbc.Card(dbc.CardBody(body), className="stat-card", color=color, outline=bool(color), **kwargs)


def panel(title: str, body_id: str, extra: Any = None) -> dbc.Card:
    """A titled card whose body a callback fills (a loading spinner until then)."""
    header = [html.Span(title, className="fw-semibold")]
    if extra is not None:
        header.append(html.Div(extra, className="ms-auto"))
    return dbc.Card([
        dbc.CardHeader(header, className="d-flex align-items-center"),
        dbc.CardBody(dcc.Loading(html.Div(id=body_id), delay_show=400)),
    ], className="mb-3 panel")


def empty(message: str, hint: str = SEND_HINT) -> html.Div:
    """An empty state that says what to send."""
    return html.Div([html.P(message, className="mb-1"), html.P(hint, className="small text-muted mb-0")],
                    className="empty-state")


def panel_error(exc: Exception) -> dbc.Alert:
    """What a panel shows when its query fails."""
    return dbc.Alert(["This panel could not be loaded: ", html.Code(f"{type(exc).__name__}: {exc}")],
                     color="danger", className="panel-error mb-0")


def guarded(outputs: int = 1) -> Callable:
    """Decorator for a callback filling panels: an exception shows in those panels only."""

    def decorate(render: Callable) -> Callable:
        @functools.wraps(render)
        def wrapper(*args, **kwargs):
            try:
                return render(*args, **kwargs)
            except PreventUpdate:
                raise
            except Exception as exc:  # noqa: BLE001 - shown in the panel, logged
                log.exception("dashboard panel %s failed", render.__name__)
                return panel_error(exc) if outputs == 1 else [panel_error(exc)] * outputs

        return wrapper

    return decorate


def table(df: pd.DataFrame, columns: Iterable[tuple[str, str]], units: dict | None = None,
          extra: Callable[[dict], Any] | None = None, extra_title: str = "", row_class: Callable | None = None,
          table_id: str | None = None) -> dbc.Table:
    """A Bootstrap table of ``df``: ``columns`` are (column, header); every cell is text."""
    columns = list(columns)
    units = units or {}
    head = [html.Th(header) for _, header in columns] + ([html.Th(extra_title)] if extra else [])
    body = []
    for record in df.to_dict("records"):
        cells = [html.Td(fmt(record.get(col), units.get(col, ""))) for col, _ in columns]
        if extra:
            cells.append(html.Td(extra(record)))
        body.append(html.Tr(cells, className=row_class(record) if row_class else None))
    kwargs = {"id": table_id} if table_id else {}
    return dbc.Table([html.Thead(html.Tr(head)), html.Tbody(body)], size="sm", hover=True,
                     responsive=True, className="mb-0", **kwargs)


def graph(figure) -> dcc.Graph:
    """A Plotly figure without the mode bar's logo."""
    return dcc.Graph(figure=figure, config={"displaylogo": False, "responsive": True})


def monitor():
    """The monitor of the current request."""
    from btrmon.server import current_monitor

    return current_monitor()
