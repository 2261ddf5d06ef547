"""SMS channel through a Twilio-compatible REST API; critical and emergency only."""

from __future__ import annotations

from btrmon.alerts.channels import Notification
from btrmon.alerts.channels.http import post

URGENT = ("critical", "emergency")


def sms_text(n: Notification) -> str:
    """A short SMS body (one segment when possible)."""
    value = "" if n.value is None else f" value {n.value:g} {n.condition}"
    return f"{n.title}:{value}. {n.link}".strip()[:320]


class SmsChannel:
    """``POST {base}/2010-04-01/Accounts/{sid}/Messages.json`` with basic auth, one per recipient."""

    name = "sms"

    def configured(self, config) -> bool:
        """True when account, token, sender and recipients are set."""
        return all(config.get(n) for n in ("btrmon_sms_account_sid", "btrmon_sms_auth_token",
                                            "btrmon_sms_from", "btrmon_sms_recipients"))

    def targets(self, config) -> list[str]:
        """Each recipient number."""
        return [str(r) for r in config.get("btrmon_sms_recipients")]

    def accepts(self, notification: Notification) -> bool:
        """Critical and emergency notifications (and tests)."""
        return notification.severity in URGENT or notification.event == "test"

    def send(self, notification: Notification, target: str, key: str, config) -> int:
        """Send one SMS to ``target``."""
        sid = config.get("btrmon_sms_account_sid")
        url = f"{config.get('btrmon_sms_base_url').rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        form = {"To": target, "From": config.get("btrmon_sms_from"), "Body": sms_text(notification)}
        return post(url, key, config, data=form, auth=(sid, config.get("btrmon_sms_auth_token")),
                    field="btrmon_sms_base_url")
