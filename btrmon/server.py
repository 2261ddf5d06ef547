"""The web server: Flask (API blueprints) with the Dash dashboard on top.

``create_app(monitor)`` builds the whole app; ``serve(...)`` runs it with waitress
(one process, several threads: DuckDB allows one writer process).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import secrets
import signal
import threading
from pathlib import Path

import flask
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent

# "module:attribute" of every Flask blueprint; each owner adds its own line.
API_BLUEPRINTS: list[str] = [
    "btrmon.ingest:blueprint",
    "btrmon.admin_api:blueprint",
    "btrmon.health_api:blueprint",
    "btrmon.export_api:blueprint",
    "btrmon.dashboard_api:blueprint",
]

_MONITOR_KEY = "BTRMON_MONITOR"


def current_monitor():
    """The monitor of the app serving the current request (pages and API use it)."""
    return flask.current_app.config[_MONITOR_KEY]


def create_flask(monitor) -> flask.Flask:
    """A Flask server with the API blueprints and JSON errors under ``/api/``."""
    server = flask.Flask("btrmon", root_path=str(ROOT))
    server.config[_MONITOR_KEY] = monitor
    server.config["MAX_CONTENT_LENGTH"] = None  # ingest enforces its own limit, also after gzip
    server.secret_key = _flask_secret(monitor)
    for spec in API_BLUEPRINTS:
        module, attr = spec.split(":")
        server.register_blueprint(getattr(importlib.import_module(module), attr))
    _install_api_errors(server)
    return server


def _flask_secret(monitor) -> str:
    """A per-install cookie signing key kept in the database (sessions survive restarts)."""
    secret = os.environ.get("BTRMON_SECRET_KEY")
    if secret:
        return secret
    if monitor.db is None:
        return secrets.token_hex(32)
    stored = monitor.db.query("SELECT value FROM options WHERE name = 'btrmon_cookie_secret'")
    if stored:
        return json.loads(stored[0][0])
    secret = secrets.token_hex(32)
    try:
        monitor.writer.call(lambda con: monitor.db.save_option_sql(con, "btrmon_cookie_secret", secret))
    except Exception:  # noqa: BLE001 - degraded start: sessions last until the restart
        log.warning("cookie secret not stored (database not writable); logins end at restart")
    return secret


def _install_api_errors(server: flask.Flask) -> None:
    """JSON 404/405 for ``/api/...``: Dash's catch-all must not answer those with HTML."""

    @server.route("/api/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def api_not_found(rest: str):
        adapter = server.url_map.bind("localhost")
        allowed = set()
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            try:
                endpoint, _ = adapter.match(flask.request.path, method=method)
            except HTTPException:
                continue
            if endpoint != "api_not_found":
                allowed.add(method)
        if allowed:
            raise MethodNotAllowed(valid_methods=sorted(allowed))
        raise NotFound()

    @server.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if not flask.request.path.startswith("/api/"):
            return exc
        message = exc.description or exc.name
        if isinstance(exc, NotFound):
            message = f"no API route {flask.request.method} {flask.request.path}"
        elif isinstance(exc, MethodNotAllowed):
            message = (f"method {flask.request.method} not allowed on {flask.request.path} "
                       f"(allowed: {', '.join(exc.valid_methods or [])})")
        response = flask.jsonify({"error": message, "status": exc.code})
        response.status_code = exc.code or 500
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @server.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        log.exception("unhandled error on %s", flask.request.path)
        if flask.request.path.startswith("/api/"):
            return flask.jsonify({"error": "internal error, see the server log", "status": 500}), 500
        return "internal error, see the server log", 500


def create_app(monitor):
    """The complete app: API plus the Dash dashboard. Returns the ``dash.Dash`` object."""
    from btrmon.dashboard.shell import create_dash

    return create_dash(create_flask(monitor), monitor)


def write_control_file(monitor, url: str) -> Path:
    """Write ``<db>.server.json`` (URL + admin token, mode 0600) for CLI forwarding."""
    from btrmon.cli import control_path

    token = secrets.token_urlsafe(32)
    path = control_path(monitor.db.path)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url, "token": token, "pid": os.getpid()}, fh)
    os.replace(tmp, path)
    monitor.admin_token = token
    return path


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(0)  # unwinds waitress so the monitor is flushed and closed


def serve(monitor, host: str = "127.0.0.1", port: int = 8050, threads: int = 16) -> None:
    """Serve the app with waitress until interrupted, then close the monitor."""
    import waitress

    app = create_app(monitor)
    url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}"
    control = write_control_file(monitor, url)
    monitor.start()
    log.info("btrmon serving on %s", url)
    print(f"btrmon dashboard: {url}", flush=True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        waitress.serve(app.server, host=host, port=port, threads=threads, ident="btrmon",
                       channel_timeout=120, connection_limit=1000, clear_untrusted_proxy_headers=True)
    finally:
        control.unlink(missing_ok=True)
        monitor.close()
