"""Test data builders for the alert tests (real Monitor, real DuckDB file)."""

from __future__ import annotations

from datetime import datetime, timedelta

from btrmon.store import utcnow

# A fixed evaluation time in the recent past (the normalizer refuses far-future events).
NOW: datetime = utcnow().replace(second=0, microsecond=0) - timedelta(hours=2)


def at(minutes_before: float, now: datetime = NOW) -> str:
    """ISO timestamp ``minutes_before`` minutes before ``now``."""
    return (now - timedelta(minutes=minutes_before)).isoformat()


def add(monitor, events: list[tuple[str, dict]]) -> None:
    """Validate and commit ``(kind, event)`` pairs; fails on any rejected event."""
    rows, rejected, _ = monitor.prepare(events)
    assert not rejected, rejected
    monitor.submit(rows).wait(10)


def requests(n: int, ms: float = 100.0, minutes_before: float = 5, now: datetime = NOW) -> list:
    """``n`` request_duration metrics."""
    return [("metric", {"metric_type": "performance", "metric_name": "request_duration", "metric_value": ms,
                        "metric_unit": "ms", "timestamp": at(minutes_before, now)}) for _ in range(n)]


def memory(values: list[float], minutes_before: float = 5, now: datetime = NOW) -> list:
    """peak_memory metrics (MB)."""
    return [("metric", {"metric_type": "performance", "metric_name": "peak_memory", "metric_value": v,
                        "metric_unit": "MB", "timestamp": at(minutes_before, now)}) for v in values]


def errors(n: int, level: str = "error", component: str | None = None, minutes_before: float = 5,
           now: datetime = NOW, message: str = "boom") -> list:
    """``n`` errors of one level and component."""
    return [("error", {"error_type": "exception", "error_level": level, "error_message": f"{message} {i}",
                       "component": component, "timestamp": at(minutes_before, now)}) for i in range(n)]


def health(status: str, component: str = "database", minutes_before: float = 2, now: datetime = NOW) -> list:
    """One health check."""
    return [("health", {"component": component, "status": status, "timestamp": at(minutes_before, now)})]


def sessions(total: int, converted: int, minutes_before: float = 30, now: datetime = NOW) -> list:
    """``total`` sessions of which ``converted`` reach stage conversion."""
    events = []
    for i in range(total):
        sid = f"s{i}"
        events.append(("journey", {"session_id": sid, "journey_step": "start", "journey_stage": "initialization",
                                   "conversion_funnel": "booking", "timestamp": at(minutes_before, now)}))
        if i < converted:
            events.append(("journey", {"session_id": sid, "journey_step": "order", "journey_stage": "conversion",
                                       "conversion_funnel": "booking", "timestamp": at(minutes_before - 1, now)}))
    return events
