"""A per-panel export button: the panel's data as CSV (Excel-safe) or JSON through ``dcc.Download``.

Use in a page module::

    from btrmon.dashboard.export_button import export_button, register_panel_export
    from btrmon.queries import slowest_endpoints

    register_panel_export("perf-endpoints", lambda monitor, tf: slowest_endpoints(monitor.db, tf, limit=100))
    ...
    panel("Slowest endpoints", ids.PERF_ENDPOINTS, extra=export_button("perf-endpoints"))

The fetch function gets the monitor and the page's timeframe (the ``ids.TIMEFRAME``
store) and returns a DataFrame (or a list of dicts) through the query layer.
"""

from __future__ import annotations

import io
from typing import Callable

import dash
import dash_bootstrap_components as dbc
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from dash import Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from btrmon.dashboard import ids
from btrmon.exports.csv_export import BOM, EOL, safe_batch

_REGISTERED: set[str] = set()


def _button_id(panel: str, fmt: str) -> str:
    return f"{panel}-export-{fmt}"


def _download_id(panel: str) -> str:
    return f"{panel}-export-download"


def export_button(panel: str) -> html.Div:
    """A small 'Export' menu (CSV, JSON) and its download for panel ``panel``."""
    menu = dbc.DropdownMenu([
        dbc.DropdownMenuItem("CSV", id=_button_id(panel, "csv"), n_clicks=0),
        dbc.DropdownMenuItem("JSON", id=_button_id(panel, "json"), n_clicks=0),
    ], label="Export", size="sm", color="secondary", className="panel-export", align_end=True)
    return html.Div([menu, dcc.Download(id=_download_id(panel))], className="d-inline-block")


def frame_to_csv(df: pd.DataFrame) -> bytes:
    """A DataFrame as Excel-compatible CSV (BOM, CRLF, formula cells neutralised)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    if table.num_rows:
        table = pa.Table.from_batches([safe_batch(b) for b in table.to_batches()])
    buf = io.BytesIO()
    buf.write(BOM)
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=True, eol=EOL, quoting_style="needed"))
    return buf.getvalue()


def frame_to_json(df: pd.DataFrame) -> bytes:
    """A DataFrame as a pretty JSON array of objects (Unicode kept)."""
    records = df.astype(object).where(df.notna(), None).to_dict("records")
    return orjson.dumps(records, default=_plain, option=orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC)


def _plain(value):
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def register_panel_export(panel: str, fetch: Callable[[object, str], object], name: str | None = None) -> None:
    """Register the download callback of panel ``panel`` (once; call at a page module's import)."""
    if panel in _REGISTERED:
        return
    _REGISTERED.add(panel)
    base = name or panel

    @dash.callback(
        Output(_download_id(panel), "data"),
        Input(_button_id(panel, "csv"), "n_clicks"), Input(_button_id(panel, "json"), "n_clicks"),
        State(ids.TIMEFRAME, "data"),
        prevent_initial_call=True,
    )
    def download(csv_clicks, json_clicks, timeframe):
        if not ctx.triggered_id:
            raise PreventUpdate
        from btrmon.server import current_monitor

        fmt = "csv" if ctx.triggered_id == _button_id(panel, "csv") else "json"
        tf = timeframe or "24h"
        result = fetch(current_monitor(), tf)
        df = result if isinstance(result, pd.DataFrame) else pd.DataFrame(result)
        content = frame_to_csv(df) if fmt == "csv" else frame_to_json(df)
        return dcc.send_bytes(content, f"btrmon-{base}-{tf}.{fmt}")

    download.__name__ = f"download_{panel.replace('-', '_')}"
