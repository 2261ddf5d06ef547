"""Slack incoming-webhook channel: one attachment coloured by severity, with fields."""

from __future__ import annotations

from datetime import datetime, timezone

from btrmon.alerts.channels import Notification
from btrmon.alerts.channels.http import post


def _epoch(iso: str) -> int:
    """Epoch seconds of an ISO time (naive means UTC)."""
    moment = datetime.fromisoformat(iso)
    return int((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())


def slack_escape(text: str) -> str:
    """Alert text made inert for Slack: ``&``, ``<``, ``>`` escaped, so no ``<!channel>`` or hidden links."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(n: Notification, config) -> dict:
    """The Slack message: channel, username and an attachment with rich fields (text escaped)."""
    fields = [
        {"title": "Severity", "value": n.severity, "short": True},
        {"title": "State", "value": n.state, "short": True},
        {"title": "Value", "value": "" if n.value is None else f"{n.value:g}", "short": True},
        {"title": "Condition", "value": n.condition, "short": True},
    ]
    if n.window_minutes:
        fields.append({"title": "Window", "value": f"{n.window_minutes:g} min", "short": True})
    if n.component:
        fields.append({"title": "Component", "value": n.component, "short": True})
    for f in fields:
        f["value"] = slack_escape(f["value"])
    title = slack_escape(n.title)
    attachment = {
        "fallback": title, "color": n.color, "title": title, "text": slack_escape(n.message),
        "fields": fields, "footer": "btrmon", "ts": _epoch(n.at),
    }
    if n.link:
        attachment["title_link"] = n.link
    payload = {"username": config.get("btrmon_slack_username") or "btrmon", "attachments": [attachment]}
    if config.get("btrmon_slack_channel"):
        payload["channel"] = config.get("btrmon_slack_channel")
    return payload


class SlackChannel:
    """Posts to ``btrmon_slack_webhook_url``."""

    name = "slack"

    def configured(self, config) -> bool:
        """True when a Slack webhook URL is set."""
        return bool(config.get("btrmon_slack_webhook_url"))

    def targets(self, config) -> list[str]:
        """The one Slack webhook URL."""
        return [config.get("btrmon_slack_webhook_url")]

    def accepts(self, notification: Notification) -> bool:
        """Every notification."""
        return True

    def send(self, notification: Notification, target: str, key: str, config) -> int:
        """POST the Slack payload to ``target``."""
        return post(target, key, config, json=slack_payload(notification, config), field="btrmon_slack_webhook_url")
