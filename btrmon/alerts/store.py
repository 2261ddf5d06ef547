"""Writes of the alert engine: alerts, state changes, deliveries and attempts.

Every write runs in the writer thread (``monitor.writer.call``) in one transaction;
reads are in ``btrmon.queries.alerts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

_ALERT_FIELDS = (
    "rule_id", "rule_name", "component", "state", "severity", "initial_severity", "value", "threshold",
    "condition", "window_minutes", "message", "opened_at", "last_seen_at", "severity_since", "last_notified_at",
)
_UPDATABLE = {
    "state", "severity", "value", "threshold", "condition", "message", "last_seen_at", "severity_since",
    "last_notified_at", "acknowledged_at", "acknowledged_by", "ack_comment", "resolved_at", "resolved_by",
    "resolve_notified", "reopen_count",
}


def _insert_event(con, alert_id: int | None, rule_id: str, at: datetime, event: str, **fields: Any) -> None:
    con.execute(
        """INSERT INTO alert_events (alert_id, rule_id, occurred_at, event, from_state, to_state, severity, actor, comment, value)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [alert_id, rule_id, at, event, fields.get("from_state"), fields.get("to_state"), fields.get("severity"),
         fields.get("actor"), fields.get("comment"), fields.get("value")],
    )


def open_alert(writer, fields: dict, actor: str = "system") -> int:
    """Insert a new firing alert and its ``fired`` event; returns the alert id."""

    def write(con) -> int:
        placeholders = ", ".join("?" for _ in _ALERT_FIELDS)
        alert_id = con.execute(
            f"INSERT INTO alerts ({', '.join(_ALERT_FIELDS)}) VALUES ({placeholders}) RETURNING alert_id",
            [fields.get(f) for f in _ALERT_FIELDS],
        ).fetchall()[0][0]
        _insert_event(con, alert_id, fields["rule_id"], fields["opened_at"], "fired", to_state="firing",
                      severity=fields["severity"], actor=actor, value=fields.get("value"))
        return alert_id

    return writer.call(write)


_GUARDS = {None: "", "open": " AND state <> 'resolved'", "firing": " AND state = 'firing'"}


def update_alert(writer, alert: dict, changes: dict, event: str | None, at: datetime,
                 actor: str = "system", comment: str | None = None, guard: str | None = None) -> bool:
    """Apply ``changes`` to one alert and record ``event`` (if any) in the same transaction.

    ``guard`` ("open" or "firing") applies the change only while the stored alert is in
    that state (an admin may have acknowledged or resolved it meanwhile); returns whether
    it was applied.
    """
    unknown = set(changes) - _UPDATABLE
    if unknown:
        raise ValueError(f"alert: cannot change {', '.join(sorted(unknown))}")
    condition = _GUARDS[guard]

    def write(con) -> bool:
        if changes or condition:
            assignments = ", ".join(f"{name} = ?" for name in changes) or "state = state"
            updated = con.execute(f"UPDATE alerts SET {assignments} WHERE alert_id = ?{condition} RETURNING alert_id",
                                  [*changes.values(), alert["alert_id"]]).fetchall()
            if not updated:
                return False
        if event:
            _insert_event(con, alert["alert_id"], alert["rule_id"], at, event, from_state=alert["state"],
                          to_state=changes.get("state", alert["state"]),
                          severity=changes.get("severity", alert["severity"]), actor=actor, comment=comment,
                          value=changes.get("value", alert.get("value")))
        return True

    return writer.call(write)


def record_rule_error(writer, rule_id: str, at: datetime, message: str) -> None:
    """Store that a rule failed to evaluate (shown on the alerts page)."""
    writer.call(lambda con: _insert_event(con, None, rule_id, at, "rule_error", comment=message[:2000]))


def create_delivery(writer, delivery_id: str, alert_id: int | None, event: str, channel: str,
                    target: str, payload: dict, at: datetime) -> None:
    """Insert a pending delivery (its id is the idempotency key sent on every attempt)."""
    writer.call(lambda con: con.execute(
        """INSERT INTO deliveries (delivery_id, alert_id, event, channel, target, status, attempts, payload,
        created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)""",
        [delivery_id, alert_id, event, channel, target, orjson.dumps(payload, default=str).decode(), at, at],
    ))


def record_attempt(writer, delivery_id: str, attempt: int, at: datetime, ok: bool, status: int | None,
                   error: str | None, delivery_status: str) -> None:
    """Store one attempt and the delivery's new status (pending, delivered, dead)."""

    def write(con) -> None:
        con.execute(
            "INSERT INTO delivery_attempts (delivery_id, attempt, attempted_at, ok, status, error) VALUES (?, ?, ?, ?, ?, ?)",
            [delivery_id, attempt, at, ok, status, error],
        )
        con.execute(
            """UPDATE deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?, updated_at = ?,
            delivered_at = CASE WHEN ? THEN ? ELSE delivered_at END WHERE delivery_id = ?""",
            [delivery_status, attempt, status, error, at, ok, at, delivery_id],
        )

    writer.call(write)


def requeue_delivery(writer, delivery_id: str, at: datetime) -> bool:
    """Mark a dead letter pending again ("send again"); False when it is no longer dead (sent again meanwhile)."""
    return bool(writer.call(lambda con: con.execute(
        "UPDATE deliveries SET status = 'pending', updated_at = ? WHERE delivery_id = ? AND status = 'dead' "
        "RETURNING delivery_id", [at, delivery_id]).fetchall()))
