"""Dashboard login: Flask session cookie, rate-limited attempts, roles, cross-site refusal.

Everything outside ``/api/`` and Flask blueprints (which do their own API-key
auth) and ``/login`` needs a
logged-in user: pages, Dash's ``/_dash-*`` endpoints (layout, dependencies, every
callback and download) and assets. A browser page request without a session is
redirected to ``/login``; anything else gets 401. State-changing requests (POST...)
whose ``Sec-Fetch-Site`` or ``Origin`` says another site sent them get 403.
The session cookie is HttpOnly and SameSite=Lax and carries a fingerprint of the
password hash, so changing a password or deleting a user ends their sessions.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict, deque
from datetime import timedelta
from urllib.parse import urlsplit

import flask
from markupsafe import escape

from btrmon import users

PUBLIC_PREFIXES = ("/api/", "/login", "/favicon.ico")
_UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
_FAILURE_WINDOW = 300.0
_MAX_KEYS = 10_000


class LoginLimiter:
    """Counts failed logins per key (address, user) in a sliding window."""

    def __init__(self) -> None:
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def blocked(self, keys: list[str], limit: int, now: float | None = None) -> bool:
        """True when any key reached ``limit`` failures within the window."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                times = self._failures.get(key)
                while times and now - times[0] > _FAILURE_WINDOW:
                    times.popleft()
                if times and len(times) >= limit:
                    return True
        return False

    def fail(self, keys: list[str]) -> None:
        """Record one failure for each key (old keys are pruned so guessing names cannot fill memory)."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > _MAX_KEYS:
                self._failures = defaultdict(deque, {
                    k: v for k, v in self._failures.items() if v and now - v[-1] <= _FAILURE_WINDOW})
            for key in keys:
                self._failures[key].append(now)

    def reset(self, keys: list[str]) -> None:
        """Forget the failures of ``keys`` (after a successful login)."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


def _hash_tag(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


def current_user() -> dict | None:
    """``{"username", "role"}`` of the logged-in user of this request, or None."""
    return flask.g.get("btrmon_user")


def is_admin() -> bool:
    """True when the user of this request is an admin."""
    user = current_user()
    return bool(user and user["role"] == "admin")


def _load_user(monitor) -> dict | None:
    name, tag = flask.session.get("user"), flask.session.get("tag")
    if not name or not tag:
        return None
    user = users.get_user(monitor, name)
    if user is None or _hash_tag(user["password_hash"]) != tag:
        return None
    return {"username": user["username"], "role": user["role"]}


def cross_site(request: flask.Request) -> bool:
    """True when a browser says another site sent this request."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return True
    origin = request.headers.get("Origin")
    if origin:
        if origin == "null":
            return True
        parts = urlsplit(origin)
        if parts.netloc.lower() != request.host.lower():
            return True
    return False


def _safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def install(server: flask.Flask, monitor) -> None:
    """Add the login routes and the access check to ``server``."""
    limiter = LoginLimiter()
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="btrmon_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=float(monitor.config["btrmon_session_hours"])),
    )
    server.extensions["btrmon_login_limiter"] = limiter

    @server.before_request
    def require_login():
        request = flask.request
        if request.method in _UNSAFE_METHODS and not request.path.startswith("/api/") and cross_site(request):
            return flask.Response("cross-site request refused", status=403, mimetype="text/plain")
        if request.path.startswith(PUBLIC_PREFIXES) or request.blueprint:
            return None  # blueprints (API, /metrics...) do their own authentication
        user = _load_user(monitor)
        if user is None:
            if request.method == "GET" and not request.path.startswith(("/_dash", "/assets", "/_reload")):
                return flask.redirect("/login?next=" + flask.request.full_path.rstrip("?"))
            return flask.Response("login required", status=401, mimetype="text/plain")
        flask.g.btrmon_user = user
        if not monitor.config["btr_monitor_dashboard"]:
            return flask.Response("The dashboard is turned off (btr_monitor_dashboard = false). Turn it on with "
                                  "`python -m btrmon config set btr_monitor_dashboard true`.",
                                  status=503, mimetype="text/plain")
        return None

    @server.route("/login", methods=["GET", "POST"])
    def login():
        request = flask.request
        target = _safe_next(request.values.get("next"))
        if request.method == "GET":
            return _login_page(target)
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        keys = ["addr:" + str(request.remote_addr), "user:" + username.lower()]
        limit = int(monitor.config["btrmon_login_max_failures"])
        if limiter.blocked(keys, limit):
            monitor.counters.add("login_refused")
            return _login_page(target, "Too many failed attempts. Wait 5 minutes and try again.", 429)
        user = users.authenticate(monitor, username, password)
        if user is None:
            limiter.fail(keys)
            monitor.counters.add("login_failed")
            return _login_page(target, "Wrong username or password.", 401)
        limiter.reset(keys[1:])
        flask.session.clear()
        flask.session.permanent = True
        flask.session["user"] = user["username"]
        flask.session["tag"] = _hash_tag(user["password_hash"])
        monitor.counters.add("login_ok")
        return flask.redirect(target)

    @server.route("/logout", methods=["GET", "POST"])
    def logout():
        flask.session.clear()
        return flask.redirect("/login")


def _login_page(target: str, message: str = "", status: int = 200):
    alert = f'<p class="err" role="alert">{escape(message)}</p>' if message else ""
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>btrmon login</title>
<style>body{{font-family:system-ui,sans-serif;background:#f4f6f9;display:flex;justify-content:center;
align-items:center;height:100vh;margin:0}}form{{background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 2px 12px #0002;width:320px}}h1{{font-size:1.4rem;margin:0 0 1rem}}label{{display:block;
margin:.6rem 0 .2rem;font-size:.9rem}}input{{width:100%;padding:.5rem;box-sizing:border-box;
border:1px solid #ccd;border-radius:4px}}button{{margin-top:1.2rem;width:100%;padding:.6rem;border:0;
border-radius:4px;background:#0d6efd;color:#fff;font-size:1rem;cursor:pointer}}
.err{{color:#b02a37;background:#f8d7da;padding:.5rem;border-radius:4px}}</style></head><body>
<form method="post" action="/login"><h1>btrmon</h1>{alert}
<input type="hidden" name="next" value="{escape(target)}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login-button">Log in</button></form></body></html>"""
    return flask.Response(html, status=status, mimetype="text/html")
