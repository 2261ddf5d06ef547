"""The scheduled health run (every ``btrmon_health_interval`` seconds, rescheduled when it changes)."""

from __future__ import annotations

import logging

from btrmon.scheduler import JobSpec

log = logging.getLogger(__name__)
JOB_ID = "health.run"


def _run(monitor) -> None:
    from btrmon.health.runner import run_health_checks
    from btrmon.standin import save_fallback

    run_health_checks(monitor)
    if not getattr(monitor.db, "stand_in", False):
        save_fallback(monitor)  # keep the copy of settings and keys fresh for a degraded start


def _reschedule_on_change(monitor):
    def listener(name: str, value) -> None:
        handle = getattr(monitor, "scheduler", None)
        if name != "btrmon_health_interval" or handle is None:
            return
        try:
            handle.scheduler.reschedule_job(JOB_ID, trigger="interval", seconds=float(value))
            handle.stats[JOB_ID].interval = float(value)
        except Exception:  # noqa: BLE001 - the old interval stays
            log.exception("could not reschedule %s", JOB_ID)

    return listener


def jobs(monitor) -> list[JobSpec]:
    """The health job of ``monitor``."""
    monitor.config.on_change(_reschedule_on_change(monitor))
    return [JobSpec(JOB_ID, lambda: _run(monitor), seconds=float(monitor.config["btrmon_health_interval"]))]
