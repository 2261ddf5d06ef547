"""Errors panel: error rate, critical count, trends, fingerprint groups, recent errors.

Definitions (alerts and exports rely on them):

- ``errors`` counts every ``errors`` row in the window (all levels);
- ``failures`` counts the rows of levels ``RATE_LEVELS`` (critical, error);
- ``error_rate_pct`` = 100 * failures / requests, with *requests* as in
  ``performance`` (``request_duration`` rows); None when there were no requests;
- ``critical`` counts rows of level critical; ``unresolved`` rows not resolved;
- a *group* is all rows of one ``fingerprint`` (type + normalised message + file + line).

Filters (``filters`` dicts) accept the keys of ``ERROR_FILTERS``: level, type,
component, resolved (bool), fingerprint; a value may be a list.
"""

from __future__ import annotations

import pandas as pd

from btrmon.models import ERROR_LEVELS
from btrmon.queries.base import Timeframe, check_limit, clean, frame, order_by, resolve, rows, where_filters

RATE_LEVELS: tuple[str, ...] = ("critical", "error")
ERROR_FILTERS = {
    "level": "error_level", "type": "error_type", "component": "component",
    "resolved": "resolved", "fingerprint": "fingerprint",
}
GROUP_SORTS = {"count": "count", "last_seen": "last_seen", "first_seen": "first_seen"}
_WINDOW = '"timestamp" >= ? AND "timestamp" < ?'


def error_summary(db, tf: Timeframe) -> dict:
    """errors, failures, requests, error_rate_pct, critical, unresolved, groups, by_level."""
    w = resolve(tf)
    (requests,) = rows(db, f"""
        SELECT count(*) FROM metrics WHERE metric_name = 'request_duration' AND {_WINDOW}""",
        w.params)[0]
    return error_summary_of(db, w, requests)


def error_summary_of(db, w, requests: int) -> dict:
    """``error_summary`` of the resolved window ``w`` with its request count already known
    (``dashboard_metrics`` takes it from ``performance_summary``: one scan less)."""
    level_counts = dict(rows(db, f"""
        SELECT error_level, count(*) FROM errors WHERE {_WINDOW} GROUP BY 1""", w.params))
    (stats,) = rows(db, f"""
        SELECT count(*) FILTER (WHERE NOT resolved), count(DISTINCT fingerprint)
        FROM errors WHERE {_WINDOW}""", w.params)
    errors = sum(level_counts.values())
    failures = sum(level_counts.get(level, 0) for level in RATE_LEVELS)
    return {
        "errors": errors,
        "failures": failures,
        "requests": requests,
        "error_rate_pct": clean(100.0 * failures / requests) if requests else None,
        "critical": level_counts.get("critical", 0),
        "unresolved": stats[0],
        "groups": stats[1],
        "by_level": {level: level_counts.get(level, 0) for level in ERROR_LEVELS},
    }


def error_trends(db, tf: Timeframe, by: str = "level") -> pd.DataFrame:
    """Errors per time bucket and level (or type): bucket, key, count."""
    column = {"level": "error_level", "type": "error_type"}.get(by)
    if column is None:
        raise ValueError("by: must be 'level' or 'type'")
    w = resolve(tf)
    sql = f"""
        SELECT time_bucket(to_seconds(?), "timestamp") AS bucket, {column} AS key, count(*) AS count
        FROM errors WHERE {_WINDOW} GROUP BY 1, 2 ORDER BY 1, 2"""
    return frame(db, sql, [w.bucket_seconds, *w.params])


def error_groups(db, tf: Timeframe, filters: dict | None = None, limit: int = 50,
                 sort: str = "count") -> pd.DataFrame:
    """Errors grouped by fingerprint: fingerprint, error_type, error_level (worst),
    error_message (latest), error_file, error_line, component, count, unresolved,
    first_seen, last_seen. Sorted by ``sort`` (count, last_seen, first_seen)."""
    w = resolve(tf)
    extra, params = where_filters(filters, ERROR_FILTERS)
    sql = f"""
        SELECT fingerprint, any_value(error_type) AS error_type,
               CASE min(CASE error_level WHEN 'critical' THEN 0 WHEN 'error' THEN 1
                                         WHEN 'warning' THEN 2 ELSE 3 END)
                 WHEN 0 THEN 'critical' WHEN 1 THEN 'error' WHEN 2 THEN 'warning' ELSE 'notice'
               END AS error_level,
               arg_max(error_message, "timestamp") AS error_message,
               any_value(error_file) AS error_file, any_value(error_line) AS error_line,
               arg_max(component, "timestamp") AS component,
               count(*) AS count, count(*) FILTER (WHERE NOT resolved) AS unresolved,
               min("timestamp") AS first_seen, max("timestamp") AS last_seen
        FROM errors WHERE {_WINDOW}{extra}
        GROUP BY fingerprint
        ORDER BY {order_by(sort, GROUP_SORTS, 'count')}, fingerprint LIMIT ?"""
    return frame(db, sql, [*w.params, *params, check_limit(limit)])


def recent_errors(db, tf: Timeframe, filters: dict | None = None, limit: int = 50) -> pd.DataFrame:
    """Newest errors first: event_id, timestamp, error_level, error_type, error_message,
    error_file, error_line, component, request_uri, resolved, fingerprint (no stack trace)."""
    w = resolve(tf)
    extra, params = where_filters(filters, ERROR_FILTERS)
    sql = f"""
        SELECT CAST(event_id AS VARCHAR) AS event_id, "timestamp", error_level, error_type,
               error_message, error_file, error_line, component, request_uri, resolved, fingerprint
        FROM errors WHERE {_WINDOW}{extra}
        ORDER BY "timestamp" DESC, id DESC LIMIT ?"""
    return frame(db, sql, [*w.params, *params, check_limit(limit)])


def error_detail(db, event_id: str) -> dict | None:
    """Every column of one error (with stack_trace), or None when it does not exist."""
    try:
        import uuid

        event_id = str(uuid.UUID(str(event_id)))
    except ValueError:
        return None
    df = frame(db, """
        SELECT CAST(event_id AS VARCHAR) AS event_id, "timestamp", session_id, user_id,
               error_type, error_level, error_message, error_file, error_line, stack_trace,
               component, request_uri, user_agent, resolved, resolved_at, resolved_by, fingerprint
        FROM errors WHERE event_id = ?""", [event_id])
    if df.empty:
        return None
    return {k: clean(v) for k, v in df.iloc[0].items()}
