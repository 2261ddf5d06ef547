"""The alerts page and the admin notices in real headless chromium."""

from __future__ import annotations

import pytest

from btrmon import users
from btrmon.alerts.engine import close_engine, get_engine
from btrmon.queries import alerts as q
from btrmon.store import utcnow
from tests.alert_support import add, errors, requests

PASSWORD = "correct horse battery"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    chromium = manager.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"])
    yield chromium
    chromium.close()
    manager.stop()


@pytest.fixture
def firing(monitor):
    """One open Payment Failures alert."""
    add(monitor, errors(4, component="payment", now=utcnow(), minutes_before=2))
    report = get_engine(monitor).evaluate()
    assert report.fired
    yield report.fired[0]
    close_engine(monitor)


def login(browser, server, username: str, role: str, monitor):
    users.create_user(monitor, username, PASSWORD, role)
    page = browser.new_page()
    page.console_errors = []
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/login?next=/alerts")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    return page


def test_admin_acknowledges_and_previews(monitor, app_server, browser, firing):
    page = login(browser, app_server, "ana", "admin", monitor)
    page.wait_for_selector("#alr-active .alert-row", timeout=30000)
    assert "Payment Failures" in page.inner_text("#alr-active")
    page.wait_for_selector(".admin-notices .alert", timeout=30000)
    assert "CRITICAL" in page.inner_text(".admin-notices")
    page.fill("#alr-comment", "on it")
    page.locator("#alr-active button", has_text="Acknowledge").click()
    page.wait_for_selector("text=acknowledged.", timeout=30000)
    alert = q.get_alert(monitor.db, firing)
    assert alert["state"] == "acknowledged" and alert["acknowledged_by"] == "ana"
    assert alert["ack_comment"] == "on it"
    # 13 % errors three hours ago: High Error Rate (the rule picked first) would have fired then
    add(monitor, requests(30, now=utcnow(), minutes_before=180) + errors(4, now=utcnow(), minutes_before=180))
    page.click("#alr-rule-preview-button")
    page.wait_for_selector("#alr-preview-summary >> text=would have fired 1 time(s)", timeout=30000)
    page.fill("#alr-rule-threshold", "50")  # previewed before saving: with 50 % it would not have fired
    page.click("#alr-rule-preview-button")
    page.wait_for_selector("#alr-preview-summary >> text=would not have fired", timeout=30000)
    assert monitor.config.get("btr_alert_error_rate_threshold") == 5
    page.click("#alr-rule-save")
    page.wait_for_selector("text=Saved: High Error Rate", timeout=30000)
    assert monitor.config.get("btr_alert_error_rate_threshold") == 50
    page.locator("#alr-active button", has_text="Resolve").click()
    page.wait_for_selector("#alr-none", timeout=30000)
    assert q.get_alert(monitor.db, firing)["resolved_by"] == "ana"
    assert not page.console_errors, page.console_errors


def test_notice_acknowledge_and_dismissal_for_the_session(monitor, app_server, browser, firing):
    page = login(browser, app_server, "ana", "admin", monitor)
    page.wait_for_selector("#alr-active", timeout=30000)
    page.goto(app_server.url + "/")  # notices show on every page, not only on /alerts
    page.wait_for_selector(".admin-notices .alert", timeout=30000)
    assert "Payment Failures" in page.inner_text(".admin-notices")
    page.locator(".admin-notices .alert button", has_text="Acknowledge").click()  # acknowledge from the notice
    page.wait_for_selector(".admin-notices >> text=acknowledged by ana", timeout=30000)
    alert = q.get_alert(monitor.db, firing)
    assert alert["state"] == "acknowledged" and alert["acknowledged_by"] == "ana"
    page.locator(".admin-notices .alert .btn-close").first.click()
    page.wait_for_selector(".admin-notices .alert", state="detached", timeout=30000)
    page.goto(app_server.url + "/alerts")
    page.wait_for_selector("#notices-rendered", state="attached", timeout=30000)
    assert page.get_attribute("#notices-rendered", "data-shown") == "0"
    assert page.locator(".admin-notices .alert").count() == 0
    assert not page.console_errors, page.console_errors


def test_viewer_sees_alerts_without_actions(monitor, app_server, browser, firing):
    page = login(browser, app_server, "vic", "viewer", monitor)
    page.wait_for_selector("#alr-active .alert-row", timeout=30000)
    assert page.locator("#alr-active button").count() == 0
    assert page.locator(".admin-notices button", has_text="Acknowledge").count() == 0
    assert "Only admins" in page.inner_text(".alerts-page")
    assert not page.console_errors, page.console_errors


def test_channel_settings_test_button_and_send_again(monitor, app_server, browser, serve_wsgi):
    from tests.conftest import wait_for

    received = []

    def sink(environ, start_response):
        received.append(environ.get("HTTP_IDEMPOTENCY_KEY"))
        start_response("400 Bad Request" if len(received) == 1 else "200 OK", [("Content-Type", "text/plain")])
        return [b""]

    receiver = serve_wsgi(sink)
    monitor.config.set("btrmon_allow_private_urls", True)
    page = login(browser, app_server, "ana", "admin", monitor)
    field = page.locator("""[id='{"index":"btrmon_webhook_url","type":"alr-ch-field"}']""")
    field.fill("ftp://nowhere")
    page.click("#alr-ch-save")
    page.wait_for_selector("#alr-ch-result .alert-danger", timeout=30000)
    assert "btrmon_webhook_url" in page.inner_text("#alr-ch-result")
    field.fill(receiver.url + "/hook")
    page.click("#alr-ch-save")
    page.wait_for_selector("text=Saved 1 setting(s).", timeout=30000)
    assert monitor.config.get("btrmon_webhook_url") == receiver.url + "/hook"
    page.locator("""[id='{"index":"webhook","type":"alr-ch-test"}']""").click()
    page.wait_for_selector("text=Test notification queued on webhook", timeout=30000)
    wait_for(lambda: not q.deliveries(monitor.db, status="dead").empty, timeout=30)
    page.reload()
    page.wait_for_selector("#alr-dead-letters", timeout=30000)
    page.locator("#alr-dead-letters button", has_text="Send again").click()
    page.wait_for_selector("text=Queued again.", timeout=30000)
    wait_for(lambda: (q.deliveries(monitor.db).status == "delivered").all(), timeout=30)
    assert len(received) == 2 and received[0] == received[1]
    assert not page.console_errors, page.console_errors
    close_engine(monitor)


def test_delivery_log_shows_urls_without_their_secret_path():
    from pages._alerts_parts import shown_target

    assert shown_target("https://hooks.slack.com/services/T000/B000/XXXX") == "https://hooks.slack.com/..."
    assert shown_target("http://user:pw@127.0.0.1:8080/") == "http://127.0.0.1:8080/"
    assert shown_target("+15551111") == "+15551111" and shown_target("dashboard") == "dashboard"
