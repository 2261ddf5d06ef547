"""``GET /api/v1/dashboard?timeframe=24h``: the dashboard's numbers as JSON (API key auth)."""

from __future__ import annotations

import flask

from btrmon import keys
from btrmon.queries import TIMEFRAMES, cached, dashboard_metrics
from btrmon.server import current_monitor

blueprint = flask.Blueprint("dashboard_api", __name__)


@blueprint.get("/api/v1/dashboard")
def dashboard():
    """``queries.dashboard_metrics`` of a timeframe (1h, 6h, 24h, 7d); cached like the pages."""
    monitor = current_monitor()
    if keys.authenticate(monitor, flask.request) is None:
        response = flask.jsonify({"error": "a valid API key is required (Authorization: Bearer <key>)",
                                  "status": 401})
        response.headers["WWW-Authenticate"] = "Bearer"
        return response, 401
    timeframe = flask.request.args.get("timeframe", "24h")
    if timeframe not in TIMEFRAMES:
        return flask.jsonify({"error": f"timeframe: must be one of {', '.join(TIMEFRAMES)}", "status": 400}), 400
    return flask.jsonify(cached(monitor, dashboard_metrics, timeframe))
