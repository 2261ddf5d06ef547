"""System health: built-in checks, app-reported components, and the run that stores them.

``run_health_checks(monitor)`` runs every check in ``CHECKS``, stores each result in
the ``health`` table through the writer, fires the ``btr_monitor_health_check`` hook
for each, and keeps the latest results in memory for ``/healthz``. A result is a dict:
``component, health_check, status, response_time_ms, error_message, metadata``.
"""

from __future__ import annotations

from btrmon.health.core import (  # noqa: F401 - the public names of the package
    STATUSES,
    HealthState,
    overall_status,
    result,
    state_of,
    worst,
)
from btrmon.health.runner import CHECKS, record_reported, run_health_checks  # noqa: F401
