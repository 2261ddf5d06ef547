"""APScheduler wiring: collects every module's jobs and runs them in one scheduler.

A module that has periodic work defines ``jobs(monitor) -> list[JobSpec]`` and is
listed in ``JOB_PROVIDERS``. Exactly one scheduler runs per database file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

# "module:function" returning list[JobSpec]; each owner adds its own line.
JOB_PROVIDERS: list[str] = []


@dataclass(frozen=True)
class JobSpec:
    """One periodic job: an id, what to run, and every ``seconds`` or a cron spec."""

    id: str
    func: Callable[[], object]
    seconds: float | None = None
    cron: dict = field(default_factory=dict)
