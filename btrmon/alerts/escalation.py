"""Time-based escalation of unacknowledged alerts and the emergency actions.

Default steps (seed, "Escalation Automatica"): warning -> critical after
``btrmon_escalate_warning_minutes`` (60), critical -> emergency after
``btrmon_escalate_critical_minutes`` (30), counted from when the alert reached its
current severity. The ``btr_monitor_escalation_rules`` filter may change the steps.
Emergency adds the SMS channel and runs ``btrmon_emergency_actions``: ``"disable"``
(the master switch off) and/or ``{"webhook": URL}``; none by default.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from btrmon.alerts import apply_filter
from btrmon.alerts.channels import Notification

log = logging.getLogger(__name__)

EMERGENCY_CHANNELS: tuple[str, ...] = ("sms",)


def escalation_rules(monitor) -> list[dict]:
    """The escalation steps ``{"from", "to", "after_minutes"}`` after the filter."""
    steps = [
        {"from": "warning", "to": "critical", "after_minutes": monitor.config.get("btrmon_escalate_warning_minutes")},
        {"from": "critical", "to": "emergency", "after_minutes": monitor.config.get("btrmon_escalate_critical_minutes")},
    ]
    return apply_filter(monitor, "btr_monitor_escalation_rules", steps, lambda found: isinstance(found, list),
                        "a list")


def due_escalation(alert: dict, steps: list[dict], now: datetime) -> str | None:
    """The severity an unacknowledged firing alert escalates to now, or None."""
    if alert["state"] != "firing":
        return None
    for step in steps:
        try:
            if step["from"] == alert["severity"] and now - alert["severity_since"] >= timedelta(
                    minutes=float(step["after_minutes"])):
                return str(step["to"])
        except (KeyError, TypeError, ValueError):
            log.warning("escalation step %r ignored: needs from, to, after_minutes", step)
    return None


def run_emergency_actions(monitor, notifier, notification: Notification) -> list[str]:
    """Run ``btrmon_emergency_actions``; returns what was done (for the alert's history)."""
    done = []
    for action in monitor.config.get("btrmon_emergency_actions"):
        try:
            if action == "disable":
                monitor.config.set("btr_monitor_enabled", False)
                done.append("disable")
            elif isinstance(action, dict) and action.get("webhook"):
                notifier.send_to("webhook", str(action["webhook"]),
                                 Notification(**{**notification.to_dict(), "event": "emergency_action"}))
                done.append(f"webhook {action['webhook']}")
            else:
                log.warning("btrmon_emergency_actions: unknown action %r ignored", action)
        except Exception:  # noqa: BLE001 - one failing action never stops the others
            log.exception("emergency action %r failed", action)
    return done
