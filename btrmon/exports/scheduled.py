"""Scheduled reports: a daily or weekly e-mail with the PDF (and/or CSV, JSON, zip) attached.

``btrmon_report_schedule`` (off|daily|weekly) picks the period: daily reports cover
the last 24 hours and go out at 06:00 UTC; weekly ones cover the last 7 days and
go out on Mondays at 06:00 UTC. ``btrmon_report_recipients`` get one message with
one attachment per format of ``btrmon_report_formats``. Mail goes through the
alert engine's SMTP sender (``alerts.channels.email.send_email``), so the
``btrmon_smtp_*`` settings are shared. An attachment larger than
``MAX_ATTACHMENT_BYTES`` is left out and the message says so.
"""

from __future__ import annotations

import html
import logging
import tempfile
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from btrmon.exports import FORMATS, filename, iter_export
from btrmon.exports.data import ExportRequest, open_export
from btrmon.exports.pdf_parts import fmt_number, fmt_time
from btrmon.scheduler import JobSpec

log = logging.getLogger(__name__)

MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
SCHEDULES: dict[str, tuple[str, dict]] = {
    "daily": ("24h", {"hour": 6, "minute": 0}),
    "weekly": ("7d", {"day_of_week": "mon", "hour": 6, "minute": 0}),
}


def _export_bytes(data, fmt: str) -> bytes | None:
    """The export as bytes, or None when larger than ``MAX_ATTACHMENT_BYTES``."""
    with tempfile.SpooledTemporaryFile(max_size=2 * 1024 * 1024) as spool:
        size = 0
        for chunk in iter_export(data, fmt):
            size += len(chunk)
            if size > MAX_ATTACHMENT_BYTES:
                return None
            spool.write(chunk)
        spool.seek(0)
        return spool.read()


def _body(data, brand: str, left_out: list[str], link: str) -> tuple[str, str]:
    s = data.summary
    rows = [("Requests", fmt_number(s.get("requests"))),
            ("Average response time", fmt_number(s.get("avg_response_ms"), "ms")),
            ("p95 response time", fmt_number(s.get("p95_response_ms"), "ms")),
            ("Error rate", fmt_number(s.get("error_rate_pct"), "%", 2)),
            ("Critical errors", fmt_number(s.get("critical_errors"))),
            ("System health", str((s.get("health") or {}).get("overall", "unknown"))),
            ("Alerts fired", fmt_number(s.get("alerts_fired")))]
    rows += [(f"Conversion ({k.replace('_', ' ')})", fmt_number(v, "%", 1))
             for k, v in (s.get("conversion_by_funnel") or {}).items()]
    period = f"{fmt_time(data.start)} – {fmt_time(data.end)} UTC"
    notes = [data.info["note"]] if data.info.get("note") else []
    notes += [f"The {fmt.upper()} export was larger than {MAX_ATTACHMENT_BYTES // 2**20} MB and is not attached; "
              f"download it from the dashboard." for fmt in left_out]
    text = "\n".join([f"{brand}: monitoring report for {period}", ""] + [f"{k}: {v}" for k, v in rows]
                     + [""] + notes + ["", f"Dashboard: {link}"])
    e = html.escape
    cells = "".join(f"<tr><td style='padding:4px 12px 4px 0;color:#57606a'>{e(k)}</td><td><b>{e(v)}</b></td></tr>"
                    for k, v in rows)
    note_html = "".join(f"<p>{e(n)}</p>" for n in notes)
    body = (f"<html><body style='font-family:Arial,sans-serif'><h2>{e(brand)}: monitoring report</h2>"
            f"<p>{e(period)}</p><table>{cells}</table>{note_html}"
            f"<p><a href='{e(link, quote=True)}'>Open the dashboard</a></p></body></html>")
    return text, body


def build_report_message(monitor, schedule: str = "daily") -> EmailMessage:
    """The report e-mail of ``schedule`` (daily|weekly) with its attachments."""
    from btrmon.alerts.channels.email import check_recipients, clean_header

    config = monitor.config
    recipients = check_recipients(list(config.get("btrmon_report_recipients")), "btrmon_report_recipients")
    if not recipients:
        raise ValueError("btrmon_report_recipients: no recipients configured")
    formats = [str(f).lower() for f in config.get("btrmon_report_formats")] or ["pdf"]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"btrmon_report_formats: unknown {', '.join(unknown)} (known: {', '.join(FORMATS)})")
    timeframe = SCHEDULES[schedule][0]
    brand = str(config.get("btrmon_brand_name") or "btrmon")
    message = EmailMessage()
    with open_export(monitor, ExportRequest(timeframe=timeframe, requested_by=f"scheduled {schedule} report")) as data:
        attachments, left_out = [], []
        for fmt in formats:
            payload = _export_bytes(data, fmt)
            if payload is None:
                left_out.append(fmt)
            else:
                attachments.append((fmt, payload, filename(data, fmt)))
        text, body = _body(data, brand, left_out, str(config.get("btrmon_dashboard_url")))
        message["Subject"] = clean_header(f"{brand}: {schedule} monitoring report {fmt_time(data.end)[:10]}")
    message["From"] = clean_header(str(config.get("btrmon_email_from")))
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="btrmon")
    message.set_content(text)
    message.add_alternative(body, subtype="html")
    for fmt, payload, name in attachments:
        maintype, _, subtype = FORMATS[fmt][0].split(";")[0].partition("/")
        message.add_attachment(payload, maintype=maintype, subtype=subtype, filename=name)
    return message


def send_scheduled_report(monitor, schedule: str = "daily") -> bool:
    """Build and send the ``schedule`` report now; False when no SMTP host is configured."""
    from btrmon.alerts.channels.email import send_email

    if not monitor.config.get("btrmon_smtp_host"):
        log.warning("scheduled %s report skipped: btrmon_smtp_host is empty", schedule)
        return False
    send_email(build_report_message(monitor, schedule), monitor.config)
    log.info("scheduled %s report sent to %s", schedule, monitor.config.get("btrmon_report_recipients"))
    return True


def _run_if_selected(monitor, schedule: str):
    def run() -> None:
        if monitor.config.get("btrmon_report_schedule") == schedule:
            send_scheduled_report(monitor, schedule)

    return run


def jobs(monitor) -> list[JobSpec]:
    """The daily and weekly report jobs; each sends only when ``btrmon_report_schedule`` selects it."""
    if getattr(monitor, "db", None) is None:
        return []
    return [JobSpec(id=f"report_{name}", func=_run_if_selected(monitor, name), cron=cron)
            for name, (_, cron) in SCHEDULES.items()]
