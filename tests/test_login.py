"""Login, roles and cross-site refusal on the real app served on 127.0.0.1."""

from __future__ import annotations

import io
import json

import pytest
import requests

from btrmon import users
from btrmon.cli import CommandContext, run_argv
from tests import querydata as data
from btrmon.store import utcnow

ADMIN, ADMIN_PW = "admin", "admin-password-1"
VIEWER, VIEWER_PW = "viewer", "viewer-password-1"


@pytest.fixture
def app(monitor, app_server):
    data.load(monitor, utcnow())
    users.create_user(monitor, ADMIN, ADMIN_PW, "admin")
    users.create_user(monitor, VIEWER, VIEWER_PW, "viewer")
    return app_server


def login(app, username: str, password: str) -> requests.Session:
    session = requests.Session()
    response = session.post(app.url + "/login", data={"username": username, "password": password},
                            allow_redirects=False, headers={"Origin": app.url})
    assert response.status_code == 302, response.text
    return session


def _fingerprint(monitor) -> str:
    return monitor.db.query("SELECT fingerprint FROM errors WHERE error_level = 'critical' LIMIT 1")[0][0]


def resolve_payload(fingerprint: str) -> dict:
    """What the browser posts when an admin presses 'Mark resolved'."""
    button = {"index": fingerprint, "type": "err-resolve-button"}
    return {
        "output": "err-resolve-result.children",
        "outputs": {"id": "err-resolve-result", "property": "children"},
        "inputs": [[{"id": button, "property": "n_clicks", "value": 1}]],
        "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True) + ".n_clicks"],
        "state": [],
    }


def unresolved(monitor, fingerprint: str) -> int:
    return monitor.db.query("SELECT count(*) FROM errors WHERE fingerprint = ? AND NOT resolved", [fingerprint])[0][0]


