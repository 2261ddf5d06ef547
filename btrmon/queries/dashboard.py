"""The dashboard's headline numbers as one JSON-friendly dict (API, Monitor, overview)."""

from __future__ import annotations

from btrmon.queries.base import Timeframe, records, resolve
from btrmon.queries.errors import error_summary_of
from btrmon.queries.health import component_status, health_summary_of
from btrmon.queries.journey import conversion_rates, journey_summary
from btrmon.queries.performance import performance_summary
from btrmon.store import utcnow


def dashboard_metrics(db, timeframe: Timeframe = "24h") -> dict:
    """timeframe, start, end, generated_at and the sections performance, errors,
    journey (with funnels) and health (with by_component); see each query's docstring."""
    w = resolve(timeframe)
    performance, status = performance_summary(db, w), component_status(db)
    return {
        "timeframe": w.label,
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
        "generated_at": utcnow().isoformat(),
        "performance": performance,
        "errors": error_summary_of(db, w, performance["requests"]),
        "journey": {**journey_summary(db, w), "funnels": records(conversion_rates(db, w))},
        "health": {**health_summary_of(status), "by_component": records(status)},
    }
