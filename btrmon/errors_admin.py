"""Admin changes to stored errors (through the writer): marking a fingerprint resolved."""

from __future__ import annotations

from btrmon.store import utcnow


def resolve_fingerprint(monitor, fingerprint: str, resolved_by: str) -> int:
    """Mark every unresolved error of ``fingerprint`` resolved; returns how many rows changed."""
    if not isinstance(fingerprint, str) or not fingerprint or len(fingerprint) > 64:
        raise ValueError("fingerprint: must be a fingerprint of the errors table")
    if not isinstance(resolved_by, str) or not resolved_by:
        raise ValueError("resolved_by: must name the user")
    now = utcnow()

    def update(con) -> int:
        return len(con.execute(
            "UPDATE errors SET resolved = true, resolved_at = ?, resolved_by = ? "
            "WHERE fingerprint = ? AND NOT resolved RETURNING 1", [now, resolved_by, fingerprint]).fetchall())

    return monitor.writer.call(update)
