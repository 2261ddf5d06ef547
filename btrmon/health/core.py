"""Result shape, status ordering and the per-monitor memory of the latest results."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Iterable

STATUSES: tuple[str, ...] = ("healthy", "warning", "critical")
_RANK = {status: rank for rank, status in enumerate(STATUSES)}


def worst(statuses: Iterable[str]) -> str:
    """The most severe of ``statuses`` (healthy when empty)."""
    return max(statuses, key=lambda s: _RANK.get(s, 2), default="healthy")


def result(
    component: str,
    health_check: str,
    status: str,
    response_time_ms: float | None = None,
    error_message: str | None = None,
    metadata: dict | None = None,
) -> dict[str, Any]:
    """One health result in the shape of the ``health`` table."""
    if status not in _RANK:
        raise ValueError(f"status: must be one of {', '.join(STATUSES)}, got {status!r}")
    return {
        "component": component,
        "health_check": health_check,
        "status": status,
        "response_time_ms": None if response_time_ms is None else round(max(0.0, response_time_ms), 3),
        "error_message": error_message,
        "metadata": metadata or {},
    }


def timed(component: str, health_check: str, probe: Callable[[], tuple[str, str | None, dict]]) -> dict:
    """Run ``probe() -> (status, message, metadata)``, timing it; an exception is critical."""
    started = time.perf_counter()
    try:
        status, message, metadata = probe()
    except Exception as exc:  # noqa: BLE001 - a failing probe is a critical result, not a crash
        elapsed = (time.perf_counter() - started) * 1000
        return result(component, health_check, "critical", elapsed, f"{type(exc).__name__}: {exc}")
    return result(component, health_check, status, (time.perf_counter() - started) * 1000, message, metadata)


def by_thresholds(value: float, warning: float, critical: float, higher_is_worse: bool = True) -> str:
    """healthy / warning / critical for ``value`` against two thresholds."""
    if higher_is_worse:
        return "critical" if value >= critical else "warning" if value >= warning else "healthy"
    return "critical" if value < critical else "warning" if value < warning else "healthy"


class HealthState:
    """The latest result per (component, health_check) and the time of the last run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[tuple[str, str], dict] = {}
        self.last_run_at: float | None = None
        self.last_run_ms: float | None = None
        self.runs = 0

    def update(self, results: list[dict], elapsed_ms: float) -> None:
        """Remember a run's results."""
        with self._lock:
            for item in results:
                self._latest[(item["component"], item["health_check"])] = item
            self.last_run_at = time.time()
            self.last_run_ms = elapsed_ms
            self.runs += 1

    def remember(self, item: dict) -> None:
        """Remember one result reported outside a run (app-reported components)."""
        with self._lock:
            self._latest[(item["component"], item["health_check"])] = item

    def latest(self) -> list[dict]:
        """The newest result of every known check."""
        with self._lock:
            return list(self._latest.values())


def overall_status(results: Iterable[dict]) -> dict[str, str]:
    """component -> the worst status among its results."""
    components: dict[str, list[str]] = {}
    for item in results:
        components.setdefault(item["component"], []).append(item["status"])
    return {name: worst(statuses) for name, statuses in sorted(components.items())}


def state_of(monitor) -> HealthState:
    """The monitor's ``HealthState`` (created on first use)."""
    return monitor.part("health_state", lambda _monitor: HealthState())