def test_logged_out_access_is_refused(app, monitor):
    page = requests.get(app.url + "/performance?tf=1h", allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/performance?tf=1h"
    assert requests.get(app.url + "/_dash-layout").status_code == 401
    assert requests.get(app.url + "/_dash-dependencies").status_code == 401
    fingerprint = _fingerprint(monitor)
    posted = requests.post(app.url + "/_dash-update-component", json=resolve_payload(fingerprint))
    assert posted.status_code == 401
    assert unresolved(monitor, fingerprint) == 2


def test_login_sets_a_strict_cookie_and_opens_pages(app):
    session = requests.Session()
    response = session.post(app.url + "/login", data={"username": ADMIN, "password": ADMIN_PW, "next": "/errors"},
                            allow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"] == "/errors"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert session.get(app.url + "/_dash-layout").status_code == 200
    assert session.get(app.url + "/logout").status_code == 200  # redirected to the login page
    assert session.get(app.url + "/_dash-layout").status_code == 401


def test_wrong_password_and_rate_limit(app):
    for _ in range(5):
        wrong = requests.post(app.url + "/login", data={"username": ADMIN, "password": "nope-nope"})
        assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    blocked = requests.post(app.url + "/login", data={"username": ADMIN, "password": ADMIN_PW}, allow_redirects=False)
    assert blocked.status_code == 429 and "Too many failed attempts" in blocked.text


def test_next_never_leaves_the_site(app):
    session = requests.Session()
    response = session.post(app.url + "/login", allow_redirects=False,
                            data={"username": ADMIN, "password": ADMIN_PW, "next": "//evil.example/x"})
    assert response.headers["Location"] == "/"


def test_cross_site_posts_are_refused(app, monitor):
    session = login(app, ADMIN, ADMIN_PW)
    fingerprint = _fingerprint(monitor)
    for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        refused = session.post(app.url + "/_dash-update-component", json=resolve_payload(fingerprint), headers=headers)
        assert refused.status_code == 403
    assert unresolved(monitor, fingerprint) == 2
    forged_login = requests.post(app.url + "/login", data={"username": ADMIN, "password": ADMIN_PW},
                                 headers={"Origin": "http://evil.example"}, allow_redirects=False)
    assert forged_login.status_code == 403


def test_viewer_cannot_resolve_but_admin_can(app, monitor):
    fingerprint = _fingerprint(monitor)
    viewer = login(app, VIEWER, VIEWER_PW)
    answer = viewer.post(app.url + "/_dash-update-component", json=resolve_payload(fingerprint),
                         headers={"Origin": app.url, "Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 200 and "Only admins" in answer.text
    assert unresolved(monitor, fingerprint) == 2
    admin = login(app, ADMIN, ADMIN_PW)
    answer = admin.post(app.url + "/_dash-update-component", json=resolve_payload(fingerprint),
                        headers={"Origin": app.url})
    assert answer.status_code == 200 and "Marked 2 error(s) resolved" in answer.text
    assert unresolved(monitor, fingerprint) == 0
    assert monitor.db.query("SELECT DISTINCT resolved_by FROM errors WHERE fingerprint = ?", [fingerprint]) == [(ADMIN,)]


def test_changing_password_or_deleting_ends_sessions(app, monitor):
    viewer = login(app, VIEWER, VIEWER_PW)
    assert viewer.get(app.url + "/_dash-layout").status_code == 200
    users.set_password(monitor, VIEWER, "another-password")
    assert viewer.get(app.url + "/_dash-layout").status_code == 401
    viewer = login(app, VIEWER, "another-password")
    users.delete_user(monitor, VIEWER)
    assert viewer.get(app.url + "/_dash-layout").status_code == 401


def test_dashboard_api_needs_a_key(app, monitor, api_key):
    assert requests.get(app.url + "/api/v1/dashboard").status_code == 401
    headers = {"Authorization": f"Bearer {api_key}"}
    bad = requests.get(app.url + "/api/v1/dashboard?timeframe=2d", headers=headers)
    assert bad.status_code == 400 and "timeframe" in bad.json()["error"]
    body = requests.get(app.url + "/api/v1/dashboard?timeframe=1h", headers=headers).json()
    assert body["timeframe"] == "1h" and body["performance"]["requests"] == 4
    assert body["errors"]["critical"] == 2 and body["journey"]["sessions"] == 4


def test_passwords_are_salted_slow_hashes(monitor):
    first, second = users.hash_password("same-password"), users.hash_password("same-password")
    assert first != second and first.startswith("scrypt$")
    assert users.check_password("same-password", first) and not users.check_password("other", first)
    with pytest.raises(ValueError, match="password"):
        users.create_user(monitor, "shorty", "short")
    with pytest.raises(ValueError, match="username"):
        users.create_user(monitor, "bad name!", "long-enough-1")
    with pytest.raises(ValueError, match="role"):
        users.create_user(monitor, "someone", "long-enough-1", "root")


def test_ensure_admin_once(monitor, monkeypatch):
    monkeypatch.setenv("BTRMON_ADMIN_PASSWORD", "from-the-env-1")
    assert users.ensure_admin(monitor) == "from-the-env-1"
    assert users.authenticate(monitor, "admin", "from-the-env-1")["role"] == "admin"
    assert users.ensure_admin(monitor) is None


def run_cli(monitor, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    ctx = CommandContext(db_path=monitor.db.path, out=out, monitor_factory=lambda: monitor)
    return run_argv(list(argv), ctx), out.getvalue()


def test_users_command(monitor):
    code, out = run_cli(monitor, "users", "create", "carol", "--role", "admin")
    assert code == 0 and "password (shown once): " in out
    password = out.strip().rsplit(" ", 1)[-1]
    assert users.authenticate(monitor, "carol", password)["role"] == "admin"
    assert run_cli(monitor, "users", "create", "dave", "--password", "dave-password")[0] == 0
    code, out = run_cli(monitor, "users", "list")
    assert "carol" in out and "dave" in out and "viewer" in out
    assert run_cli(monitor, "users", "set-password", "dave", "--password", "new-dave-pass")[0] == 0
    assert users.authenticate(monitor, "dave", "new-dave-pass")
    code, out = run_cli(monitor, "users", "delete", "carol")
    assert code == 2 and "last admin" in out
    assert run_cli(monitor, "users", "delete", "dave")[0] == 0
    assert [u["username"] for u in users.list_users(monitor)] == ["carol"]


def test_dashboard_switch_turns_pages_off(app, monitor):
    session = login(app, VIEWER, VIEWER_PW)
    monitor.config.set("btr_monitor_dashboard", False)
    off = session.get(app.url + "/errors")
    assert off.status_code == 503 and "btr_monitor_dashboard" in off.text
    assert session.get(app.url + "/_dash-layout").status_code == 503
    monitor.config.set("btr_monitor_dashboard", True)
    assert session.get(app.url + "/_dash-layout").status_code == 200


def test_viewer_cannot_save_settings_by_posting_the_callback(app, monitor):
    field = {"index": "btr_monitor_cache_ttl", "type": "set-field"}
    payload = {
        "output": "set-result.children",
        "outputs": {"id": "set-result", "property": "children"},
        "inputs": [{"id": "set-save", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["set-save.n_clicks"],
        "state": [[{"id": field, "property": "value", "value": "60"}],
                  [{"id": field, "property": "id", "value": field}]],
    }
    viewer = login(app, VIEWER, VIEWER_PW)
    answer = viewer.post(app.url + "/_dash-update-component", json=payload, headers={"Origin": app.url})
    assert answer.status_code == 200 and "Only admins can change settings" in answer.text
    assert monitor.config["btr_monitor_cache_ttl"] == 300
    admin = login(app, ADMIN, ADMIN_PW)
    answer = admin.post(app.url + "/_dash-update-component", json=payload, headers={"Origin": app.url})
    assert "Saved 1 setting(s): btr_monitor_cache_ttl" in answer.text
    assert monitor.config["btr_monitor_cache_ttl"] == 60


def test_login_limiter_prunes_old_keys():
    from btrmon.dashboard.auth import LoginLimiter

    limiter = LoginLimiter()
    limiter.fail(["user:a"])
    assert not limiter.blocked(["user:a"], 2)
    limiter.fail(["user:a"])
    assert limiter.blocked(["user:a"], 2)
    assert not limiter.blocked(["user:a"], 2, now=10**9)  # outside the 5-minute window
