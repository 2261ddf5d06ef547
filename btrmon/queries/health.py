"""System health panel: latest status per component, response times, check history.

Definitions: a component's *status* is the worst status (critical > warning >
healthy) among the latest result of each of its checks (``health_check``); the
*overall* status is the worst component status ('unknown' when nothing reported).
"""

from __future__ import annotations

import pandas as pd

from btrmon.queries.base import Timeframe, check_limit, frame, resolve, where_filters

SEVERITY: dict[str, int] = {"healthy": 0, "warning": 1, "critical": 2}
HEALTH_FILTERS = {"component": "component", "status": "status", "health_check": "health_check"}
_WORST = """CASE max(CASE status WHEN 'critical' THEN 2 WHEN 'warning' THEN 1 ELSE 0 END)
              WHEN 2 THEN 'critical' WHEN 1 THEN 'warning' ELSE 'healthy' END"""


def health_latest(db) -> pd.DataFrame:
    """The latest result of every (component, health_check): component, health_check,
    status, response_time_ms, error_message, timestamp. Sorted by component."""
    return frame(db, """
        SELECT component, health_check,
               arg_max(status, "timestamp") AS status,
               arg_max(response_time_ms, "timestamp") AS response_time_ms,
               arg_max(error_message, "timestamp") AS error_message,
               max("timestamp") AS "timestamp"
        FROM health GROUP BY component, health_check ORDER BY component, health_check""", [])


def component_status(db) -> pd.DataFrame:
    """One row per component: component, status (worst latest check), checks, last_check."""
    return frame(db, f"""
        WITH latest AS (
            SELECT component, health_check, arg_max(status, "timestamp") AS status, max("timestamp") AS ts
            FROM health GROUP BY component, health_check)
        SELECT component, {_WORST} AS status, count(*) AS checks, max(ts) AS last_check
        FROM latest GROUP BY component ORDER BY component""", [])


def health_summary(db) -> dict:
    """overall status, components count and count per status (of component statuses)."""
    return health_summary_of(component_status(db))


def health_summary_of(status: pd.DataFrame) -> dict:
    """``health_summary`` of a ``component_status`` result (the overview already has one)."""
    counts = {s: int((status["status"] == s).sum()) for s in SEVERITY}
    if status.empty:
        overall = "unknown"
    else:
        overall = max(status["status"], key=lambda s: SEVERITY.get(s, 0))
    return {"overall": overall, "components": len(status), **counts}


def health_series(db, tf: Timeframe) -> pd.DataFrame:
    """Per time bucket and component: bucket, component, checks, avg_response_ms, status (worst)."""
    w = resolve(tf)
    return frame(db, f"""
        SELECT time_bucket(to_seconds(?), "timestamp") AS bucket, component, count(*) AS checks,
               avg(response_time_ms) AS avg_response_ms, {_WORST} AS status
        FROM health WHERE "timestamp" >= ? AND "timestamp" < ?
        GROUP BY 1, 2 ORDER BY 1, 2""", [w.bucket_seconds, *w.params])


def health_history(db, tf: Timeframe, filters: dict | None = None, limit: int = 200) -> pd.DataFrame:
    """Check results newest first: timestamp, component, health_check, status,
    response_time_ms, error_message. Filters: component, status, health_check."""
    w = resolve(tf)
    extra, params = where_filters(filters, HEALTH_FILTERS)
    return frame(db, f"""
        SELECT "timestamp", component, health_check, status, response_time_ms, error_message
        FROM health WHERE "timestamp" >= ? AND "timestamp" < ?{extra}
        ORDER BY "timestamp" DESC, id DESC LIMIT ?""", [*w.params, *params, check_limit(limit)])
