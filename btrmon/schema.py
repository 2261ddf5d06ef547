"""The database schema as an ordered list of migrations.

``SCHEMA_VERSION`` is the newest version. Opening a file of an older version runs
the missing migrations in order, each in its own transaction (see ``store.py``).
Timestamps are UTC, stored as ``TIMESTAMP`` (no time zone).

The four event tables keep the seed's columns and names ("Database Schema"),
plus ``event_id`` (a UUID, unique per table: a retried event is stored once) and,
for errors, a ``fingerprint`` grouping repeats of one error.
"""

from __future__ import annotations

EVENT_TABLES: tuple[str, ...] = ("metrics", "errors", "journey", "health")

# Column order of each event table as written by the writer (``id`` comes from a sequence).
COLUMNS: dict[str, tuple[str, ...]] = {
    "metrics": (
        "event_id", "session_id", "user_id", "metric_type", "metric_name", "metric_value",
        "metric_unit", "component", "request_uri", "user_agent", "metadata", "timestamp",
    ),
    "errors": (
        "event_id", "session_id", "user_id", "error_type", "error_level", "error_message",
        "error_file", "error_line", "stack_trace", "component", "request_uri", "user_agent",
        "resolved", "timestamp", "fingerprint",
    ),
    "journey": (
        "event_id", "session_id", "user_id", "journey_step", "journey_stage", "step_data",
        "conversion_funnel", "drop_off", "duration_ms", "request_uri", "referrer", "timestamp",
    ),
    "health": (
        "event_id", "component", "health_check", "status", "response_time_ms",
        "error_message", "metadata", "timestamp",
    ),
}

_V1 = [
    "CREATE SEQUENCE IF NOT EXISTS metrics_id_seq",
    "CREATE SEQUENCE IF NOT EXISTS errors_id_seq",
    "CREATE SEQUENCE IF NOT EXISTS journey_id_seq",
    "CREATE SEQUENCE IF NOT EXISTS health_id_seq",
    """CREATE TABLE IF NOT EXISTS metrics (
        id BIGINT DEFAULT nextval('metrics_id_seq'),
        event_id UUID PRIMARY KEY,
        session_id VARCHAR, user_id VARCHAR,
        metric_type VARCHAR NOT NULL, metric_name VARCHAR NOT NULL,
        metric_value DOUBLE NOT NULL, metric_unit VARCHAR, component VARCHAR,
        request_uri VARCHAR, user_agent VARCHAR, metadata JSON,
        "timestamp" TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS errors (
        id BIGINT DEFAULT nextval('errors_id_seq'),
        event_id UUID PRIMARY KEY,
        session_id VARCHAR, user_id VARCHAR,
        error_type VARCHAR NOT NULL, error_level VARCHAR NOT NULL, error_message VARCHAR NOT NULL,
        error_file VARCHAR, error_line INTEGER, stack_trace VARCHAR, component VARCHAR,
        request_uri VARCHAR, user_agent VARCHAR, resolved BOOLEAN NOT NULL DEFAULT false,
        "timestamp" TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS journey (
        id BIGINT DEFAULT nextval('journey_id_seq'),
        event_id UUID PRIMARY KEY,
        session_id VARCHAR, user_id VARCHAR,
        journey_step VARCHAR NOT NULL, journey_stage VARCHAR NOT NULL, step_data JSON,
        conversion_funnel VARCHAR, drop_off BOOLEAN NOT NULL DEFAULT false, duration_ms DOUBLE,
        request_uri VARCHAR, referrer VARCHAR, "timestamp" TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS health (
        id BIGINT DEFAULT nextval('health_id_seq'),
        event_id UUID PRIMARY KEY,
        component VARCHAR NOT NULL, health_check VARCHAR NOT NULL, status VARCHAR NOT NULL,
        response_time_ms DOUBLE, error_message VARCHAR, metadata JSON,
        "timestamp" TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS options (
        name VARCHAR PRIMARY KEY, value JSON NOT NULL, updated_at TIMESTAMP NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id VARCHAR PRIMARY KEY, name VARCHAR NOT NULL, key_hash VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP, last_used_at TIMESTAMP)""",
]

# v2: errors grouped by fingerprint (type + normalised message + file + line),
# resolution audit, and dashboard users.
_V2 = [
    "ALTER TABLE errors ADD COLUMN IF NOT EXISTS fingerprint VARCHAR",
    "ALTER TABLE errors ADD COLUMN IF NOT EXISTS resolved_at TIMESTAMP",
    "ALTER TABLE errors ADD COLUMN IF NOT EXISTS resolved_by VARCHAR",
    """CREATE TABLE IF NOT EXISTS users (
        username VARCHAR PRIMARY KEY, password_hash VARCHAR NOT NULL,
        role VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL)""",
]

# v3: the alert engine: alerts, their state changes, notification deliveries and attempts.
_V3 = [
    "CREATE SEQUENCE IF NOT EXISTS alerts_id_seq",
    "CREATE SEQUENCE IF NOT EXISTS alert_events_id_seq",
    "CREATE SEQUENCE IF NOT EXISTS delivery_attempts_id_seq",
    """CREATE TABLE IF NOT EXISTS alerts (
        alert_id BIGINT PRIMARY KEY DEFAULT nextval('alerts_id_seq'),
        rule_id VARCHAR NOT NULL, rule_name VARCHAR NOT NULL, component VARCHAR NOT NULL DEFAULT '',
        state VARCHAR NOT NULL, severity VARCHAR NOT NULL, initial_severity VARCHAR NOT NULL,
        value DOUBLE, threshold DOUBLE, condition VARCHAR, window_minutes DOUBLE, message VARCHAR,
        opened_at TIMESTAMP NOT NULL, last_seen_at TIMESTAMP NOT NULL, severity_since TIMESTAMP NOT NULL,
        last_notified_at TIMESTAMP, acknowledged_at TIMESTAMP, acknowledged_by VARCHAR, ack_comment VARCHAR,
        resolved_at TIMESTAMP, resolved_by VARCHAR, resolve_notified BOOLEAN NOT NULL DEFAULT false,
        reopen_count INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS alert_events (
        id BIGINT DEFAULT nextval('alert_events_id_seq'),
        alert_id BIGINT, rule_id VARCHAR NOT NULL, occurred_at TIMESTAMP NOT NULL, event VARCHAR NOT NULL,
        from_state VARCHAR, to_state VARCHAR, severity VARCHAR, actor VARCHAR, comment VARCHAR,
        value DOUBLE)""",
    """CREATE TABLE IF NOT EXISTS deliveries (
        delivery_id VARCHAR PRIMARY KEY, alert_id BIGINT, event VARCHAR NOT NULL,
        channel VARCHAR NOT NULL, target VARCHAR, status VARCHAR NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        last_status INTEGER, last_error VARCHAR, payload JSON NOT NULL,
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL, delivered_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS delivery_attempts (
        id BIGINT DEFAULT nextval('delivery_attempts_id_seq'),
        delivery_id VARCHAR NOT NULL, attempt INTEGER NOT NULL, attempted_at TIMESTAMP NOT NULL,
        ok BOOLEAN NOT NULL, status INTEGER, error VARCHAR)""",
]

# Append new migrations at the end; never edit one that has shipped.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (1, _V1),
    (2, _V2),
    (3, _V3),
]

SCHEMA_VERSION: int = MIGRATIONS[-1][0]
