"""Built-in checks of the machine and of btrmon itself: database, memory, disk_space, btrmon."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

from btrmon import schema
from btrmon.health.core import by_thresholds, timed, worst

DB_LATENCY_WARNING_MS = 1000.0
DB_LATENCY_CRITICAL_MS = 10000.0
WAL_WARNING_BYTES = 256 * 1024 * 1024
MEMORY_WARNING_RATIO = 0.8  # of btr_alert_memory_threshold
SYSTEM_MEMORY_WARNING_PERCENT = 90.0
SYSTEM_MEMORY_CRITICAL_PERCENT = 97.0
QUEUE_STUCK_SECONDS = 60.0
JOB_LATE_FACTOR = 2.0  # a job later than this many intervals is "late"
SNAPSHOT_STALE_FACTOR = 3.0

EXPECTED_TABLES: frozenset[str] = frozenset(
    name
    for _, statements in schema.MIGRATIONS
    for statement in statements
    for name in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", statement)
)


def data_dir(monitor) -> Path:
    """The directory holding the database file."""
    return Path(monitor.db.path).resolve().parent


def check_database(monitor, warning_ms: float = DB_LATENCY_WARNING_MS,
                   critical_ms: float = DB_LATENCY_CRITICAL_MS) -> list[dict]:
    """The file answers a query; latency, file and WAL size."""

    def probe():
        if getattr(monitor.db, "stand_in", False):
            return "critical", "the database file is held by another process; events are spooled", {}
        started = time.perf_counter()
        monitor.db.cursor().execute("SELECT count(*) FROM health").fetchall()
        latency = (time.perf_counter() - started) * 1000
        path = monitor.db.path
        size = os.path.getsize(path) if os.path.exists(path) else 0
        wal = path + ".wal"
        wal_size = os.path.getsize(wal) if os.path.exists(wal) else 0
        status = by_thresholds(latency, warning_ms, critical_ms)
        message = f"query took {latency:.0f} ms" if status != "healthy" else None
        if wal_size >= WAL_WARNING_BYTES:
            status, message = worst([status, "warning"]), f"WAL is {wal_size // 2**20} MB (checkpoints not running?)"
        return status, message, {"query_ms": round(latency, 3), "file_bytes": size, "wal_bytes": wal_size}

    return [timed("database", "query", probe)]


def check_memory(monitor, system_warning: float | None = None,
                 system_critical: float | None = None) -> list[dict]:
    """Process RSS against ``btrmon_process_memory_mb`` (or, when 0, ``btr_alert_memory_threshold``)
    and system memory use (default percents)."""
    import psutil

    system_warning = SYSTEM_MEMORY_WARNING_PERCENT if system_warning is None else system_warning
    system_critical = SYSTEM_MEMORY_CRITICAL_PERCENT if system_critical is None else system_critical

    def probe():
        threshold_mb = float(monitor.config["btrmon_process_memory_mb"] or monitor.config["btr_alert_memory_threshold"])
        rss_mb = psutil.Process().memory_info().rss / 2**20
        system = psutil.virtual_memory()
        process_status = by_thresholds(rss_mb, threshold_mb * MEMORY_WARNING_RATIO, threshold_mb)
        system_status = by_thresholds(system.percent, system_warning, system_critical)
        messages = []
        if process_status != "healthy":
            messages.append(f"process RSS {rss_mb:.0f} MB of threshold {threshold_mb:.0f} MB")
        if system_status != "healthy":
            messages.append(f"system memory {system.percent:.0f}% used")
        metadata = {"rss_mb": round(rss_mb, 1), "threshold_mb": threshold_mb,
                    "system_percent": system.percent, "system_available_mb": round(system.available / 2**20, 1)}
        return worst([process_status, system_status]), "; ".join(messages) or None, metadata

    return [timed("memory", "usage", probe)]


def check_disk_space(monitor) -> list[dict]:
    """Free space of the data directory against the warning/critical percents."""

    def probe():
        usage = shutil.disk_usage(data_dir(monitor))
        free_percent = 100.0 * usage.free / usage.total if usage.total else 0.0
        warning = float(monitor.config["btrmon_disk_warning_percent"])
        critical = float(monitor.config["btrmon_disk_critical_percent"])
        status = by_thresholds(free_percent, warning, critical, higher_is_worse=False)
        message = f"{free_percent:.1f}% free" if status != "healthy" else None
        return status, message, {"free_percent": round(free_percent, 2), "free_bytes": usage.free,
                                 "total_bytes": usage.total, "warning_percent": warning,
                                 "critical_percent": critical}

    return [timed("disk_space", "data_dir", probe)]


def check_btrmon(monitor, now: float | None = None) -> list[dict]:
    """btrmon's own integrity: schema, tables, writer, scheduler jobs, snapshots, spool."""
    now = time.time() if now is None else now
    findings: list[tuple[str, str]] = []  # (status, message)
    metadata: dict = {}

    def probe():
        version = monitor.db.schema_version()
        metadata["schema_version"] = version
        if version != schema.SCHEMA_VERSION:
            findings.append(("critical", f"schema version {version}, expected {schema.SCHEMA_VERSION}"))
        missing = sorted(EXPECTED_TABLES - monitor.db.tables())
        if missing:
            findings.append(("critical", f"missing tables: {', '.join(missing)}"))
        _writer_findings(monitor, now, findings, metadata)
        _scheduler_findings(monitor, now, findings, metadata)
        _snapshot_findings(monitor, now, findings, metadata)
        degraded = getattr(monitor, "degraded", None)
        if degraded:
            findings.append(("warning", f"degraded: {degraded.reason}"))
            metadata["spooled_pending"] = degraded.pending
        status = worst(s for s, _ in findings)
        return status, "; ".join(m for _, m in findings) or None, metadata

    return [timed("btrmon", "integrity", probe)]


