"""Alert rules as data: the seed's eight built-in rules and how settings change them.

A rule is a query (``btrmon.queries.alerts``: one measurement per evaluation time and
component), a condition (operator and threshold), a window, a severity, its channels
and a minimum sample; ``check`` is a Python function for what a condition cannot say.
Thresholds come from the ``btr_alert_*`` settings; ``btrmon_alert_rule_overrides``
(edited on the alerts page) changes threshold, window, minimum sample or switches a
rule off; the ``btr_monitor_alert_rules`` filter may add, change or remove rules.
"""

from __future__ import annotations

import logging
import math
import operator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Callable

from btrmon.alerts import apply_filter
from btrmon.queries import alerts as q

log = logging.getLogger(__name__)

SEVERITIES: tuple[str, ...] = ("warning", "critical", "emergency")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le,
}
DEFAULT_CHANNELS: tuple[str, ...] = ("notices", "email", "webhook", "slack")
URGENT_CHANNELS: tuple[str, ...] = DEFAULT_CHANNELS + ("sms",)
MAX_WINDOW_MINUTES = 30 * 24 * 60  # a window longer than the default retention makes no sense


@dataclass(frozen=True)
class Rule:
    """One alert rule; ``fires(value, sample)`` is its condition."""

    id: str
    name: str
    query: Callable  # (db, ticks, window) -> list[(tick, component, value, sample)]
    op: str
    threshold: float
    window: timedelta
    severity: str = "warning"
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    min_sample: int = 0
    unit: str = ""
    description: str = ""
    threshold_setting: str | None = None
    enabled: bool = True
    check: Callable[["Rule", float | None, int], bool] | None = None

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ValueError(f"rule {self.id}: op must be one of {', '.join(OPERATORS)}, got {self.op!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"rule {self.id}: severity must be one of {', '.join(SEVERITIES)}")
        if self.window <= timedelta(0):
            raise ValueError(f"rule {self.id}: window must be positive")

    @property
    def condition(self) -> str:
        """The condition as text, e.g. ``> 5 %``."""
        return f"{self.op} {self.threshold:g}{(' ' + self.unit) if self.unit else ''}"

    @property
    def window_minutes(self) -> float:
        """The window in minutes."""
        return self.window.total_seconds() / 60

    def fires(self, value: float | None, sample: int) -> bool:
        """True when a measurement crosses the rule (never below the minimum sample)."""
        if sample < self.min_sample or value is None:
            return False
        if self.check is not None:
            return bool(self.check(self, value, sample))
        return OPERATORS[self.op](value, self.threshold)


def builtin_rules(config) -> list[Rule]:
    """The seed's eight rules with thresholds from ``config``."""
    minutes = lambda m: timedelta(minutes=m)  # noqa: E731
    min_requests = config.get("btr_alert_min_requests")
    return [
        Rule("high_error_rate", "High Error Rate", q.error_rate, ">",
             config.get("btr_alert_error_rate_threshold"), minutes(60), "warning", DEFAULT_CHANNELS,
             min_requests, "%", "Errors (critical/error) per 100 requests over 1 hour.",
             "btr_alert_error_rate_threshold"),
        Rule("critical_errors", "Critical Errors", q.critical_errors, ">=", 1, minutes(15), "critical",
             URGENT_CHANNELS, 1, "errors", "Any critical error, per component; clears after 15 quiet minutes."),
        Rule("slow_response_time", "Slow Response Time", q.response_time_p95, ">",
             config.get("btr_alert_response_time_threshold"), minutes(30), "warning", DEFAULT_CHANNELS,
             min(min_requests, 10), "ms", "p95 of request_duration over 30 minutes.",
             "btr_alert_response_time_threshold"),
        Rule("high_memory_usage", "High Memory Usage", q.peak_memory_avg, ">",
             config.get("btr_alert_memory_threshold"), minutes(15), "warning", DEFAULT_CHANNELS, 1, "MB",
             "Average peak_memory over 15 minutes.", "btr_alert_memory_threshold"),
        Rule("payment_failures", "Payment Failures", q.payment_failures, ">=",
             config.get("btr_alert_payment_failures_threshold"), minutes(60), "critical", URGENT_CHANNELS, 0,
             "failures", "Errors of the payment and gateway components in 1 hour.",
             "btr_alert_payment_failures_threshold"),
        Rule("database_connectivity", "Database Connectivity", q.database_unhealthy, ">=", 1, minutes(5),
             "critical", URGENT_CHANNELS, 1, "checks", "A database health check not healthy in 5 minutes."),
        Rule("low_conversion_rate", "Low Conversion Rate", q.conversion_rate, "<",
             config.get("btr_alert_conversion_rate_threshold"), minutes(360), "warning", DEFAULT_CHANNELS,
             config.get("btr_alert_min_sessions"), "%", "Sessions reaching conversion per 100 sessions over 6 hours.",
             "btr_alert_conversion_rate_threshold"),
        Rule("calculator_errors", "Calculator Errors", q.calculator_errors, ">=",
             config.get("btr_alert_calculator_errors_threshold"), minutes(60), "warning", DEFAULT_CHANNELS, 0,
             "errors", "Errors of the calculator component in 1 hour.", "btr_alert_calculator_errors_threshold"),
    ]


def apply_overrides(rules: list[Rule], overrides: list) -> list[Rule]:
    """Rules with the alerts page's changes (``btrmon_alert_rule_overrides``) applied."""
    by_rule = {o.get("rule"): o for o in overrides if isinstance(o, dict)}
    changed = []
    for rule in rules:
        o = by_rule.get(rule.id)
        if o:
            try:
                rule = replace(
                    rule,
                    threshold=float(o.get("threshold", rule.threshold)),
                    window=timedelta(minutes=float(o["window_minutes"])) if "window_minutes" in o else rule.window,
                    min_sample=int(o.get("min_sample", rule.min_sample)),
                    enabled=bool(o.get("enabled", rule.enabled)),
                )
            except (TypeError, ValueError, OverflowError) as exc:  # a bad stored override never stops the rules
                log.warning("alert rule %s: override ignored: %s", rule.id, exc)
        changed.append(rule)
    return changed


def all_rules(monitor) -> list[Rule]:
    """Every rule (also switched off ones), after overrides and the ``btr_monitor_alert_rules`` filter."""
    rules = apply_overrides(builtin_rules(monitor.config), monitor.config.get("btrmon_alert_rule_overrides"))
    return apply_filter(monitor, "btr_monitor_alert_rules", rules,
                        lambda found: isinstance(found, list) and all(isinstance(r, Rule) for r in found),
                        "a list of Rule")


def active_rules(monitor) -> list[Rule]:
    """The rules evaluated now (enabled ones)."""
    return [r for r in all_rules(monitor) if r.enabled]


def find_rule(monitor, rule_id: str) -> Rule | None:
    """The rule called ``rule_id`` (enabled or not), or None."""
    return next((r for r in all_rules(monitor) if r.id == rule_id), None)


def save_rule(monitor, rule_id: str, threshold: float | None = None, window_minutes: float | None = None,
              min_sample: int | None = None, enabled: bool | None = None) -> Rule:
    """Store changes of one rule (threshold into its ``btr_alert_*`` setting when it has one)."""
    rule = find_rule(monitor, rule_id)
    if rule is None:
        raise ValueError(f"rule: unknown rule {rule_id!r}")
    entry: dict = {}  # everything is checked before anything is stored
    if threshold is not None and not rule.threshold_setting:
        entry["threshold"] = _number("threshold", threshold, 0)
    if window_minutes is not None:
        entry["window_minutes"] = _number("window_minutes", window_minutes, 1, MAX_WINDOW_MINUTES)
    if min_sample is not None:
        entry["min_sample"] = int(_number("min_sample", min_sample, 0))
    if enabled is not None:
        entry["enabled"] = bool(enabled)
    if threshold is not None and rule.threshold_setting:
        monitor.config.set(rule.threshold_setting, threshold)  # checked by the setting; first write
    if entry:
        overrides = [o for o in monitor.config.get("btrmon_alert_rule_overrides") if o.get("rule") != rule_id]
        old = next((o for o in monitor.config.get("btrmon_alert_rule_overrides") if o.get("rule") == rule_id), {})
        overrides.append({**old, **entry, "rule": rule_id})
        monitor.config.set("btrmon_alert_rule_overrides", overrides)
    return find_rule(monitor, rule_id)


def _number(field: str, value, minimum: float, maximum: float = float("inf")) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: must be a number, got {value!r}") from None
    if not math.isfinite(number) or number < minimum or number > maximum:
        limit = f"between {minimum:g} and {maximum:g}" if math.isfinite(maximum) else f">= {minimum:g}"
        raise ValueError(f"{field}: must be a finite number {limit}, got {value!r}")
    return number


def candidate(monitor, rule_id: str, threshold=None, window_minutes=None, min_sample=None) -> Rule:
    """The rule as it would be with these changes (for the preview before saving)."""
    rule = find_rule(monitor, rule_id)
    if rule is None:
        raise ValueError(f"rule: unknown rule {rule_id!r}")
    changes: dict = {}
    if threshold is not None:
        changes["threshold"] = _number("threshold", threshold, 0)
    if window_minutes is not None:
        changes["window"] = timedelta(minutes=_number("window_minutes", window_minutes, 1, MAX_WINDOW_MINUTES))
    if min_sample is not None:
        changes["min_sample"] = int(_number("min_sample", min_sample, 0))
    return replace(rule, **changes)
