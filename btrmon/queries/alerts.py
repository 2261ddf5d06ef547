"""Every SQL read of the alert engine: rule measurements, alerts, history, deliveries.

Rule measurements take a list of evaluation times ("ticks") and a window and return
one row ``(tick, component, value, sample)`` per tick (and component, for rules that
have one). The engine passes one tick (now); the preview passes every evaluation time
of the past days, so both run the same SQL and the preview matches evaluation.
A tick's window is ``[tick - window, tick)``; requests, error rate and conversion follow
the definitions in ``btrmon.queries.performance``, ``errors`` and ``journey``.

Functions take ``db``: a ``store.Database`` or a ``Monitor``.

Slow Response Time uses the **p95** of ``request_duration``: the seed's 5000 ms is a
user-facing limit, and p95 says "one request in twenty was slower than this" while the
average lets one huge outlier fire the alert on a quiet site, or many fast requests hide
a slow tail on a busy one. A minimum number of requests keeps p95 meaningful.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from btrmon.queries.base import database

Measurement = tuple[datetime, str, float | None, int]  # tick, component, value, sample

_TICKS = "ticks AS (SELECT unnest(?::TIMESTAMP[]) AS t)"
_IN_WINDOW = '{a}."timestamp" >= k.t - to_microseconds(?::BIGINT) AND {a}."timestamp" < k.t'
_ERROR_LEVELS = "('critical', 'error')"


def _window_us(window: timedelta) -> int:
    return int(window.total_seconds() * 1_000_000)


def _run(db, sql: str, ticks: list[datetime], window: timedelta, joins: int = 1) -> list[Measurement]:
    params: list = [list(ticks)] + [_window_us(window)] * joins
    return [(t, c or "", None if v is None else float(v), int(n or 0)) for t, c, v, n in database(db).query(sql, params)]


def error_rate(db, ticks: list[datetime], window: timedelta) -> list[Measurement]:
    """Failures (levels critical, error) per 100 requests; sample = requests."""
    sql = f"""WITH {_TICKS},
    req AS (SELECT k.t, count(m.event_id) AS n FROM ticks k LEFT JOIN metrics m
            ON m.metric_name = 'request_duration' AND {_IN_WINDOW.format(a='m')} GROUP BY k.t),
    err AS (SELECT k.t, count(e.event_id) AS n FROM ticks k LEFT JOIN errors e
            ON e.error_level IN {_ERROR_LEVELS} AND {_IN_WINDOW.format(a='e')}
            GROUP BY k.t)
    SELECT req.t, '', CASE WHEN req.n > 0 THEN 100.0 * err.n / req.n END, req.n
    FROM req JOIN err USING (t) ORDER BY req.t"""
    return _run(db, sql, ticks, window, joins=2)


def critical_errors(db, ticks: list[datetime], window: timedelta) -> list[Measurement]:
    """Critical errors per component; components without one have no row (value 0)."""
    sql = f"""WITH {_TICKS}
    SELECT k.t, coalesce(e.component, ''), count(*), count(*) FROM ticks k JOIN errors e
      ON e.error_level = 'critical' AND {_IN_WINDOW.format(a='e')}
    GROUP BY k.t, coalesce(e.component, '') ORDER BY 1, 2"""
    return _run(db, sql, ticks, window)


def response_time_p95(db, ticks: list[datetime], window: timedelta) -> list[Measurement]:
    """p95 of ``request_duration`` (ms); sample = requests."""
    sql = f"""WITH {_TICKS}
    SELECT k.t, '', quantile_cont(m.metric_value, 0.95), count(m.event_id) FROM ticks k LEFT JOIN metrics m
      ON m.metric_name = 'request_duration' AND {_IN_WINDOW.format(a='m')}
    GROUP BY k.t ORDER BY k.t"""
    return _run(db, sql, ticks, window)


def peak_memory_avg(db, ticks: list[datetime], window: timedelta) -> list[Measurement]:
    """Average of ``peak_memory`` (MB) over the window: sustained use, not one spike."""
    sql = f"""WITH {_TICKS}
    SELECT k.t, '', avg(m.metric_value), count(m.event_id) FROM ticks k LEFT JOIN metrics m
      ON m.metric_name = 'peak_memory' AND {_IN_WINDOW.format(a='m')}
    GROUP BY k.t ORDER BY k.t"""
    return _run(db, sql, ticks, window)


def _component_errors(component_sql: str):
    def query(db, ticks: list[datetime], window: timedelta) -> list[Measurement]:
        sql = f"""WITH {_TICKS}
        SELECT k.t, '', count(e.event_id), count(e.event_id) FROM ticks k LEFT JOIN errors e
          ON e.error_level IN {_ERROR_LEVELS} AND ({component_sql}) AND {_IN_WINDOW.format(a='e')}
        GROUP BY k.t ORDER BY k.t"""
        return _run(db, sql, ticks, window)

    return query


payment_failures = _component_errors("e.component ILIKE 'payment%' OR e.component ILIKE 'gateway%'")
payment_failures.__doc__ = "Errors (critical/error) of components payment* and gateway*."
calculator_errors = _component_errors("e.component ILIKE 'calculator%'")
calculator_errors.__doc__ = "Errors (critical/error) of components calculator*."


def database_unhealthy(db, ticks: list[datetime], window: timedelta) -> list[Measurement]:
    """Database health checks not ``healthy`` in the window; sample = database checks."""
    sql = f"""WITH {_TICKS}
    SELECT k.t, '', count(h.event_id) FILTER (WHERE h.status <> 'healthy'), count(h.event_id)
    FROM ticks k LEFT JOIN health h ON h.component = 'database' AND {_IN_WINDOW.format(a='h')}
    GROUP BY k.t ORDER BY k.t"""
    return _run(db, sql, ticks, window)


def conversion_rate(db, ticks: list[datetime], window: timedelta) -> list[Measurement]:
    """Sessions reaching stage ``conversion`` per 100 sessions; sample = sessions."""
    sql = f"""WITH {_TICKS}
    SELECT k.t, '',
      CASE WHEN count(DISTINCT j.session_id) > 0 THEN 100.0 *
        count(DISTINCT j.session_id) FILTER (WHERE j.journey_stage = 'conversion')
        / count(DISTINCT j.session_id) END,
      count(DISTINCT j.session_id)
    FROM ticks k LEFT JOIN journey j ON j.session_id IS NOT NULL AND {_IN_WINDOW.format(a='j')}
    GROUP BY k.t ORDER BY k.t"""
    return _run(db, sql, ticks, window)


# -- alerts -----------------------------------------------------------------------------
_ALERT_COLUMNS = """alert_id, rule_id, rule_name, component, state, severity, initial_severity, value,
    threshold, condition, window_minutes, message, opened_at, last_seen_at, severity_since,
    last_notified_at, acknowledged_at, acknowledged_by, ack_comment, resolved_at, resolved_by,
    resolve_notified, reopen_count"""


def _dicts(db, sql: str, params: list) -> list[dict]:
    cur = database(db).cursor().execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def open_alerts(db) -> list[dict]:
    """Alerts firing or acknowledged, most severe and newest first."""
    return _dicts(db, f"""SELECT {_ALERT_COLUMNS} FROM alerts WHERE state <> 'resolved'
        ORDER BY CASE severity WHEN 'emergency' THEN 0 WHEN 'critical' THEN 1 ELSE 2 END, opened_at DESC""", [])


def get_alert(db, alert_id: int) -> dict | None:
    """One alert by id, or None."""
    rows = _dicts(db, f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = ?", [alert_id])
    return rows[0] if rows else None


def latest_resolved(db, rule_id: str, component: str) -> dict | None:
    """The most recently resolved alert of a rule and component (flap damping)."""
    rows = _dicts(db, f"""SELECT {_ALERT_COLUMNS} FROM alerts WHERE state = 'resolved' AND rule_id = ?
        AND component = ? ORDER BY resolved_at DESC LIMIT 1""", [rule_id, component])
    return rows[0] if rows else None


def resolved_unnotified(db) -> list[dict]:
    """Resolved alerts whose "resolved" notification waits for the flap window to pass."""
    return _dicts(db, f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE state = 'resolved' AND NOT resolve_notified", [])


def alert_history(db, start: datetime, end: datetime, rule_id: str | None = None,
                  severity: str | None = None, state: str | None = None) -> pd.DataFrame:
    """Alerts opened in ``[start, end)`` (optionally one rule/severity/state), newest first."""
    sql = f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE opened_at >= ? AND opened_at < ?"
    params: list = [start, end]
    for column, value in (("rule_id", rule_id), ("severity", severity), ("state", state)):
        if value:
            sql += f" AND {column} = ?"
            params.append(value)
    return database(db).query_df(sql + " ORDER BY opened_at DESC", params)


def alerts_fired(db, start: datetime, end: datetime) -> int:
    """Number of alerts opened in ``[start, end)``."""
    return int(database(db).query("SELECT count(*) FROM alerts WHERE opened_at >= ? AND opened_at < ?", [start, end])[0][0])


def alert_events(db, alert_id: int | None = None, limit: int = 500) -> pd.DataFrame:
    """State changes, acknowledgements and rule errors (of one alert, or all), newest first."""
    sql = "SELECT id, alert_id, rule_id, occurred_at, event, from_state, to_state, severity, actor, comment, value FROM alert_events"
    params: list = []
    if alert_id is not None:
        sql += " WHERE alert_id = ?"
        params.append(alert_id)
    return database(db).query_df(sql + " ORDER BY occurred_at DESC, id DESC LIMIT ?", params + [limit])


def rule_errors(db, since: datetime) -> pd.DataFrame:
    """Rules that failed to evaluate since ``since``."""
    return database(db).query_df("""SELECT rule_id, occurred_at, comment FROM alert_events WHERE event = 'rule_error'
        AND occurred_at >= ? ORDER BY occurred_at DESC""", [since])


# -- deliveries ---------------------------------------------------------------------------
def deliveries(db, status: str | None = None, alert_id: int | None = None, limit: int = 200) -> pd.DataFrame:
    """Notification deliveries (optionally one status or alert), newest first."""
    sql = """SELECT delivery_id, alert_id, event, channel, target, status, attempts, last_status, last_error,
        created_at, updated_at, delivered_at FROM deliveries WHERE 1 = 1"""
    params: list = []
    if status:
        sql += " AND status = ?"
        params.append(status)
    if alert_id is not None:
        sql += " AND alert_id = ?"
        params.append(alert_id)
    return database(db).query_df(sql + " ORDER BY created_at DESC LIMIT ?", params + [limit])


def get_delivery(db, delivery_id: str) -> dict | None:
    """One delivery with its payload, or None."""
    rows = _dicts(db, "SELECT * FROM deliveries WHERE delivery_id = ?", [delivery_id])
    return rows[0] if rows else None


def delivery_attempts(db, delivery_id: str) -> list[dict]:
    """Every attempt of one delivery, in order."""
    return _dicts(db, "SELECT attempt, attempted_at, ok, status, error FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt",
                  [delivery_id])


def alert_events_between(db, start: datetime, end: datetime) -> pd.DataFrame:
    """Every state change, acknowledgement (who, comment) and rule error in ``[start, end)``, oldest first."""
    return database(db).query_df(
        "SELECT id, alert_id, rule_id, occurred_at, event, from_state, to_state, severity, actor, comment, value "
        "FROM alert_events WHERE occurred_at >= ? AND occurred_at < ? ORDER BY occurred_at, id", [start, end])


def delivery_attempts_between(db, start: datetime, end: datetime) -> pd.DataFrame:
    """Every notification delivery attempt in ``[start, end)`` with its delivery, oldest first."""
    return database(db).query_df(
        "SELECT a.delivery_id, d.alert_id, d.event, d.channel, d.status AS delivery_status, a.attempt, "
        "a.attempted_at, a.ok, a.status AS http_status, a.error "
        "FROM delivery_attempts a JOIN deliveries d USING (delivery_id) "
        "WHERE a.attempted_at >= ? AND a.attempted_at < ? ORDER BY a.attempted_at, a.attempt", [start, end])
