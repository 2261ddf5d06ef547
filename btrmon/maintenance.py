"""Maintenance: retention, configuration reset and the emergency switch.

- ``apply_retention``: per event table, rows older than ``config.retention_days(table)``
  are deleted (through the writer), then the WAL is checkpointed and expired
  dashboard cache entries are dropped. A daily job runs it; ``cleanup`` too.
- ``reset_config``: every stored option back to its default, except the install's
  secrets (session hashing, cookie signing); API keys and data are untouched.
- ``set_enabled``: the master switch ``btr_monitor_enabled``; a live monitor sees it
  at once (ingestion answers 503, the Python API is a no-op), no restart needed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from btrmon.schema import EVENT_TABLES
from btrmon.scheduler import JobSpec
from btrmon.store import utcnow

log = logging.getLogger(__name__)

KEPT_ON_RESET: frozenset[str] = frozenset({"btrmon_session_secret", "btrmon_cookie_secret"})
RETENTION_CRON = {"hour": 3, "minute": 17}  # daily, at a quiet hour (UTC)


@dataclass(frozen=True)
class RetentionPlan:
    """What retention removes from one table: rows before ``cutoff``."""

    table: str
    days: int
    cutoff: datetime
    rows: int


def retention_plan(monitor, now: datetime | None = None) -> list[RetentionPlan]:
    """For each event table, its retention, cutoff and how many rows are older."""
    now = now or utcnow()
    plans = []
    for table in EVENT_TABLES:
        days = int(monitor.config.retention_days(table))
        cutoff = now - timedelta(days=days)
        count = monitor.db.query(f'SELECT count(*) FROM {table} WHERE "timestamp" < ?', [cutoff])[0][0]
        plans.append(RetentionPlan(table, days, cutoff, int(count)))
    return plans


def apply_retention(monitor, dry_run: bool = False, now: datetime | None = None) -> list[RetentionPlan]:
    """Delete the rows of ``retention_plan`` (unless ``dry_run``); returns what was (or would be) removed."""
    plans = retention_plan(monitor, now)
    if dry_run:
        return plans

    def delete(con) -> list[RetentionPlan]:
        done = []
        for plan in plans:
            removed = con.execute(f'DELETE FROM {plan.table} WHERE "timestamp" < ?', [plan.cutoff]).fetchall()
            done.append(RetentionPlan(plan.table, plan.days, plan.cutoff, int(removed[0][0]) if removed else 0))
        return done

    plans = monitor.writer.call(delete, timeout=600)
    if any(plan.rows for plan in plans):
        try:
            monitor.db.checkpoint()
        except Exception as exc:  # noqa: BLE001 - the next automatic checkpoint folds it in
            log.warning("checkpoint after retention failed: %s", exc)
    purge_cache(monitor)
    log.info("retention removed %s", {p.table: p.rows for p in plans})
    return plans


def purge_cache(monitor) -> int:
    """Drop expired dashboard cache entries (when the cache offers it); returns how many."""
    cache = monitor.part("query_cache")
    purge = getattr(cache, "purge_expired", None)
    if purge is None:
        return 0
    try:
        return int(purge() or 0)
    except Exception:  # noqa: BLE001 - a cache problem never stops retention
        log.exception("dashboard cache purge failed")
        return 0


def jobs(monitor) -> list[JobSpec]:
    """The daily retention job."""
    return [JobSpec("maintenance.retention", lambda: apply_retention(monitor), cron=dict(RETENTION_CRON))]


def reset_config(monitor) -> list[tuple[str, object, object]]:
    """Reset every stored option except the secrets; returns ``(name, old, new)`` per change."""
    config = monitor.config
    changes = []
    for name, old in sorted(config.stored().items()):
        if name in KEPT_ON_RESET:
            continue
        config.reset(name)
        changes.append((name, old, config.get(name)))
    return changes


def set_enabled(monitor, enabled: bool) -> bool:
    """Set ``btr_monitor_enabled``; returns the effective value (an env override may win)."""
    monitor.config.set("btr_monitor_enabled", bool(enabled))
    return monitor.enabled
