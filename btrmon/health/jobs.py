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


def jobs(monitor) -> list[JobSpec]:
    """The health job of ``monitor``."""
    return [JobSpec(JOB_ID, lambda: _run(monitor), seconds=float(monitor.config["btrmon_health_interval"]),
                    interval_setting="btrmon_health_interval")]
