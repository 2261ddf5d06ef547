"""The alert engine: evaluates every rule, keeps one open alert per rule and component.

Lifecycle: firing -> acknowledged -> resolved. While an alert stays open no new
notification is sent, except a reminder every ``btrmon_alert_repeat_hours`` (firing
only). Flapping is damped: an alert that fires again within ``btrmon_alert_flap_minutes``
of resolving reopens (silently), and its "resolved" notification waits until the
condition stayed clear that long, so a flapping rule sends one "fired" and one
"resolved". Unacknowledged alerts escalate over time (``escalation.py``).

One evaluation runs at a time; a rule that fails is logged, counted and stored as a
``rule_error`` event, and the other rules are still evaluated. Deliveries run in
background threads (``notify.py``), never inside the evaluation.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from btrmon.alerts import escalation, store
from btrmon.alerts.channels import Notification
from btrmon.alerts.notify import Notifier, RetryPolicy
from btrmon.alerts.rules import DEFAULT_CHANNELS, Rule, active_rules, find_rule
from btrmon.queries import alerts as q
from btrmon.scheduler import JobSpec
from btrmon.store import utcnow

log = logging.getLogger(__name__)
COMMENT_MAX = 2000  # characters kept of an acknowledge / resolve comment


@dataclass
class EvaluationReport:
    """What one evaluation did."""

    at: datetime
    fired: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def describe(rule_name: str, value: float | None, condition: str, window_minutes: float | None) -> str:
    """The human sentence of an alert: ``High Error Rate: 7.5 (> 5 %) over 60 minutes``."""
    shown = "no data" if value is None else f"{value:.4g}"
    return f"{rule_name}: {shown} ({condition}) over {window_minutes or 0:g} minutes"


class AlertEngine:
    """Evaluates rules against the store and drives alerts through their lifecycle."""

    def __init__(self, monitor, clock: Callable[[], datetime] = utcnow, notifier: Notifier | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self.monitor = monitor
        self.clock = clock
        self.notifier = notifier or Notifier(monitor, policy)
        self._lock = threading.Lock()

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, now: datetime | None = None) -> EvaluationReport | None:
        """Evaluate every enabled rule once; None if an evaluation is already running."""
        if not self._lock.acquire(blocking=False):
            return None
        try:
            report = EvaluationReport(now or self.clock())
            try:
                rules = active_rules(self.monitor)
            except Exception as exc:  # noqa: BLE001 - a broken filter must not stop evaluation
                log.exception("btrmon: loading alert rules failed")
                report.errors["rules"] = f"{exc.__class__.__name__}: {exc}"
                return report
            open_alerts = q.open_alerts(self.monitor.db)
            for rule in rules:
                try:
                    measurements = rule.query(self.monitor.db, [report.at], rule.window)
                    mine = {a["component"]: a for a in open_alerts if a["rule_id"] == rule.id}
                    self._apply(rule, measurements, mine, report)
                except Exception as exc:  # noqa: BLE001 - one rule never stops the others
                    self._rule_failed(rule.id, exc, report)
            self._close_orphans(open_alerts, {r.id for r in rules}, report)
            self._escalate(report)
            self._notify_resolved(report)
            return report
        finally:
            self._lock.release()

    def _close_orphans(self, open_alerts: list[dict], active_ids: set[str], report: EvaluationReport) -> None:
        """Resolve open alerts of rules switched off or removed (nothing would ever clear them)."""
        for alert in open_alerts:
            if alert["rule_id"] not in active_ids and self._resolve(alert, report.at, "system", "rule disabled", None):
                report.resolved.append(alert["alert_id"])

    def _rule_failed(self, rule_id: str, exc: Exception, report: EvaluationReport) -> None:
        message = f"{exc.__class__.__name__}: {exc}"
        log.error("btrmon: alert rule %s failed to evaluate: %s", rule_id, message)
        self.monitor.counters.add("alerts:rule_errors")
        report.errors[rule_id] = message
        try:
            store.record_rule_error(self.monitor.writer, rule_id, report.at, message)
        except Exception:  # noqa: BLE001
            log.exception("btrmon: storing the rule error failed")

    def _apply(self, rule: Rule, measurements: list, open_by_component: dict, report: EvaluationReport) -> None:
        now = report.at
        seen = set()
        for _tick, component, value, sample in measurements:
            seen.add(component)
            alert = open_by_component.get(component)
            if rule.fires(value, sample):
                if alert is None:
                    self._fire(rule, component, value, report)
                else:
                    self._still_firing(rule, alert, value, report)
            elif alert is not None and self._resolve(alert, now, "system", "condition cleared", value):
                report.resolved.append(alert["alert_id"])
        for component, alert in open_by_component.items():
            if component not in seen and self._resolve(alert, now, "system", "condition cleared", None):
                report.resolved.append(alert["alert_id"])

    def _fire(self, rule: Rule, component: str, value: float | None, report: EvaluationReport) -> None:
        now = report.at
        message = describe(rule.name, value, rule.condition, rule.window_minutes)
        previous = q.latest_resolved(self.monitor.db, rule.id, component)
        flap = timedelta(minutes=self.monitor.config.get("btrmon_alert_flap_minutes"))
        if previous is not None and previous["resolved_at"] is not None and now - previous["resolved_at"] <= flap:
            state = "acknowledged" if previous["acknowledged_at"] is not None else "firing"
            store.update_alert(self.monitor.writer, previous, {
                "state": state, "resolved_at": None, "resolved_by": None, "resolve_notified": False,
                "value": value, "message": message, "last_seen_at": now,
                "reopen_count": previous["reopen_count"] + 1}, "reopened", now)
            report.reopened.append(previous["alert_id"])
            return
        fields = {
            "rule_id": rule.id, "rule_name": rule.name, "component": component, "state": "firing",
            "severity": rule.severity, "initial_severity": rule.severity, "value": value,
            "threshold": rule.threshold, "condition": rule.condition, "window_minutes": rule.window_minutes,
            "message": message, "opened_at": now, "last_seen_at": now, "severity_since": now,
            "last_notified_at": now,
        }
        alert_id = store.open_alert(self.monitor.writer, fields)
        report.fired.append(alert_id)
        self._send({**fields, "alert_id": alert_id}, "fired", rule)

    def _still_firing(self, rule: Rule, alert: dict, value: float | None, report: EvaluationReport) -> None:
        now = report.at
        changes = {"value": value, "last_seen_at": now,
                   "message": describe(rule.name, value, rule.condition, rule.window_minutes)}
        repeat = timedelta(hours=self.monitor.config.get("btrmon_alert_repeat_hours"))
        last = alert["last_notified_at"] or alert["opened_at"]
        remind = alert["state"] == "firing" and now - last >= repeat
        if remind:
            changes["last_notified_at"] = now
        applied = store.update_alert(self.monitor.writer, alert, changes, "reminder" if remind else None, now,
                                     guard="firing" if remind else "open")
        if remind and applied:
            report.reminded.append(alert["alert_id"])
            self._send({**alert, **changes}, "reminder", rule)

    def _resolve(self, alert: dict, now: datetime, actor: str, comment: str | None, value: float | None) -> bool:
        changes = {"state": "resolved", "resolved_at": now, "resolved_by": actor, "resolve_notified": False}
        if value is not None:
            changes["value"] = value
        return store.update_alert(self.monitor.writer, alert, changes, "resolved", now, actor, comment, guard="open")

    def _escalate(self, report: EvaluationReport) -> None:
        steps = escalation.escalation_rules(self.monitor)
        for alert in q.open_alerts(self.monitor.db):
            target = escalation.due_escalation(alert, steps, report.at)
            if target is None:
                continue
            changes = {"severity": target, "severity_since": report.at, "last_notified_at": report.at}
            if not store.update_alert(self.monitor.writer, alert, changes, "escalated", report.at,
                                      comment=f"{alert['severity']} -> {target}", guard="firing"):
                continue  # acknowledged or resolved meanwhile
            report.escalated.append(alert["alert_id"])
            notification = self._send({**alert, **changes}, "escalated", find_rule(self.monitor, alert["rule_id"]))
            if target == "emergency":
                done = escalation.run_emergency_actions(self.monitor, self.notifier, notification)
                if done:
                    store.update_alert(self.monitor.writer, {**alert, **changes}, {}, "emergency_actions",
                                       report.at, comment=", ".join(done))

    def _notify_resolved(self, report: EvaluationReport) -> None:
        flap = timedelta(minutes=self.monitor.config.get("btrmon_alert_flap_minutes"))
        for alert in q.resolved_unnotified(self.monitor.db):
            if report.at - alert["resolved_at"] >= flap:
                store.update_alert(self.monitor.writer, alert, {"resolve_notified": True}, None, report.at)
                self._send(alert, "resolved", find_rule(self.monitor, alert["rule_id"]))

    # -- notifications -----------------------------------------------------------------------
    def notification(self, alert: dict, event: str) -> Notification:
        """The notification of ``event`` for ``alert``."""
        at = alert.get("resolved_at") if event == "resolved" else None
        at = at or alert.get("last_seen_at") or self.clock()
        return Notification(
            event=event, rule_id=alert["rule_id"], rule_name=alert["rule_name"], severity=alert["severity"],
            message=alert.get("message") or "", at=at.isoformat(timespec="seconds") + "Z", alert_id=alert["alert_id"],
            component=alert.get("component") or "", state=alert["state"], value=alert.get("value"),
            threshold=alert.get("threshold"), condition=alert.get("condition") or "",
            window_minutes=alert.get("window_minutes"),
            dashboard_url=self.monitor.config.get("btrmon_dashboard_url"))

    def _send(self, alert: dict, event: str, rule: Rule | None) -> Notification:
        notification = self.notification(alert, event)
        names = tuple(rule.channels if rule is not None else DEFAULT_CHANNELS)
        if alert["severity"] == "emergency":
            names += escalation.EMERGENCY_CHANNELS
        try:
            self.notifier.notify(notification, names)
        except Exception:  # noqa: BLE001 - notification trouble never stops evaluation
            log.exception("btrmon: queueing notifications for alert %s failed", alert.get("alert_id"))
        return notification

    # -- admin actions ------------------------------------------------------------------------
    def acknowledge(self, alert_id: int, user: str, comment: str = "") -> dict:
        """Acknowledge a firing alert (stops reminders and escalation); returns it."""
        comment = (comment or "")[:COMMENT_MAX]
        alert = self._open(alert_id)
        if alert["state"] != "firing":
            raise ValueError(f"alert: {alert_id} is {alert['state']}, only firing alerts can be acknowledged")
        now = self.clock()
        if not store.update_alert(self.monitor.writer, alert, {
                "state": "acknowledged", "acknowledged_at": now, "acknowledged_by": user,
                "ack_comment": comment or None}, "acknowledged", now, user, comment or None, guard="firing"):
            raise ValueError(f"alert: {alert_id} changed meanwhile, it is no longer firing")
        return q.get_alert(self.monitor.db, alert_id)

    def resolve(self, alert_id: int, user: str, comment: str = "") -> dict:
        """Resolve an open alert by hand; returns it."""
        comment = (comment or "")[:COMMENT_MAX]
        alert = self._open(alert_id)
        if not self._resolve(alert, self.clock(), user, comment or None, None):
            raise ValueError(f"alert: {alert_id} is already resolved")
        return q.get_alert(self.monitor.db, alert_id)

    def _open(self, alert_id: int) -> dict:
        alert = q.get_alert(self.monitor.db, int(alert_id))
        if alert is None:
            raise ValueError(f"alert: unknown alert {alert_id!r}")
        if alert["state"] == "resolved":
            raise ValueError(f"alert: {alert_id} is already resolved")
        return alert

    def close(self) -> None:
        """Stop the delivery threads."""
        self.notifier.close()


def get_engine(monitor) -> AlertEngine:
    """The monitor's alert engine (one per monitor, created on first use)."""
    return monitor.part("alert_engine", AlertEngine)


def close_engine(monitor) -> None:
    """Stop the monitor's alert engine, if one was created (the next ``get_engine`` makes a new one)."""
    engine = monitor.drop_part("alert_engine")
    if engine is not None:
        engine.close()


JOB_ID = "alerts.evaluate"


def jobs(monitor) -> list[JobSpec]:
    """The scheduler job: evaluate the rules every ``btrmon_alert_interval`` seconds (rescheduled on change)."""
    return [JobSpec(JOB_ID, lambda: get_engine(monitor).evaluate(),
                    seconds=monitor.config.get("btrmon_alert_interval"), interval_setting="btrmon_alert_interval")]
