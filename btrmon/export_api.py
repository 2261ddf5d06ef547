"""``GET /api/v1/export``: the export of a timeframe as JSON, CSV, a zip of CSVs, or PDF.

Query parameters: ``format`` (json|csv|zip|pdf, default json), ``timeframe``
(1h|6h|24h|7d, default 24h) or ``start`` [+ ``end``] (ISO-8601, UTC when no
offset), ``sections`` (comma-separated subset) and the filters of
``queries.exports.FILTER_COLUMNS`` (``level``, ``component``... repeat or
comma-separate for several values). Needs an API key (``Authorization: Bearer``).
The body streams: a 10M-row export never sits in the server's memory.
"""

from __future__ import annotations

import flask

from btrmon import keys
from btrmon.exports import FORMATS, filename, iter_export
from btrmon.exports.data import SECTIONS, ExportRequest, open_export
from btrmon.queries.exports import FILTER_COLUMNS
from btrmon.server import current_monitor

blueprint = flask.Blueprint("export_api", __name__)

_PLAIN_PARAMS = {"format", "timeframe", "start", "end", "sections"}


def _bad(message: str, status: int = 400):
    return flask.jsonify({"error": message, "status": status}), status


def request_from_args(args, requested_by: str) -> tuple[str, ExportRequest]:
    """``(format, ExportRequest)`` from query arguments; ValueError names the bad parameter."""
    for name in args:
        if name not in _PLAIN_PARAMS and name not in FILTER_COLUMNS:
            raise ValueError(f"{name}: unknown parameter (known: {', '.join(sorted(_PLAIN_PARAMS | set(FILTER_COLUMNS)))})")
    fmt = args.get("format", "json").lower()
    if fmt not in FORMATS:
        raise ValueError(f"format: must be one of {', '.join(FORMATS)} (got {fmt!r})")
    filters = {}
    for name in FILTER_COLUMNS:
        values = [v.strip() for raw in args.getlist(name) for v in raw.split(",") if v.strip()]
        if values:
            filters[name] = values
    sections = tuple(s.strip() for s in args.get("sections", "").split(",") if s.strip()) or SECTIONS
    request = ExportRequest(timeframe=args.get("timeframe") or "24h", start=args.get("start") or None,
                            end=args.get("end") or None, filters=filters, sections=sections,
                            requested_by=requested_by)
    return fmt, request


@blueprint.get("/api/v1/export")
def export():
    """Stream the export described by the query parameters."""
    monitor = current_monitor()
    key_name = keys.authenticate(monitor, flask.request)
    if key_name is None:
        return _bad("a valid API key is required (Authorization: Bearer <key>)", 401)
    try:
        fmt, request = request_from_args(flask.request.args, f"api key {key_name}")
        data = open_export(monitor, request)
    except ValueError as exc:
        return _bad(str(exc))

    def body():
        try:
            yield from iter_export(data, fmt)
        finally:
            data.close()

    response = flask.Response(flask.stream_with_context(body()), mimetype=FORMATS[fmt][0])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename(data, fmt)}"'
    response.headers["X-Export-Rows"] = str(sum(data.info["row_counts"].values()))
    return response
