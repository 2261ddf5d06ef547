"""Webhook channel: the notification as JSON, POSTed to ``btrmon_webhook_url``."""

from __future__ import annotations

from btrmon.alerts.channels import Notification
from btrmon.alerts.channels.http import post


class WebhookChannel:
    """POST JSON with an ``Idempotency-Key`` header; retried by the dispatcher."""

    name = "webhook"

    def configured(self, config) -> bool:
        """True when a webhook URL is set."""
        return bool(config.get("btrmon_webhook_url"))

    def targets(self, config) -> list[str]:
        """The one webhook URL."""
        return [config.get("btrmon_webhook_url")]

    def accepts(self, notification: Notification) -> bool:
        """Every notification."""
        return True

    def send(self, notification: Notification, target: str, key: str, config) -> int:
        """POST the notification (plus its idempotency key) as JSON to ``target``."""
        body = {**notification.to_dict(), "idempotency_key": key, "title": notification.title,
                "link": notification.link}
        return post(target, key, config, json=body, field="btrmon_webhook_url")
