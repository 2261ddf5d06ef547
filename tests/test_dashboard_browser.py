"""The dashboard in headless Debian chromium (Playwright) against the real app on 127.0.0.1."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from btrmon import users
from btrmon.store import utcnow
from tests import querydata as data

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]
ADMIN_PW, VIEWER_PW = "admin-password-1", "viewer-password-1"
PAGES = {  # path -> (selector, text it shows for the known data in 24h)
    "/": ("#ov-requests", "6"),
    "/performance": ("#perf-requests", "6"),
    "/errors": ("#err-critical", "2"),
    "/journey": ("#jrn-sessions", "5"),
    "/health": ("#status-database", "critical"),
    "/activity": ("#act-log", "Payment failed for order 456"),
    "/settings": ("#_pages_content", "btr_monitor_cache_ttl"),
}


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def app(monitor, app_server):
    data.load(monitor, utcnow())
    users.create_user(monitor, "admin", ADMIN_PW, "admin")
    users.create_user(monitor, "viewer", VIEWER_PW, "viewer")
    return app_server


class Tab:
    """A logged-in page that records console errors and refuses JavaScript dialogs."""

    def __init__(self, browser, app, username: str, password: str) -> None:
        self.context = browser.new_context(viewport={"width": 1300, "height": 900}, accept_downloads=True)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("dialog", lambda dialog: (self.dialogs.append(dialog.message), dialog.dismiss()))
        self.url = app.url
        self.page.goto(app.url + "/")
        expect(self.page).to_have_url(re.compile(r"/login"))
        self.page.fill("#username", username)
        self.page.fill("#password", password)
        self.page.click("#login-button")
        expect(self.page.locator("#nav-user")).to_have_text(username)

    def open(self, path: str) -> Page:
        self.page.goto(self.url + path)
        return self.page


@pytest.fixture
def admin(browser, app):
    tab = Tab(browser, app, "admin", ADMIN_PW)
    yield tab
    tab.context.close()


@pytest.fixture
def viewer(browser, app):
    tab = Tab(browser, app, "viewer", VIEWER_PW)
    yield tab
    tab.context.close()


def test_every_page_loads_with_data_and_no_console_errors(admin):
    for path, (selector, text) in PAGES.items():
        page = admin.open(path)
        expect(page.locator(selector)).to_contain_text(text, timeout=15000)
        expect(page.locator(".panel-error")).to_have_count(0)
    nav = admin.page.locator("#navbar").inner_text()
    assert all(name in nav for name in ("Overview", "Performance", "Errors", "User journey", "System health",
                                        "Activity log", "Settings"))
    assert admin.errors == []


def _trace_x(page: Page) -> list:
    return page.evaluate("() => Array.from(document.querySelector('#perf-response .js-plotly-plot').data[0].x)")


def test_timeframe_change_changes_figures_and_url(admin):
    page = admin.open("/performance?tf=24h")
    expect(page.locator("#perf-requests")).to_contain_text("6", timeout=15000)
    page.wait_for_selector("#perf-response .js-plotly-plot")
    day = _trace_x(page)
    page.click("#tf-1h")
    expect(page).to_have_url(re.compile(r"/performance\?tf=1h$"))
    expect(page.locator("#perf-requests")).to_contain_text("4")
    page.wait_for_function("(n) => { const g = document.querySelector('#perf-response .js-plotly-plot');"
                           " return g && g.data && g.data[0].x.length === n; }", arg=4)
    assert _trace_x(page) != day
    page.reload()
    expect(page.locator("#tf-1h")).to_have_class(re.compile("active"))
    expect(page.locator("#perf-requests")).to_contain_text("4")
    assert admin.errors == []


def _set_visibility(page: Page, state: str) -> None:
    page.evaluate("""(state) => {
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state});
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => state !== 'visible'});
        document.dispatchEvent(new Event('visibilitychange'));
    }""", state)


def test_refresh_pauses_while_hidden_and_resumes(admin, monitor):
    monitor.config.set("btrmon_dashboard_refresh", 1)  # read by the shell layout on each page load
    page = admin.open("/")
    state = page.locator("#refresh-state")
    expect(state).to_have_text("auto refresh: every 1 s", timeout=15000)
    _set_visibility(page, "hidden")
    expect(state).to_have_text("auto refresh: paused (tab hidden)")
    assert page.evaluate("document.documentElement.getAttribute('data-refresh')") == "paused"
    stamp = page.locator("#last-updated").inner_text()
    _set_visibility(page, "visible")
    expect(state).to_have_text("auto refresh: every 1 s")
    expect(page.locator("#last-updated")).not_to_have_text(stamp, timeout=10000)
    assert admin.errors == []


def test_html_in_an_error_message_renders_as_text(admin):
    page = admin.open("/errors?tf=1h")
    row = page.locator("#recent-table tr", has_text="php_error").first
    expect(row).to_contain_text('<script>alert("x")</script>', timeout=15000)
    assert page.locator('#_pages_content a[href^="javascript"]').count() == 0
    assert page.locator("#_pages_content td script").count() == 0
    row.get_by_role("button", name="details").click()
    expect(page.locator("#detail-message")).to_have_text(data.HTML_MESSAGE)
    expect(page.locator(".modal pre.stack")).to_contain_text("<script>")
    assert admin.dialogs == [] and admin.errors == []


def test_admin_resolves_an_error_group(admin, monitor):
    page = admin.open("/errors?tf=1h")
    group = page.locator("#groups-table tr", has_text="Payment failed")
    group.get_by_role("button", name="Mark resolved").click()
    expect(page.get_by_text("Marked 2 error(s) resolved.")).to_be_visible()
    expect(page.locator("#groups-table tr", has_text="Payment failed")).to_contain_text("resolved")
    assert monitor.db.query("SELECT count(*) FROM errors WHERE resolved")[0][0] == 2


def test_admin_settings_are_validated_on_save(admin, monitor):
    page = admin.open("/settings")
    field = page.locator('[id*="btr_monitor_cache_ttl"]')
    field.fill("soon")
    page.click("#set-save")
    expect(page.locator("#settings-errors")).to_contain_text("btr_monitor_cache_ttl")
    assert monitor.config["btr_monitor_cache_ttl"] == 300
    field.fill("60")
    page.click("#set-save")
    expect(page.locator("#settings-saved")).to_contain_text("btr_monitor_cache_ttl")
    assert monitor.config["btr_monitor_cache_ttl"] == 60


def test_activity_filters_pause_and_download(admin):
    page = admin.open("/activity?tf=24h")
    log = page.locator("#act-log")
    expect(log).to_contain_text("request_duration", timeout=15000)
    assert page.evaluate("() => { const l = document.getElementById('act-log'); "
                         "return l.scrollHeight - l.scrollTop - l.clientHeight; }") < 30  # newest in view
    page.evaluate("""() => { const log = document.getElementById('act-log');
        log.scrollTop = 0; log.dispatchEvent(new Event('scroll')); }""")
    expect(page.locator("#act-scroll-state")).to_have_text("auto-scroll paused (scroll to the bottom to resume)")
    page.evaluate("""() => { const log = document.getElementById('act-log');
        log.scrollTop = log.scrollHeight; log.dispatchEvent(new Event('scroll')); }""")
    expect(page.locator("#act-scroll-state")).to_have_text("auto-scroll on")
    page.get_by_label("metric").uncheck()
    expect(log).not_to_contain_text("request_duration")
    page.click("#act-pause")
    expect(page.locator("#act-pause")).to_have_text("Resume")
    with page.expect_download() as download:
        page.click("#act-download-csv")
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.startswith("kind,timestamp,level") and "Payment failed" in text and "request_duration" not in text
    assert admin.errors == []


def test_viewer_cannot_reach_admin_actions(viewer):
    page = viewer.open("/errors?tf=1h")
    expect(page.locator("#groups-table")).to_contain_text("Payment failed", timeout=15000)
    assert page.get_by_role("button", name="Mark resolved").count() == 0
    assert "Settings" not in page.locator("#navbar").inner_text()
    page = viewer.open("/settings")
    expect(page.locator("#admin-only")).to_contain_text("Settings are for admins")
    assert page.locator("#set-save").count() == 0
    assert viewer.errors == []


def test_logged_out_access_is_refused(browser, app, monitor):
    context = browser.new_context()
    page = context.new_page()
    page.goto(app.url + "/errors?tf=1h")
    expect(page).to_have_url(re.compile(r"/login\?next=/errors\?tf=1h"))
    assert page.locator("#login-button").count() == 1
    answer = context.request.post(app.url + "/_dash-update-component", data={"output": "x.children"},
                                  headers={"Origin": app.url})
    assert answer.status in (401, 403)
    context.close()


def test_a_failing_panel_shows_its_error_and_the_rest_works(admin, monitor):
    monitor.writer.call(lambda con: con.execute("DROP TABLE health"))
    page = admin.open("/health")
    expect(page.locator("#hlt-latest .panel-error")).to_contain_text("health", timeout=15000)
    expect(page.locator("#hlt-series .panel-error")).to_be_visible()
    expect(page.locator("#navbar")).to_contain_text("Performance")
    page = admin.open("/performance")
    expect(page.locator("#perf-requests")).to_contain_text("6", timeout=15000)
    expect(page.locator(".panel-error")).to_have_count(0)


def test_empty_states_and_disabled_banner(browser, monitor, app_server):
    users.create_user(monitor, "admin", ADMIN_PW, "admin")
    monitor.config.set("btr_monitor_enabled", False)
    tab = Tab(browser, app_server, "admin", ADMIN_PW)
    page = tab.open("/")
    expect(page.locator("#overview-cards")).to_contain_text("No events in the last 24h yet.", timeout=15000)
    expect(page.locator("#overview-cards")).to_contain_text("POST /api/v1/events")
    expect(page.locator("#disabled-alert")).to_contain_text("Monitoring is disabled")
    page = tab.open("/journey")
    expect(page.locator("#jrn-funnel")).to_contain_text("conversion_funnel", timeout=15000)
    assert tab.errors == []
    tab.context.close()


def test_run_health_checks_now_and_error_filters(admin):
    page = admin.open("/health")
    expect(page.locator("#status-database")).to_contain_text("critical", timeout=15000)
    page.click("#hlt-run")
    expect(page.locator("#hlt-run-result")).to_contain_text(re.compile(r"ran \d+ check"), timeout=30000)
    expect(page.locator("#status-disk_space")).to_contain_text(re.compile("healthy|warning|critical"))
    page = admin.open("/errors?tf=24h")
    expect(page.locator("#recent-table")).to_contain_text("ajax broke", timeout=15000)
    page.locator("#err-filter-level").click()
    page.get_by_role("option", name="critical").click()
    expect(page.locator("#recent-table")).not_to_contain_text("ajax broke")
    expect(page.locator("#recent-table tbody tr")).to_have_count(2)
    assert admin.errors == []


def test_navigation_keeps_the_timeframe(admin):
    page = admin.open("/performance?tf=6h")
    expect(page.locator("#perf-requests")).to_contain_text("5", timeout=15000)
    page.locator("#navbar").get_by_role("link", name="Errors").click()
    expect(page).to_have_url(re.compile(r"/errors\?tf=6h$"))
    expect(page.locator("#err-rate")).to_contain_text("80.0 %")
    expect(page.locator("#navbar .nav-link.active")).to_have_text("Errors")
    assert admin.errors == []
