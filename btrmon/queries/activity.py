"""Activity log: the newest events of every kind in one stream.

Each row: kind (metric, error, journey, health), timestamp, level (error level or
health status; None for metrics and journey steps), component, summary (one line of
text), request_uri, session_id, event_id. Newest first.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from btrmon.queries.base import Timeframe, check_limit, frame, resolve, rows

KINDS: tuple[str, ...] = ("metric", "error", "journey", "health")
ACTIVITY_FILTERS: tuple[str, ...] = ("kind", "level", "component")

_SELECTS: dict[str, tuple[str, str]] = {  # kind -> (table, select list)
    "metric": ("metrics", """SELECT 'metric' AS kind, "timestamp", NULL::VARCHAR AS level, component,
        metric_name || ' = ' || CAST(round(metric_value, 3) AS VARCHAR) || coalesce(' ' || metric_unit, '') AS summary,
        request_uri, session_id, CAST(event_id AS VARCHAR) AS event_id"""),
    "error": ("errors", """SELECT 'error' AS kind, "timestamp", error_level AS level, component,
        error_type || ': ' || error_message AS summary, request_uri, session_id,
        CAST(event_id AS VARCHAR) AS event_id"""),
    "journey": ("journey", """SELECT 'journey' AS kind, "timestamp", NULL::VARCHAR AS level, NULL::VARCHAR AS component,
        journey_stage || ' / ' || journey_step || coalesce(' (' || conversion_funnel || ')', '')
          || CASE WHEN drop_off THEN ' drop-off' ELSE '' END AS summary,
        request_uri, session_id, CAST(event_id AS VARCHAR) AS event_id"""),
    "health": ("health", """SELECT 'health' AS kind, "timestamp", status AS level, component,
        health_check || ': ' || status || coalesce(' - ' || error_message, '') AS summary,
        NULL::VARCHAR AS request_uri, NULL::VARCHAR AS session_id,
        CAST(event_id AS VARCHAR) AS event_id"""),
}
_INNER = {
    "metrics": '"timestamp", component, metric_name, metric_value, metric_unit, request_uri, session_id, event_id',
    "errors": '"timestamp", error_level, component, error_type, error_message, request_uri, session_id, event_id',
    "journey": '"timestamp", journey_stage, journey_step, conversion_funnel, drop_off, request_uri, session_id, event_id',
    "health": '"timestamp", status, component, health_check, error_message, event_id',
}
_LEVEL_COLUMN = {"metric": None, "error": "error_level", "journey": None, "health": "status"}
_COMPONENT_COLUMN = {"metric": "component", "error": "component", "journey": None, "health": "component"}
COLUMNS = ["kind", "timestamp", "level", "component", "summary", "request_uri", "session_id", "event_id"]


def _values(filters: dict, key: str) -> list:
    value = filters.get(key)
    if value is None or value == "" or value == []:
        return []
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


_PROBE_SPANS = (timedelta(minutes=5), timedelta(hours=1), timedelta(days=1))


def _newest_bound(db, table: str, clauses: list[str], args: list, limit: int):
    """A start time after which at least ``limit`` matching rows exist (None: no bound).

    DuckDB's Top-N over millions of rows is slow; narrowing to the newest few minutes
    or hours first (a max and a count or two, cheap) keeps the sort small.
    """
    where = " WHERE " + " AND ".join(clauses) if clauses else ""
    newest = rows(db, f'SELECT max("timestamp") FROM {table}{where}', args)[0][0]
    if newest is None:
        return None
    glue = " AND " if clauses else " WHERE "
    for span in _PROBE_SPANS:
        lower = newest - span
        if rows(db, f'SELECT count(*) FROM {table}{where}{glue}"timestamp" >= ?', [*args, lower])[0][0] >= limit:
            return lower
    return None


def activity(db, filters: dict | None = None, limit: int = 100, tf: Timeframe | None = None) -> pd.DataFrame:
    """The newest ``limit`` events of all kinds, filtered by kind, level and component
    (each a value or a list), optionally within timeframe ``tf``."""
    filters = dict(filters or {})
    for key in filters:
        if key not in ACTIVITY_FILTERS:
            raise ValueError(f"filter {key!r}: must be one of {', '.join(ACTIVITY_FILTERS)}")
    kinds = _values(filters, "kind") or list(KINDS)
    for kind in kinds:
        if kind not in KINDS:
            raise ValueError(f"filter 'kind': must be among {', '.join(KINDS)}")
    levels, components = _values(filters, "level"), _values(filters, "component")
    limit = check_limit(limit, 100_000)
    w = resolve(tf) if tf is not None else None
    parts, params = [], []
    for kind in kinds:
        clauses, args = [], []
        if w is not None:
            clauses.append('"timestamp" >= ? AND "timestamp" < ?')
            args += w.params
        for values, column in ((levels, _LEVEL_COLUMN[kind]), (components, _COMPONENT_COLUMN[kind])):
            if values:
                if column is None:
                    break
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                args += values
        else:
            table, select = _SELECTS[kind]
            lower = _newest_bound(db, table, clauses, args, limit)
            if lower is not None:
                clauses.append('"timestamp" >= ?')
                args.append(lower)
            where = " WHERE " + " AND ".join(clauses) if clauses else ""
            # Take the newest rows (few columns) first, then build their summary text.
            parts.append(f'({select} FROM (SELECT {_INNER[table]} FROM {table}{where} '
                         f'ORDER BY "timestamp" DESC LIMIT ?))')
            params += [*args, limit]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    sql = " UNION ALL ".join(parts) + ' ORDER BY "timestamp" DESC, kind LIMIT ?'
    df = frame(db, sql, [*params, limit])
    df.columns = COLUMNS
    return df
