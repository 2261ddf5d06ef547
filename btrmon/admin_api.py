"""``POST /api/v1/admin/cli``: run a CLI command inside the server that holds the file.

Only the local CLI uses it: the request must come from a loopback address and
carry the admin token of the server's control file (``<db>.server.json``, 0600).
"""

from __future__ import annotations

import hmac

import flask

from btrmon.cli import run_in_server
from btrmon.server import current_monitor

blueprint = flask.Blueprint("admin_api", __name__)

_LOOPBACK = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


@blueprint.post("/api/v1/admin/cli")
def admin_cli():
    """Run ``{"argv": [...]}`` as ``python -m btrmon`` would, on the live monitor."""
    monitor = current_monitor()
    token = getattr(monitor, "admin_token", None)
    presented = flask.request.headers.get("X-Admin-Token", "")
    if flask.request.remote_addr not in _LOOPBACK or not token or not hmac.compare_digest(presented, token):
        return flask.jsonify({"error": "admin token required (local CLI only)", "status": 403}), 403
    data = flask.request.get_json(silent=True) or {}
    argv = data.get("argv")
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        return flask.jsonify({"error": "argv: must be a list of strings", "status": 400}), 400
    code, output = run_in_server(argv, monitor)
    return flask.jsonify({"exit_code": code, "output": output})
