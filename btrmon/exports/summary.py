"""The report's figures, read through the query layer (the same numbers as the dashboard).

Each figure comes from the ``btrmon.queries`` function that defines it
(``performance_summary``, ``error_summary``, ``conversion_rates``...). A part
of the query layer that is not there (an optional feature, an older tree) leaves
its figure as None instead of failing the report.
"""

from __future__ import annotations

import importlib
import logging
from datetime import datetime
from typing import Callable

import duckdb
import pandas as pd

from btrmon.queries import exports as export_queries

log = logging.getLogger(__name__)

def query_function(module: str, name: str) -> Callable | None:
    """``btrmon.queries.<module>.<name>`` or None when that part is not present."""
    try:
        return getattr(importlib.import_module(f"btrmon.queries.{module}"), name, None)
    except ImportError:
        return None


def call_query(module: str, name: str, *args, default=None, **kwargs):
    """``btrmon.queries.<module>.<name>(*args, **kwargs)``; ``default`` when absent or its table is missing."""
    fn = query_function(module, name)
    if fn is None:
        return default
    try:
        return fn(*args, **kwargs)
    except duckdb.CatalogException:  # a table of an optional feature not created yet
        return default


def conversion_rates(monitor, start: datetime, end: datetime) -> pd.DataFrame:
    """Per funnel: funnel, sessions, converted, rate_pct (``queries.journey.conversion_rates``)."""
    return call_query("journey", "conversion_rates", monitor.db, (start, end), default=pd.DataFrame(
        columns=["funnel", "sessions", "converted", "rate_pct"]))


def funnel_steps(monitor, start: datetime, end: datetime, rates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Steps of every funnel with sessions: funnel, step, stage, sessions, rate_pct, step_rate_pct.

    One ``queries.journey.funnel`` per funnel of ``rates`` (``conversion_rates``,
    queried when not given): the dashboard's definition.
    """
    rates = conversion_rates(monitor, start, end) if rates is None else rates
    frames = []
    for name, sessions in zip(rates["funnel"], rates["sessions"]):
        if sessions:
            steps = call_query("journey", "funnel", monitor.db, (start, end), name)
            if steps is not None and not steps.empty:
                frames.append(steps.assign(funnel=name))
    columns = ["funnel", "step", "stage", "sessions", "rate_pct", "step_rate_pct"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def conversion_by_funnel(rates: pd.DataFrame) -> dict:
    """Conversion rate (%) per funnel of a ``conversion_rates`` frame, None for a funnel without sessions."""
    return {str(k): _num(v) for k, v in zip(rates["funnel"], rates["rate_pct"])}


def health_status(monitor) -> dict:
    """Overall status (worst component) and each component's current status (``queries.health``)."""
    summary = call_query("health", "health_summary", monitor.db, default={}) or {}
    status = call_query("health", "component_status", monitor.db)
    components = {}
    if isinstance(status, pd.DataFrame) and not status.empty:
        components = dict(zip(status["component"].astype(str), status["status"].astype(str)))
    return {"overall": summary.get("overall", "unknown"), "components": components}


def executive_summary(monitor, start: datetime, end: datetime, rates: pd.DataFrame | None = None) -> dict:
    """The headline figures of a report for ``[start, end)``.

    requests, avg_response_ms, p95_response_ms, errors, error_rate_pct,
    critical_errors, conversion_by_funnel, health, alerts_fired. Figures are
    for the whole site (filters narrow the exported rows, not the headline).
    ``rates`` is a ``conversion_rates`` frame already read for this window.
    """
    rates = conversion_rates(monitor, start, end) if rates is None else rates
    window = (start, end)
    perf = call_query("performance", "performance_summary", monitor.db, window, default={}) or {}
    errs = call_query("errors", "error_summary", monitor.db, window, default={}) or {}
    fired = call_query("alerts", "alerts_fired", monitor.db, start, end)
    return {
        "requests": perf.get("requests"),
        "avg_response_ms": perf.get("avg_ms"),
        "p95_response_ms": perf.get("p95_ms"),
        "errors": errs.get("errors"),
        "error_rate_pct": errs.get("error_rate_pct"),
        "critical_errors": errs.get("critical"),
        "conversion_by_funnel": conversion_by_funnel(rates),
        "health": health_status(monitor),
        "alerts_fired": fired,
    }


def report_tables(monitor, start: datetime, end: datetime, limit: int = 10,
                  known: dict[str, pd.DataFrame] | None = None) -> dict[str, pd.DataFrame]:
    """The detail tables and chart series of the PDF report, from the query layer.

    ``known`` holds frames already read for this window (conversion_rates, funnel_steps).
    """
    known = known or {}
    rates = known.get("conversion_rates")
    rates = conversion_rates(monitor, start, end) if rates is None else rates
    steps = known.get("funnel_steps")
    window = (start, end)
    empty = pd.DataFrame()
    tables = {
        "top_errors": call_query("errors", "error_groups", monitor.db, window, limit=limit, default=empty),
        "slowest_endpoints": call_query("performance", "slowest_endpoints", monitor.db, window, limit=limit, default=empty),
        "components": call_query("performance", "component_durations", monitor.db, window, default=empty),
        "response_series": call_query("performance", "response_time_series", monitor.db, window, default=empty),
        "error_trends": call_query("errors", "error_trends", monitor.db, window, default=empty),
        "conversion_rates": rates,
        "funnel_steps": funnel_steps(monitor, start, end, rates) if steps is None else steps,
        "health_series": call_query("health", "health_series", monitor.db, window, default=empty),
        "health_history": export_queries.health_by_component(monitor.db.cursor(), start, end),
    }
    return {name: (df if isinstance(df, pd.DataFrame) else pd.DataFrame(df)) for name, df in tables.items()}


def _num(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else round(number, 2)
