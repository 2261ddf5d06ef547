"""The settings of each channel, and saving them with checks (URLs, addresses) on save."""

from __future__ import annotations

from btrmon.alerts.channels.email import check_recipients
from btrmon.alerts.channels.urlcheck import check_url
from btrmon.config import coerce, lookup

CHANNEL_SETTINGS: dict[str, tuple[str, ...]] = {
    "email": ("btrmon_smtp_host", "btrmon_smtp_port", "btrmon_smtp_security", "btrmon_smtp_user",
              "btrmon_smtp_password", "btrmon_email_from", "btrmon_email_recipients"),
    "webhook": ("btrmon_webhook_url", "btrmon_webhook_timeout"),
    "slack": ("btrmon_slack_webhook_url", "btrmon_slack_channel", "btrmon_slack_username"),
    "sms": ("btrmon_sms_base_url", "btrmon_sms_account_sid", "btrmon_sms_auth_token", "btrmon_sms_from",
            "btrmon_sms_recipients"),
    "general": ("btrmon_dashboard_url", "btrmon_allow_private_urls", "btrmon_emergency_actions"),
}
URL_SETTINGS = ("btrmon_webhook_url", "btrmon_slack_webhook_url", "btrmon_sms_base_url")


def validate(values: dict, allow_private: bool) -> dict:
    """Coerce every value and check URLs and addresses; ``ValueError`` names the first bad field."""
    allowed = {name for names in CHANNEL_SETTINGS.values() for name in names}
    for name in values:
        if name not in allowed:
            raise ValueError(f"{name}: not a channel setting")
    clean = {name: coerce(lookup(name), value) for name, value in values.items()}
    for name in URL_SETTINGS:
        if clean.get(name):
            check_url(clean[name], allow_private, field=name)
    if "btrmon_email_recipients" in clean:
        clean["btrmon_email_recipients"] = check_recipients(clean["btrmon_email_recipients"])
    if clean.get("btrmon_email_from"):
        check_recipients([clean["btrmon_email_from"]], "btrmon_email_from")
    for action in clean.get("btrmon_emergency_actions", []):
        if action == "disable":
            continue
        if not (isinstance(action, dict) and set(action) == {"webhook"}):
            raise ValueError(f"btrmon_emergency_actions: {action!r} is not 'disable' or {{\"webhook\": URL}}")
        check_url(action["webhook"], allow_private, field="btrmon_emergency_actions")
    return clean


def save_channel_settings(monitor, values: dict) -> list[str]:
    """Validate all of ``values`` first, then store them; returns the names changed.

    An empty value of a secret setting keeps the stored secret (forms never show it).
    """
    values = {k: v for k, v in values.items() if not (lookup(k).secret and v in ("", None))}
    allow = values.get("btrmon_allow_private_urls", monitor.config.get("btrmon_allow_private_urls"))
    clean = validate(values, bool(coerce(lookup("btrmon_allow_private_urls"), allow)))
    changed = []
    for name, value in clean.items():
        if monitor.config.get(name) != value:
            monitor.config.set(name, value)
            changed.append(name)
    return changed
