"""Notification channels against real receivers on 127.0.0.1 (SMTP and HTTP)."""

from __future__ import annotations

import base64
import email
import json
import socket
import threading
from email import policy
from urllib.parse import parse_qs

import pytest
from aiosmtpd.controller import Controller

from btrmon.alerts.channels import Notification
from btrmon.alerts.channels.urlcheck import UnsafeURL, check_url
from btrmon.alerts.notify import Notifier, RetryPolicy
from btrmon.queries import alerts as q
from btrmon.store import utcnow
from tests.conftest import wait_for

FAST = RetryPolicy(base=0.01, factor=1.5, cap=0.05, deadline=2)


class Sink:
    """A WSGI receiver answering with scripted statuses; records every request."""

    def __init__(self, statuses=()) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        self.hang = threading.Event()  # set() releases hanging requests
        self.hanging = False

    def __call__(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        self.requests.append({"path": environ["PATH_INFO"], "body": body,
                              "headers": {k[5:].replace("_", "-").title(): v for k, v in environ.items()
                                          if k.startswith("HTTP_")} | {"Content-Type": environ.get("CONTENT_TYPE")}})
        if self.hanging:
            self.hang.wait(10)
        status = self.statuses.pop(0) if self.statuses else 200
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [b"{}"]


@pytest.fixture
def sink(serve_wsgi):
    def make(statuses=()):
        receiver = Sink(statuses)
        server = serve_wsgi(receiver)
        receiver.url = server.url
        return receiver

    made = []
    yield lambda statuses=(): made.append(make(statuses)) or made[-1]
    for receiver in made:
        receiver.hang.set()


@pytest.fixture
def notifier(monitor):
    monitor.config.set("btrmon_allow_private_urls", True)
    n = Notifier(monitor, FAST)
    yield n
    n.close()


def note(severity="critical", **kw) -> Notification:
    fields = dict(event="fired", rule_id="payment_failures", rule_name="Payment Failures", severity=severity,
                  message="Payment Failures: 4 (>= 3 failures) over 60 minutes", at=utcnow().isoformat(timespec="seconds") + "Z",
                  alert_id=7, value=4.0, threshold=3.0, condition=">= 3 failures", window_minutes=60,
                  dashboard_url="http://dash.example")
    fields.update(kw)
    return Notification(**fields)


def delivery(monitor, notifier, delivery_id):
    assert notifier.wait_idle(15)
    return q.get_delivery(monitor.db, delivery_id)


# -- webhook ---------------------------------------------------------------------------------
def test_webhook_retries_500_500_200_with_one_idempotency_key(monitor, notifier, sink):
    receiver = sink([500, 500, 200])
    monitor.config.set("btrmon_webhook_url", receiver.url + "/hook")
    (delivery_id,) = notifier.notify(note(), ("webhook",))
    row = delivery(monitor, notifier, delivery_id)
    assert row["status"] == "delivered" and row["attempts"] == 3
    keys = {r["headers"]["Idempotency-Key"] for r in receiver.requests}
    assert keys == {delivery_id} and len(receiver.requests) == 3
    body = json.loads(receiver.requests[-1]["body"])
    assert body["rule_id"] == "payment_failures" and body["severity"] == "critical" and body["value"] == 4.0
    assert body["idempotency_key"] == delivery_id and body["link"] == "http://dash.example/alerts"
    attempts = q.delivery_attempts(monitor.db, delivery_id)
    assert [(a["status"], a["ok"]) for a in attempts] == [(500, False), (500, False), (200, True)]


def test_webhook_429_is_retried(monitor, notifier, sink):
    receiver = sink([429, 204])
    monitor.config.set("btrmon_webhook_url", receiver.url)
    (delivery_id,) = notifier.notify(note(), ("webhook",))
    assert delivery(monitor, notifier, delivery_id)["status"] == "delivered"
    assert len(receiver.requests) == 2


def test_webhook_400_is_not_retried_and_can_be_sent_again(monitor, notifier, sink):
    receiver = sink([400])
    monitor.config.set("btrmon_webhook_url", receiver.url)
    (delivery_id,) = notifier.notify(note(), ("webhook",))
    row = delivery(monitor, notifier, delivery_id)
    assert row["status"] == "dead" and row["last_status"] == 400 and len(receiver.requests) == 1
    assert q.deliveries(monitor.db, status="dead").delivery_id.tolist() == [delivery_id]
    notifier.resend(delivery_id)  # "send again" from the dead-letter list
    with pytest.raises(ValueError, match="delivery"):  # a second click while it is being sent: refused
        notifier.resend(delivery_id)
    row = delivery(monitor, notifier, delivery_id)
    assert row["status"] == "delivered" and row["attempts"] == 2
    assert [r["headers"]["Idempotency-Key"] for r in receiver.requests] == [delivery_id, delivery_id]
    with pytest.raises(ValueError, match="already delivered"):
        notifier.resend(delivery_id)


def test_hanging_webhook_times_out_and_gives_up(monitor, notifier, sink):
    receiver = sink()
    receiver.hanging = True
    monitor.config.set("btrmon_webhook_url", receiver.url)
    monitor.config.set("btrmon_webhook_timeout", 0.2)
    (delivery_id,) = notifier.notify(note(), ("webhook",))
    row = delivery(monitor, notifier, delivery_id)
    assert row["status"] == "dead" and row["last_error"] == "timeout"
    assert row["attempts"] >= 2  # timeouts are retried until the deadline
    wait_for(lambda: len(receiver.requests) == row["attempts"], timeout=30)  # a slow server may log it late


def test_webhook_refuses_loopback_unless_allowed(monitor, notifier, sink):
    receiver = sink()
    monitor.config.set("btrmon_allow_private_urls", False)
    monitor.config.set("btrmon_webhook_url", receiver.url)
    (delivery_id,) = notifier.notify(note(), ("webhook",))
    row = delivery(monitor, notifier, delivery_id)
    assert row["status"] == "dead" and "loopback" in row["last_error"] and receiver.requests == []


def test_url_check():
    for url, problem in (("http://127.0.0.1:9/x", "loopback"), ("http://169.254.169.254/", "link-local"),
                         ("http://10.1.2.3/", "private"), ("http://192.168.0.1/", "private"),
                         ("http://[::1]/", "loopback"), ("http://0.0.0.0/", "private|unspecified")):
        with pytest.raises(UnsafeURL, match=problem):
            check_url(url, field="btrmon_webhook_url")
    with pytest.raises(UnsafeURL, match="btrmon_webhook_url: must start with http"):
        check_url("file:///etc/passwd", field="btrmon_webhook_url")
    with pytest.raises(UnsafeURL, match="empty"):
        check_url("")
    assert check_url("http://127.0.0.1:9/x", allow_private=True) == "http://127.0.0.1:9/x"
    assert check_url("http://93.184.215.14/hook") == "http://93.184.215.14/hook"


def test_send_test_notification(monitor, notifier, sink):
    receiver = sink()
    with pytest.raises(ValueError, match="not configured"):
        notifier.send_test("webhook")
    with pytest.raises(ValueError, match="unknown channel"):
        notifier.send_test("pigeon")
    monitor.config.set("btrmon_webhook_url", receiver.url)
    (delivery_id,) = notifier.send_test("webhook")
    assert delivery(monitor, notifier, delivery_id)["status"] == "delivered"
    assert json.loads(receiver.requests[0]["body"])["event"] == "test"


def test_a_hanging_receiver_never_blocks_rule_evaluation(monitor, notifier, sink):
    from btrmon.alerts.engine import AlertEngine
    from tests.alert_support import add, errors

    receiver = sink()
    receiver.hanging = True
    monitor.config.set("btrmon_webhook_url", receiver.url)
    monitor.config.set("btrmon_webhook_timeout", 30)
    now = utcnow()
    add(monitor, errors(3, component="payment", now=now, minutes_before=1))
    report = AlertEngine(monitor, notifier=notifier).evaluate(now)  # returns while the receiver holds the POST
    assert report.fired and not report.errors
    wait_for(lambda: receiver.requests)
    (delivery_id,) = q.deliveries(monitor.db).query("channel == 'webhook'").delivery_id
    assert q.get_delivery(monitor.db, delivery_id)["status"] == "pending"
    assert q.delivery_attempts(monitor.db, delivery_id) == []  # no answer yet, yet evaluation is done
    receiver.hang.set()
    assert delivery(monitor, notifier, delivery_id)["status"] == "delivered"


# -- Slack and SMS -----------------------------------------------------------------------------
def test_slack_attachment_coloured_with_fields(monitor, notifier, sink):
    receiver = sink()
    monitor.config.set("btrmon_slack_webhook_url", receiver.url + "/services/T/B/X")
    monitor.config.set("btrmon_slack_channel", "#alerts")
    monitor.config.set("btrmon_slack_username", "btrmon-bot")
    evil = note(at="2026-01-01T00:00:00Z", component="<!channel> <http://evil.example|pay here>",
                message="failures & <!everyone>")
    (delivery_id,) = notifier.notify(evil, ("slack",))
    assert delivery(monitor, notifier, delivery_id)["status"] == "delivered"
    payload = json.loads(receiver.requests[0]["body"])
    assert "<!" not in json.dumps(payload) and "<http" not in json.dumps(payload)  # no mentions or links injected
    assert payload["attachments"][0]["text"] == "failures &amp; &lt;!everyone&gt;"
    assert payload["channel"] == "#alerts" and payload["username"] == "btrmon-bot"
    (attachment,) = payload["attachments"]
    assert attachment["color"] == "#d9534f" and "Payment Failures" in attachment["title"]
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields["Severity"] == "critical" and fields["Value"] == "4" and fields["Window"] == "60 min"
    assert attachment["title_link"] == "http://dash.example/alerts" and attachment["ts"] == 1767225600


def test_sms_twilio_form_with_basic_auth_for_critical_only(monitor, notifier, sink):
    receiver = sink([201, 201])
    for name, value in (("btrmon_sms_base_url", receiver.url), ("btrmon_sms_account_sid", "AC123"),
                        ("btrmon_sms_auth_token", "secret"), ("btrmon_sms_from", "+15550000"),
                        ("btrmon_sms_recipients", ["+15551111", "+15552222"])):
        monitor.config.set(name, value)
    assert notifier.notify(note(severity="warning"), ("sms",)) == []
    ids = notifier.notify(note(severity="emergency"), ("sms",))
    assert len(ids) == 2 and all(delivery(monitor, notifier, i)["status"] == "delivered" for i in ids)
    first = receiver.requests[0]
    assert first["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    form = parse_qs(first["body"].decode())
    assert form["From"] == ["+15550000"] and "Payment Failures" in form["Body"][0]
    assert sorted(parse_qs(r["body"].decode())["To"][0] for r in receiver.requests) == ["+15551111", "+15552222"]
    assert first["headers"]["Authorization"] == "Basic " + base64.b64encode(b"AC123:secret").decode()


def test_notification_channels_filter_adds_a_channel(monitor, notifier):
    hooks = monitor.hooks
    sent = []

    class Pager:
        name = "pager"

        def configured(self, config): return True
        def targets(self, config): return ["oncall"]
        def accepts(self, n): return True
        def send(self, n, target, key, config): sent.append((n.rule_id, target)) or 200

    hooks.add_filter("btr_monitor_notification_channels", lambda found: {**found, "pager": Pager()})
    (delivery_id,) = notifier.notify(note(), ("pager",))
    assert delivery(monitor, notifier, delivery_id)["status"] == "delivered"
    assert sent == [("payment_failures", "oncall")]


# -- email --------------------------------------------------------------------------------------
class Mailbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(monitor):
    """Factory: ``smtp(security, recipients, **options)`` starts a real SMTP server (aiosmtpd) on
    127.0.0.1, points the monitor's email settings at it and returns its ``Mailbox``."""
    controllers: list[Controller] = []

    def start(security: str = "none", recipients=("ops@example.com",), **options) -> Mailbox:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mailbox = Mailbox()
        controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        controllers.append(controller)
        for name, value in (("btrmon_smtp_host", "127.0.0.1"), ("btrmon_smtp_port", port),
                            ("btrmon_smtp_security", security), ("btrmon_email_recipients", list(recipients))):
            monitor.config.set(name, value)
        return mailbox

    yield start
    for controller in controllers:
        controller.stop()


def test_email_html_and_text_parts_without_header_injection(monitor, notifier, smtp):
    smtp_server = smtp(recipients=["ops@example.com", "dev@example.com"])
    monitor.config.set("btrmon_email_from", "btrmon@example.com")
    evil = note(rule_name="Payment\r\nBcc: victim@evil.example\r\nX-Injected: yes",
                message="<script>alert(1)</script> failures")
    (delivery_id,) = notifier.notify(evil, ("email",))
    assert delivery(monitor, notifier, delivery_id)["status"] == "delivered"
    (rcpt, raw), = smtp_server.messages
    assert sorted(rcpt) == ["dev@example.com", "ops@example.com"]
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "\n" not in message["Subject"] and "Payment" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "failures" in text and "Window: 60 minutes" in text and "http://dash.example/alerts" in text
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert 'name="viewport"' in html and "max-width:600px" in html and "http://dash.example/alerts" in html
    assert "critical" in html


def test_email_refused_recipient_address_is_not_retried(monitor, notifier, smtp):
    smtp_server = smtp(recipients=["ops@example.com\r\nBcc: x@evil.example"])
    (delivery_id,) = notifier.notify(note(), ("email",))
    row = delivery(monitor, notifier, delivery_id)
    assert row["status"] == "dead" and "btrmon_email_recipients" in row["last_error"]
    assert smtp_server.messages == []


def test_channel_settings_are_checked_when_saved(monitor):
    from btrmon.alerts.channels.settings import save_channel_settings

    with pytest.raises(ValueError, match="btrmon_webhook_url: .*loopback"):
        save_channel_settings(monitor, {"btrmon_webhook_url": "http://127.0.0.1:8080/hook"})
    with pytest.raises(ValueError, match="btrmon_email_recipients"):
        save_channel_settings(monitor, {"btrmon_email_recipients": "ops@example.com, not-an-address"})
    with pytest.raises(ValueError, match="btrmon_webhook_timeout"):
        save_channel_settings(monitor, {"btrmon_webhook_timeout": "soon"})
    with pytest.raises(ValueError, match="btr_monitor_enabled: not a channel setting"):
        save_channel_settings(monitor, {"btr_monitor_enabled": "false"})
    assert monitor.config.get("btrmon_webhook_url") == ""  # nothing stored after a refusal
    changed = save_channel_settings(monitor, {"btrmon_allow_private_urls": "true",
                                              "btrmon_webhook_url": "http://127.0.0.1:8080/hook",
                                              "btrmon_email_recipients": "ops@example.com, dev@example.com",
                                              "btrmon_sms_auth_token": "s3cret"})
    assert set(changed) == {"btrmon_allow_private_urls", "btrmon_webhook_url", "btrmon_email_recipients",
                            "btrmon_sms_auth_token"}
    assert monitor.config.get("btrmon_email_recipients") == ["ops@example.com", "dev@example.com"]
    save_channel_settings(monitor, {"btrmon_sms_auth_token": ""})  # an empty secret keeps the stored one
    assert monitor.config.get("btrmon_sms_auth_token") == "s3cret"


def test_backoff_is_5s_times_1_5_up_to_30s_with_jitter():
    exact = RetryPolicy(jitter=0)
    assert [round(exact.delay(n), 3) for n in range(1, 8)] == [5, 7.5, 11.25, 16.875, 25.312, 30, 30]
    assert exact.deadline == 300
    jittered = RetryPolicy()
    delays = {jittered.delay(1) for _ in range(50)}
    assert len(delays) > 1 and all(4 <= d <= 6 for d in delays)


def test_email_logs_in_when_a_user_is_set(monitor, notifier, smtp):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"mailer", b"pw")
        logins.append(ok)
        return AuthResult(success=ok)

    mailbox = smtp(authenticator=authenticator, auth_require_tls=False)
    monitor.config.set("btrmon_smtp_user", "mailer")
    monitor.config.set("btrmon_smtp_password", "pw")
    (delivery_id,) = notifier.notify(note(), ("email",))
    assert delivery(monitor, notifier, delivery_id)["status"] == "delivered"
    assert logins == [True] and len(mailbox.messages) == 1


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (openssl CLI), trusted through SSL_CERT_FILE."""
    import shutil
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_email_over_tls(monitor, notifier, smtp, certificate, monkeypatch, security):
    import ssl

    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client verifies the server against it
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    options = {"tls_context": context, "require_starttls": True} if security == "starttls" else {"ssl_context": context}
    mailbox = smtp(security, **options)
    (delivery_id,) = notifier.notify(note(), ("email",))
    assert delivery(monitor, notifier, delivery_id)["status"] == "delivered"
    assert len(mailbox.messages) == 1