def _writer_findings(monitor, now: float, findings: list, metadata: dict) -> None:
    writer = monitor.writer
    metadata["queue_depth"] = writer.queue_depth
    if not writer.alive:
        findings.append(("critical", "the writer thread is not running"))
        return
    last = writer.stats.last_commit_at
    if writer.queue_depth and (last is None or now - last > QUEUE_STUCK_SECONDS) \
            and now - monitor.started_at > QUEUE_STUCK_SECONDS:
        findings.append(("critical", f"{writer.queue_depth} events queued and no commit for {QUEUE_STUCK_SECONDS:.0f} s"))


def _scheduler_findings(monitor, now: float, findings: list, metadata: dict) -> None:
    from btrmon import scheduler as sched

    runner = getattr(monitor, "scheduler", None)
    if runner is None:
        metadata["scheduler"] = "not started in this process"
        return
    info = sched.describe(runner, now)
    metadata["scheduler"] = info
    if not info["running"]:
        findings.append(("critical" if info.get("owner") else "warning", "the scheduler is not running"))
    for job in info["jobs"]:
        if job.get("late_seconds", 0) > JOB_LATE_FACTOR * max(job.get("interval") or 60, 60):
            findings.append(("warning", f"job {job['id']} is {job['late_seconds']:.0f} s late"))
        if job.get("last_error"):
            findings.append(("warning", f"job {job['id']} failed: {job['last_error']}"))


def _snapshot_findings(monitor, now: float, findings: list, metadata: dict) -> None:
    interval = monitor.config["btrmon_snapshot_interval"]
    if not interval or getattr(monitor, "scheduler", None) is None:
        return
    try:
        from btrmon.snapshot import last_snapshot_age
    except ImportError:
        return
    age = last_snapshot_age(monitor.db.path)
    metadata["snapshot_age_s"] = None if age is None else round(age, 1)
    limit = SNAPSHOT_STALE_FACTOR * interval
    if (age is None and now - monitor.started_at > limit) or (age is not None and age > limit):
        findings.append(("warning", "no recent snapshot" if age is None else f"last snapshot {age:.0f} s old"))

