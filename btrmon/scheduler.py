"""APScheduler wiring: collects every module's jobs and runs them in one scheduler.

A module that has periodic work defines ``jobs(monitor) -> list[JobSpec]`` and is
listed in ``JOB_PROVIDERS``. Exactly one scheduler runs per database file: the
holder of an ``flock`` on ``<db>.scheduler.lock`` (a second Monitor, a second
process and the debug reloader's watcher do not get it). Every job runs with
``max_instances=1, coalesce=True``; its runs, durations and failures are kept in
``SchedulerHandle.stats`` and recorded as self-metrics (component ``btrmon``).
"""

from __future__ import annotations

import fcntl
import importlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

log = logging.getLogger(__name__)

# "module:function" returning list[JobSpec]; each owner adds its own line.
JOB_PROVIDERS: list[str] = [
    "btrmon.snapshot:jobs",
    "btrmon.alerts.engine:jobs",
    "btrmon.integrations:jobs",
    "btrmon.health.jobs:jobs",
    "btrmon.maintenance:jobs",
    "btrmon.selfmetrics:jobs",
    "btrmon.exports.scheduled:jobs",
    "btrmon.queries.cache:jobs",
]


@dataclass(frozen=True)
class JobSpec:
    """One periodic job: an id, what to run, and every ``seconds`` or a cron spec."""

    id: str
    func: Callable[[], object]
    seconds: float | None = None
    cron: dict = field(default_factory=dict)
    interval_setting: str | None = None  # the setting ``seconds`` comes from: a change reschedules the job


# -- the one scheduler per database file ------------------------------------------------

RELOADER_ENV = "BTRMON_RELOADER"  # set to 1 when serving under the werkzeug debug reloader


def lock_path(db_path: str) -> str:
    """The lock file whose holder runs the scheduler of ``db_path``."""
    return str(db_path) + ".scheduler.lock"


def acquire_lock(db_path: str) -> int | None:
    """An exclusive ``flock`` on ``<db>.scheduler.lock``: the fd, or None when held elsewhere.

    The lock is per open file, so a second Monitor in the same process, a second
    process and the reloader's parent all fail to take it; the OS drops it when
    the holder exits, even on a crash.
    """
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def reloader_parent() -> bool:
    """True in the watcher process of the debug reloader (it must not run jobs)."""
    return os.environ.get(RELOADER_ENV, "") in ("1", "true") and os.environ.get("WERKZEUG_RUN_MAIN") != "true"


@dataclass
class JobStats:
    """Runs, failures and durations of one job (self-metrics and the btrmon check read them)."""

    interval: float | None = None
    runs: int = 0
    failures: int = 0
    last_run_at: float | None = None
    last_duration_ms: float = 0.0
    max_duration_ms: float = 0.0
    last_error: str | None = None


class SchedulerHandle:
    """The running APScheduler of this process plus its file lock and job statistics."""

    def __init__(self, scheduler, lock_fd: int) -> None:
        self.scheduler = scheduler
        self.lock_fd: int | None = lock_fd
        self.stats: dict[str, JobStats] = {}
        self._stats_lock = threading.Lock()

    @property
    def running(self) -> bool:
        """True while the scheduler thread runs."""
        return bool(self.scheduler.running)

    def shutdown(self, wait: bool = False) -> None:
        """Stop the jobs and release the lock."""
        try:
            if self.scheduler.running:
                self.scheduler.shutdown(wait=wait)
        finally:
            if self.lock_fd is not None:
                os.close(self.lock_fd)  # closing the only fd releases the flock
                self.lock_fd = None

    def record(self, job_id: str, started: float, error: BaseException | None) -> JobStats:
        """Account for one run of ``job_id``."""
        elapsed = max(0.0, (time.perf_counter() - started) * 1000)
        with self._stats_lock:
            stats = self.stats.setdefault(job_id, JobStats())
            stats.runs += 1
            stats.last_run_at = time.time()
            stats.last_duration_ms = elapsed
            stats.max_duration_ms = max(stats.max_duration_ms, elapsed)
            if error is not None:
                stats.failures += 1
                stats.last_error = f"{type(error).__name__}: {error}"[:300]
            else:
                stats.last_error = None
        return stats


def collect_jobs(monitor) -> list[JobSpec]:
    """Every provider's jobs; a provider that fails to import or run is logged and skipped."""
    specs: list[JobSpec] = []
    for provider in JOB_PROVIDERS:
        module, _, attr = provider.partition(":")
        try:
            specs.extend(getattr(importlib.import_module(module), attr)(monitor))
        except Exception:  # noqa: BLE001 - one broken provider never stops the others
            log.exception("job provider %s failed", provider)
    return specs


