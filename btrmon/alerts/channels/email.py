"""Email channel: SMTP (none / STARTTLS / SSL, optional login), HTML + plain-text parts.

Alert text never reaches a header unescaped: the subject has control characters
removed, recipients must be plain addresses, and the body is HTML-escaped.
"""

from __future__ import annotations

import html
import re
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from btrmon.alerts.channels import DeliveryError, Notification

_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def clean_header(text: str, limit: int = 200) -> str:
    """One header line: control characters (CR, LF...) become spaces."""
    return _CONTROL.sub(" ", text).strip()[:limit]


def check_recipients(recipients: list, field: str = "btrmon_email_recipients") -> list[str]:
    """The recipients if each is a plain address, else ``ValueError`` naming the field."""
    found = [str(r).strip() for r in recipients if str(r).strip()]
    for address in found:
        if not _ADDRESS.match(address):
            raise ValueError(f"{field}: {address[:60]!r} is not an email address")
    return found


def _rows(n: Notification) -> list[tuple[str, str]]:
    rows = [("Rule", n.rule_name), ("Severity", n.severity), ("State", n.state), ("Event", n.event)]
    if n.component:
        rows.append(("Component", n.component))
    if n.value is not None:
        rows.append(("Value", f"{n.value:g}"))
    if n.condition:
        rows.append(("Condition", n.condition))
    if n.window_minutes:
        rows.append(("Window", f"{n.window_minutes:g} minutes"))
    rows.append(("Time (UTC)", n.at))
    return rows


def text_body(n: Notification) -> str:
    """The plain-text part."""
    lines = [n.title, "", n.message, ""] + [f"{k}: {v}" for k, v in _rows(n)]
    if n.link:
        lines += ["", f"Dashboard: {n.link}"]
    return "\n".join(lines) + "\n"


def html_body(n: Notification) -> str:
    """The responsive HTML part (single column, max 600 px, inline styles)."""
    e = html.escape
    rows = "".join(
        f'<tr><td style="padding:6px 8px;color:#555;width:35%">{e(k)}</td>'
        f'<td style="padding:6px 8px"><strong>{e(v)}</strong></td></tr>' for k, v in _rows(n))
    link = (f'<p style="margin:24px 0"><a href="{e(n.link, quote=True)}" style="background:{n.color};color:#fff;'
            f'padding:10px 16px;border-radius:4px;text-decoration:none">Open the dashboard</a></p>') if n.link else ""
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{e(n.title)}</title></head>
<body style="margin:0;padding:0;background:#f4f4f4;font-family:Arial,Helvetica,sans-serif">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0"><tr><td align="center" style="padding:16px">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:600px;background:#fff;border-radius:6px">
<tr><td style="background:{n.color};color:#fff;padding:16px;font-size:18px;border-radius:6px 6px 0 0">{e(n.title)}</td></tr>
<tr><td style="padding:16px"><p style="margin:0 0 16px">{e(n.message)}</p>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="font-size:14px">{rows}</table>
{link}</td></tr></table></td></tr></table></body></html>"""


def build_message(n: Notification, sender: str, recipients: list[str]) -> EmailMessage:
    """The email: safe headers, a text part and an HTML alternative."""
    message = EmailMessage()
    message["Subject"] = clean_header(n.title)
    message["From"] = clean_header(sender)
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="btrmon")
    message.set_content(text_body(n))
    message.add_alternative(html_body(n), subtype="html")
    return message


def send_email(message: EmailMessage, config, key: str = "") -> int:
    """Send over SMTP as configured; returns 250 or raises ``DeliveryError``."""
    host, port = config.get("btrmon_smtp_host"), config.get("btrmon_smtp_port")
    security, timeout = config.get("btrmon_smtp_security"), config.get("btrmon_webhook_timeout")
    if key:
        message["X-Btrmon-Delivery"] = clean_header(key)
    try:
        if security == "ssl":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if config.get("btrmon_smtp_user"):
                client.login(config.get("btrmon_smtp_user"), config.get("btrmon_smtp_password"))
            client.send_message(message)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP {exc.smtp_code}", retryable=400 <= exc.smtp_code < 500,
                            status=exc.smtp_code) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"recipients refused: {list(exc.recipients)}", retryable=False) from None
    except (socket.timeout, TimeoutError):
        raise DeliveryError("timeout", retryable=True) from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP error: {exc.__class__.__name__}: {exc}", retryable=True) from None
    return 250


class EmailChannel:
    """Emails every recipient of ``btrmon_email_recipients`` in one message."""

    name = "email"

    def configured(self, config) -> bool:
        """True when an SMTP host and recipients are set."""
        return bool(config.get("btrmon_smtp_host") and config.get("btrmon_email_recipients"))

    def targets(self, config) -> list[str]:
        """All recipients as one target."""
        return [", ".join(str(r) for r in config.get("btrmon_email_recipients"))]

    def accepts(self, notification: Notification) -> bool:
        """Every notification."""
        return True

    def send(self, notification: Notification, target: str, key: str, config) -> int:
        """Build and send the email to the recipients in ``target``."""
        try:
            recipients = check_recipients(target.split(","))
        except ValueError as exc:
            raise DeliveryError(str(exc), retryable=False) from None
        return send_email(build_message(notification, config.get("btrmon_email_from"), recipients), config, key)
