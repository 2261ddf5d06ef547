"""The dashboard's headline numbers as one JSON-friendly dict (API, Monitor, overview)."""

from __future__ import annotations

from btrmon.queries.base import Timeframe, records, resolve
from btrmon.queries.errors import error_summary
from btrmon.queries.health import component_status, health_summary
from btrmon.queries.journey import conversion_rates, journey_summary
from btrmon.queries.performance import performance_summary
from btrmon.store import utcnow


def dashboard_metrics(db, timeframe: Timeframe = "24h") -> dict:
    """timeframe, start, end, generated_at and the sections performance, errors,
    journey (with funnels) and health (with by_component); see each query's docstring."""
    w = resolve(timeframe)
    return {
        "timeframe": w.label,
        "start": w.start.isoformat(),
        "end": w.end.isoformat(),
        "generated_at": utcnow().isoformat(),
        "performance": performance_summary(db, w),
        "errors": error_summary(db, w),
        "journey": {**journey_summary(db, w), "funnels": records(conversion_rates(db, w))},
        "health": {**health_summary(db), "by_component": records(component_status(db))},
    }