def _wrapped(monitor, handle: SchedulerHandle, spec: JobSpec):
    def run() -> None:
        started, error = time.perf_counter(), None
        try:
            spec.func()
        except Exception as exc:  # noqa: BLE001 - recorded; the scheduler keeps going
            error = exc
            log.exception("job %s failed", spec.id)
        stats = handle.record(spec.id, started, error)
        _record_job_metric(monitor, spec.id, stats, error)

    return run


def _record_job_metric(monitor, job_id: str, stats: JobStats, error: BaseException | None) -> None:
    """One self-metric per run (component ``btrmon``): its duration, and a failure count."""
    if monitor.writer is None or not monitor.enabled:
        return
    metadata = {"job": job_id, "ok": error is None}
    events = [("metric", {"metric_type": "btrmon", "metric_name": "job_duration_ms",
                          "metric_value": stats.last_duration_ms, "metric_unit": "ms",
                          "component": "btrmon", "metadata": metadata})]
    if error is not None:
        events.append(("metric", {"metric_type": "btrmon", "metric_name": "job_failures", "metric_value": 1,
                                  "metric_unit": "count", "component": "btrmon", "metadata": metadata}))
    rows, _, _ = monitor.prepare(events)
    if rows:
        monitor.writer.offer(rows)


def start_scheduler(monitor) -> SchedulerHandle | None:
    """Start this file's scheduler with every provider's jobs; None when another holds it."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if reloader_parent():
        log.info("debug reloader parent: the scheduler runs in the serving child only")
        return None
    fd = acquire_lock(monitor.db.path)
    if fd is None:
        log.info("another process or monitor runs the scheduler of %s", monitor.db.path)
        return None
    scheduler = BackgroundScheduler(timezone=timezone.utc, daemon=True,
                                    job_defaults={"max_instances": 1, "coalesce": True,
                                                  "misfire_grace_time": None})
    handle = SchedulerHandle(scheduler, fd)
    try:
        specs = collect_jobs(monitor)
        for spec in specs:
            trigger = IntervalTrigger(seconds=spec.seconds) if spec.seconds else \
                CronTrigger(timezone=timezone.utc, **spec.cron)
            handle.stats[spec.id] = JobStats(interval=spec.seconds)
            scheduler.add_job(_wrapped(monitor, handle, spec), trigger, id=spec.id, name=spec.id,
                              max_instances=1, coalesce=True, replace_existing=True)
        scheduler.start()
    except BaseException:
        handle.shutdown()  # release the lock: another process may run the jobs
        raise
    monitor.config.on_change(_rescheduler(handle, {s.interval_setting: s.id for s in specs if s.interval_setting}))
    log.info("scheduler started with %d jobs", len(handle.stats))
    return handle


def _rescheduler(handle: SchedulerHandle, job_of_setting: dict[str, str]) -> Callable[[str, object], None]:
    """A settings listener moving a job to its new interval when its setting changes."""

    def listener(name: str, value) -> None:
        job_id = job_of_setting.get(name)
        if job_id is None or not handle.scheduler.running:
            return
        try:
            handle.scheduler.reschedule_job(job_id, trigger="interval", seconds=float(value))
            handle.stats[job_id].interval = float(value)
        except Exception:  # noqa: BLE001 - the old interval stays
            log.exception("could not reschedule %s", job_id)

    return listener


def describe(handle: SchedulerHandle, now: float | None = None) -> dict:
    """Running flag and, per job, next run, lateness, runs, failures, last duration."""
    now_dt = datetime.fromtimestamp(time.time() if now is None else now, timezone.utc)
    jobs = []
    for job in handle.scheduler.get_jobs():
        stats = handle.stats.get(job.id, JobStats())
        next_run = job.next_run_time
        late = max(0.0, (now_dt - next_run).total_seconds()) if next_run else 0.0
        jobs.append({"id": job.id, "interval": stats.interval, "next_run": next_run.isoformat() if next_run else None,
                     "late_seconds": round(late, 1), "runs": stats.runs, "failures": stats.failures,
                     "last_duration_ms": round(stats.last_duration_ms, 3), "last_error": stats.last_error})
    return {"running": handle.running, "owner": handle.lock_fd is not None, "jobs": jobs}
