"""Read the stored health results (for ``GET /api/v1/health`` and the CLI)."""

from __future__ import annotations

from btrmon.queries.base import check_limit, clean


def health_history(monitor, component: str | None = None, limit: int = 100) -> list[dict]:
    """The newest stored results, newest first; optionally of one component."""
    limit = check_limit(limit, 1000)
    where, params = ("WHERE component = ?", [component]) if component else ("", [])
    rows = monitor.db.query(
        f"""SELECT component, health_check, status, response_time_ms, error_message, metadata, "timestamp"
            FROM health {where} ORDER BY "timestamp" DESC, id DESC LIMIT ?""", [*params, limit])
    cols = ("component", "health_check", "status", "response_time_ms", "error_message", "metadata", "timestamp")
    return [{c: clean(v) for c, v in zip(cols, row)} for row in rows]
