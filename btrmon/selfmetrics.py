"""Self-monitoring: btrmon's own figures as metrics (component ``btrmon``) and for Prometheus.

Every minute ``record_self_metrics`` stores, as ``metrics`` rows of type ``btrmon``:
events accepted / rejected / dropped in the last minute (from ``monitor.counters``),
the writer's queue depth and commit latency, the last health run's duration and the
dashboard cache's lookups. Job durations are recorded per run by the scheduler.
``prometheus_text`` renders the same figures in the Prometheus text format (v0.0.4).
"""

from __future__ import annotations

import threading
import time

from btrmon.scheduler import JobSpec

COMPONENT = "btrmon"
_STATUS_VALUE = {"healthy": 0, "warning": 1, "critical": 2}


class _Previous:
    """The counter values at the previous run, to turn totals into per-minute figures."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counters: dict[str, int] = {}
        self.commits = 0
        self.commit_ms = 0.0
        self.health_runs = 0


def _previous(monitor) -> _Previous:
    prev = getattr(monitor, "_selfmetrics_previous", None)
    if prev is None:
        prev = monitor._selfmetrics_previous = _Previous()
    return prev


def _metric(name: str, value: float, unit: str, metadata: dict | None = None) -> tuple[str, dict]:
    event = {"metric_type": "btrmon", "metric_name": name, "metric_value": float(value),
             "metric_unit": unit, "component": COMPONENT}
    if metadata:
        event["metadata"] = metadata
    return "metric", event


def _dropped(counters: dict[str, int]) -> int:
    return sum(v for k, v in counters.items() if k.startswith("dropped:"))


def collect(monitor) -> list[tuple[str, dict]]:
    """The self-metric events since the previous call (per-minute deltas)."""
    prev = _previous(monitor)
    counters = monitor.counters.snapshot()
    stats = monitor.writer.stats
    with prev.lock:
        delta = {k: counters.get(k, 0) - prev.counters.get(k, 0) for k in ("accepted", "rejected")}
        delta["dropped"] = _dropped(counters) - _dropped(prev.counters)
        hits = counters.get("dashboard_cache_hit", 0) - prev.counters.get("dashboard_cache_hit", 0)
        misses = counters.get("dashboard_cache_miss", 0) - prev.counters.get("dashboard_cache_miss", 0)
        commits, commit_ms = stats.commits - prev.commits, stats.sum_commit_ms - prev.commit_ms
        prev.counters, prev.commits, prev.commit_ms = counters, stats.commits, stats.sum_commit_ms
    events = [
        _metric("events_accepted_per_minute", delta["accepted"], "count"),
        _metric("events_rejected_per_minute", delta["rejected"], "count"),
        _metric("events_dropped_per_minute", delta["dropped"], "count"),
        _metric("queue_depth", monitor.writer.queue_depth, "count"),
        _metric("commits_per_minute", commits, "count"),
    ]
    if commits:
        events.append(_metric("commit_latency_ms", commit_ms / commits, "ms", {"max_ms": round(stats.max_commit_ms, 3)}))
    if hits + misses:
        events.append(_metric("dashboard_cache_lookups_per_minute", hits + misses, "count",
                              {"hits": hits, "misses": misses}))
    events.extend(_dashboard_query_metrics(monitor))
    health = monitor.part("health_state")
    if health is not None and health.runs != prev.health_runs and health.last_run_ms is not None:
        prev.health_runs = health.runs
        events.append(_metric("health_check_duration_ms", health.last_run_ms, "ms"))
    if monitor.degraded:
        events.append(_metric("spooled_events_pending", monitor.degraded.pending, "count"))
    return events


def _dashboard_query_metrics(monitor) -> list[tuple[str, dict]]:
    """Dashboard query durations, when the query cache keeps timings (``timings()``)."""
    timings = getattr(monitor.part("query_cache"), "timings", None)
    if not callable(timings):
        return []
    try:
        return [_metric("dashboard_query_ms", ms, "ms", {"query": name}) for name, ms in timings().items()]
    except Exception:  # noqa: BLE001 - optional figures
        return []


def record_self_metrics(monitor) -> int:
    """Store the self-metrics of the last minute; returns how many rows were queued."""
    if monitor.writer is None or not monitor.enabled:
        return 0
    rows, _, _ = monitor.prepare(collect(monitor))
    if rows and monitor.writer.offer(rows):
        return sum(len(r) for r in rows.values())
    return 0


def jobs(monitor) -> list[JobSpec]:
    """The self-metrics job (every minute)."""
    return [JobSpec("selfmetrics.record", lambda: record_self_metrics(monitor), seconds=60.0)]


# -- Prometheus -----------------------------------------------------------------------------
def _esc(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus_text(monitor) -> str:
    """Every self figure in the Prometheus text exposition format."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            label_text = ",".join(f'{k}="{_esc(v)}"' for k, v in labels.items())
            number = str(int(value)) if float(value).is_integer() else repr(float(value))
            lines.append(f"{name}{{{label_text}}} {number}" if label_text else f"{name} {number}")

    counters = monitor.counters.snapshot()
    stats = monitor.writer.stats
    family("btrmon_up", "gauge", "1 while btrmon serves.", [({}, 1)])
    family("btrmon_enabled", "gauge", "1 when monitoring is enabled (btr_monitor_enabled).", [({}, int(monitor.enabled))])
    family("btrmon_uptime_seconds", "gauge", "Seconds since the monitor started.", [({}, round(time.time() - monitor.started_at, 3))])
    family("btrmon_events_accepted_total", "counter", "Events accepted (HTTP ingestion and the Python API).", [({}, counters.get("accepted", 0))])
    family("btrmon_events_rejected_total", "counter", "Events rejected as invalid.", [({}, counters.get("rejected", 0))])
    family("btrmon_events_dropped_total", "counter", "Valid events not stored, by reason.",
           [({"reason": k.split(":", 1)[1]}, v) for k, v in sorted(counters.items()) if k.startswith("dropped:")])
    family("btrmon_queue_depth", "gauge", "Events waiting for the writer.", [({}, monitor.writer.queue_depth)])
    family("btrmon_commits_total", "counter", "Writer commits.", [({}, stats.commits)])
    family("btrmon_commit_duration_seconds_sum", "counter", "Total time spent committing.", [({}, round(stats.sum_commit_ms / 1000, 6))])
    family("btrmon_commit_failures_total", "counter", "Commits that failed (events spooled).", [({}, stats.failures)])
    family("btrmon_spooled_events_total", "counter", "Events written to the fallback spool.", [({}, stats.spooled_events)])
    degraded = monitor.degraded
    family("btrmon_degraded", "gauge", "1 while events go to the spool instead of the database.", [({}, int(bool(degraded)))])
    family("btrmon_spool_pending_events", "gauge", "Spooled events waiting for replay.", [({}, degraded.pending)])
    _health_families(monitor, family)
    _job_families(monitor, family)
    return "\n".join(lines) + "\n"


def _health_families(monitor, family) -> None:
    from btrmon.health import overall_status

    state = monitor.part("health_state")
    if state is None:
        return
    statuses = overall_status(state.latest())
    family("btrmon_health_status", "gauge", "Latest health per component: 0 healthy, 1 warning, 2 critical.",
           [({"component": c}, _STATUS_VALUE[s]) for c, s in statuses.items()])
    if state.last_run_ms is not None:
        family("btrmon_health_check_duration_seconds", "gauge", "Duration of the last health run.",
               [({}, round(state.last_run_ms / 1000, 6))])


def _job_families(monitor, family) -> None:
    handle = getattr(monitor, "scheduler", None)
    stats = getattr(handle, "stats", None)
    if not stats:
        return
    items = sorted(stats.items())
    family("btrmon_job_runs_total", "counter", "Scheduled job runs.", [({"job": j}, s.runs) for j, s in items])
    family("btrmon_job_failures_total", "counter", "Scheduled job failures.", [({"job": j}, s.failures) for j, s in items])
    family("btrmon_job_last_duration_seconds", "gauge", "Duration of each job's last run.",
           [({"job": j}, round(s.last_duration_ms / 1000, 6)) for j, s in items])
