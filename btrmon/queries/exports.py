"""Raw-row reads for exports: time windows, filters, counts and chunked streaming.

Everything here is read-only SQL with bound parameters. Rows are streamed as
Arrow record batches (``relation.to_arrow_reader``) so an export of 10M rows
never holds more than one batch in memory. Rows come in storage order, which is
time order (the writer appends events as they arrive); no ORDER BY, because
sorting 10M rows would need them all at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterator, Mapping

import duckdb
import pyarrow as pa

from btrmon.schema import COLUMNS

# filter name -> {table: column}; a filter applies to the tables that have the column.
FILTER_COLUMNS: dict[str, dict[str, str]] = {
    "component": {"metrics": "component", "errors": "component", "health": "component"},
    "metric_type": {"metrics": "metric_type"},
    "metric_name": {"metrics": "metric_name"},
    "level": {"errors": "error_level"},
    "error_type": {"errors": "error_type"},
    "funnel": {"journey": "conversion_funnel"},
    "stage": {"journey": "journey_stage"},
    "status": {"health": "status"},
}

# Export columns: the seed's columns plus the ids and the error audit columns.
EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "metrics": ("id",) + COLUMNS["metrics"],
    "errors": ("id",) + COLUMNS["errors"] + ("resolved_at", "resolved_by"),
    "journey": ("id",) + COLUMNS["journey"],
    "health": ("id",) + COLUMNS["health"],
}
JSON_COLUMNS: frozenset[str] = frozenset({"metadata", "step_data"})

DEFAULT_BATCH_ROWS = 50_000


def resolve_window(timeframe: str | None, start=None, end=None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The ``[start, end)`` window of a timeframe ('1h', '6h', '24h', '7d') or a custom range.

    Same rules as the dashboard (``queries.base.resolve``). A custom ``start``
    (with optional ``end``, default now) wins over ``timeframe``. Raises
    ValueError naming the bad field.
    """
    from btrmon.queries.base import resolve
    from btrmon.store import utcnow

    if start or end:
        if not start:
            raise ValueError("start: required when end is given")
        window = resolve((start, end or now or utcnow()))
    else:
        window = resolve(timeframe or "24h", now)
    return window.start, window.end


def check_filters(filters: Mapping[str, object]) -> dict[str, list[str]]:
    """Validate filters: known names, string values; returns name -> list of values."""
    clean: dict[str, list[str]] = {}
    for name, value in filters.items():
        if name not in FILTER_COLUMNS:
            raise ValueError(f"{name}: unknown filter (known: {', '.join(FILTER_COLUMNS)})")
        values = value if isinstance(value, (list, tuple)) else [value]
        values = [str(v) for v in values if v not in (None, "")]
        if any(len(v) > 200 for v in values):
            raise ValueError(f"{name}: value longer than 200 characters")
        if values:
            clean[name] = values
    return clean


def _where(table: str, start: datetime, end: datetime, filters: Mapping[str, list[str]]) -> tuple[str, list]:
    clauses, params = ['"timestamp" >= ?', '"timestamp" < ?'], [start, end]
    for name, values in filters.items():
        column = FILTER_COLUMNS[name].get(table)
        if column:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    return " AND ".join(clauses), params


def _select_list(table: str) -> str:
    # UUID and JSON arrive as text; "timestamp" is a keyword-ish name, so quote it.
    return ", ".join(f'"{c}"::VARCHAR AS "{c}"' if c == "event_id" else f'"{c}"' for c in EXPORT_COLUMNS[table])


def count_rows(cur: duckdb.DuckDBPyConnection, table: str, start: datetime, end: datetime,
               filters: Mapping[str, list[str]]) -> int:
    """How many rows of ``table`` fall in the window and match the filters."""
    where, params = _where(table, start, end, filters)
    return int(cur.execute(f"SELECT count(*) FROM {table} WHERE {where}", params).fetchall()[0][0])


def stream_rows(cur: duckdb.DuckDBPyConnection, table: str, start: datetime, end: datetime,
                filters: Mapping[str, list[str]], batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """The rows of ``table`` in the window as Arrow record batches of at most ``batch_rows``."""
    if table not in EXPORT_COLUMNS:
        raise ValueError(f"table: unknown table {table!r}")
    where, params = _where(table, start, end, filters)
    reader = cur.sql(f"SELECT {_select_list(table)} FROM {table} WHERE {where}", params=params).to_arrow_reader(batch_rows)
    yield from reader


def table_schema(cur: duckdb.DuckDBPyConnection, table: str) -> pa.Schema:
    """The Arrow schema of ``stream_rows`` for ``table`` (for writing an empty section)."""
    return cur.sql(f"SELECT {_select_list(table)} FROM {table} LIMIT 0").to_arrow_table().schema


def health_by_component(cur: duckdb.DuckDBPyConnection, start: datetime, end: datetime):
    """Health checks per component in the window: checks, healthy, warning, critical, avg/max response ms,
    last_status, last_check (a DataFrame)."""
    return cur.execute("""
        SELECT component, count(*) AS checks,
               count(*) FILTER (WHERE status = 'healthy') AS healthy,
               count(*) FILTER (WHERE status = 'warning') AS warning,
               count(*) FILTER (WHERE status = 'critical') AS critical,
               round(avg(response_time_ms), 1) AS avg_response_ms,
               round(max(response_time_ms), 1) AS max_response_ms,
               arg_max(status, "timestamp") AS last_status, max("timestamp") AS last_check
        FROM health WHERE "timestamp" >= ? AND "timestamp" < ?
        GROUP BY component ORDER BY component""", [start, end]).df()
