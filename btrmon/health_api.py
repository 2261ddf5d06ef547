"""Health over HTTP: ``/healthz`` (no auth), ``/api/v1/health`` (API key), ``/metrics``.

``/healthz`` is for load balancers and external monitors: 200 when every component is
healthy or warning, 503 when one is critical or when accepted events cannot even be
spooled; the body has each component's status and the degraded flag, nothing else
(no messages, paths or figures). It answers from the latest health run and runs the
checks itself when the last run is older than ``btrmon_health_interval``.

``/metrics`` (Prometheus text format) is public by default, as Prometheus endpoints
usually are: it holds only counts and durations. Set ``btrmon_metrics_public`` to
false to require an API key (``Authorization: Bearer <key>``).
"""

from __future__ import annotations

import threading
import time

import flask

from btrmon.server import current_monitor

blueprint = flask.Blueprint("health_api", __name__)

_run_lock = threading.Lock()
_UNAUTHORIZED = {"error": "missing or unknown API key (Authorization: Bearer <key> or X-API-Key)", "status": 401}


def _authenticated(monitor) -> bool:
    from btrmon import keys

    return keys.authenticate(monitor, flask.request) is not None


def latest_results(monitor) -> list[dict]:
    """The latest results, running the checks first when they are older than the interval."""
    from btrmon.health import run_health_checks, state_of

    state = state_of(monitor)
    interval = float(monitor.config["btrmon_health_interval"])
    if state.last_run_at is None or time.time() - state.last_run_at > interval:
        if _run_lock.acquire(blocking=state.last_run_at is None):
            try:  # one request runs them; concurrent ones answer from the previous run
                run_health_checks(monitor)
            finally:
                _run_lock.release()
    return state.latest()


def summary(monitor) -> tuple[dict, int]:
    """The /healthz body and status code."""
    from btrmon.health import overall_status, worst

    components = overall_status(latest_results(monitor))
    degraded = monitor.degraded
    if not monitor.writer.alive or degraded.critical:
        components["btrmon"] = "critical"
    elif degraded:  # events are spooled, not lost: still serving, but not healthy
        components["btrmon"] = worst([components.get("btrmon", "healthy"), "warning"])
    status = worst(components.values())
    body = {"status": status, "components": components, "degraded": bool(degraded),
            "enabled": monitor.enabled}
    return body, 503 if status == "critical" else 200


@blueprint.get("/healthz")
def healthz():
    """Overall and per-component status for load balancers; no auth."""
    body, code = summary(current_monitor())
    response = flask.jsonify(body)
    response.status_code = code
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/api/v1/health")
def health_details():
    """Latest results with messages and metadata, the degraded state and the stored history."""
    from btrmon.health.history import health_history

    monitor = current_monitor()
    if not _authenticated(monitor):
        return flask.jsonify(_UNAUTHORIZED), 401
    try:
        limit = int(flask.request.args.get("limit", 100))
        history = health_history(monitor, flask.request.args.get("component") or None, limit)
    except ValueError:
        return flask.jsonify({"error": "limit: must be an integer from 1 to 1000", "status": 400}), 400
    body, _ = summary(monitor)
    body["degraded"] = monitor.degraded.as_dict()
    body["results"] = sorted(latest_results(monitor), key=lambda r: (r["component"], r["health_check"]))
    body["history"] = history
    return flask.jsonify(body)


@blueprint.get("/metrics")
def metrics():
    """btrmon's self figures in the Prometheus text exposition format."""
    from btrmon.selfmetrics import prometheus_text

    monitor = current_monitor()
    if not monitor.config["btrmon_metrics_public"] and not _authenticated(monitor):
        return flask.jsonify(_UNAUTHORIZED), 401
    return flask.Response(prometheus_text(monitor), mimetype="text/plain; version=0.0.4; charset=utf-8")
