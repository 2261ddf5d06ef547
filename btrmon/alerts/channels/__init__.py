"""Notification channels: what a notification holds and how a channel sends it.

A channel has a ``name``, ``configured(config)``, ``targets(config)`` (one delivery
per target, e.g. per SMS number), ``accepts(notification)`` and
``send(notification, target, key, config)`` which returns the HTTP/SMTP status or
raises ``DeliveryError`` (``retryable`` for 429, 5xx, timeouts, connection errors).
``key`` is the delivery id: the idempotency key, the same on every attempt.
The built-in channels go through the ``btr_monitor_notification_channels`` filter
like any channel a user adds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Protocol

SEVERITY_COLORS: dict[str, str] = {
    "warning": "#f0ad4e", "critical": "#d9534f", "emergency": "#8b0000", "resolved": "#2eb886", "info": "#1f6feb",
}


@dataclass(frozen=True)
class Notification:
    """What every channel renders: one event of one alert (or a test)."""

    event: str  # fired, reminder, escalated, resolved, reopened, test, emergency_action
    rule_id: str
    rule_name: str
    severity: str
    message: str
    at: str  # ISO-8601 UTC, e.g. 2026-12-03T14:00:00Z
    alert_id: int | None = None
    component: str = ""
    state: str = "firing"
    value: float | None = None
    threshold: float | None = None
    condition: str = ""
    window_minutes: float | None = None
    dashboard_url: str = ""

    @property
    def color(self) -> str:
        """The colour of this notification: green when resolved, else by severity."""
        return SEVERITY_COLORS["resolved" if self.event == "resolved" else self.severity] \
            if self.severity in SEVERITY_COLORS else SEVERITY_COLORS["info"]

    @property
    def title(self) -> str:
        """A one-line summary: ``[CRITICAL] Payment Failures fired``."""
        where = f" ({self.component})" if self.component else ""
        return f"[{self.severity.upper()}] {self.rule_name}{where} {self.event}"

    @property
    def link(self) -> str:
        """The alerts page of the dashboard."""
        return self.dashboard_url.rstrip("/") + "/alerts" if self.dashboard_url else ""

    def to_dict(self) -> dict:
        """JSON-ready fields (the webhook body and the stored payload)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Notification":
        """Rebuild from ``to_dict`` output (unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class DeliveryError(Exception):
    """A failed attempt; ``retryable`` says whether another attempt may succeed."""

    def __init__(self, message: str, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


class Channel(Protocol):
    """The interface every notification channel implements."""

    name: str

    def configured(self, config) -> bool:
        """True when the settings the channel needs are present."""

    def targets(self, config) -> list[str]:
        """One delivery is made per target (an URL, a phone number, a recipient list)."""

    def accepts(self, notification: Notification) -> bool:
        """False for notifications this channel never sends (e.g. SMS for warnings)."""

    def send(self, notification: Notification, target: str, key: str, config) -> int | None:
        """One attempt; the status, or ``DeliveryError``. ``key`` is the idempotency key."""


def builtin_channels() -> dict[str, Channel]:
    """The built-in channels by name."""
    from btrmon.alerts.channels import email, notices, slack, sms, webhook

    return {c.name: c for c in (notices.NoticesChannel(), email.EmailChannel(), webhook.WebhookChannel(),
                                 slack.SlackChannel(), sms.SmsChannel())}


def channels(monitor) -> dict[str, Channel]:
    """The channels in use: the built-ins through the ``btr_monitor_notification_channels`` filter."""
    from btrmon.alerts import apply_filter

    return apply_filter(monitor, "btr_monitor_notification_channels", builtin_channels(),
                        lambda found: isinstance(found, dict), "a dict")
