"""Demo traffic of a booking site, written through the writer.

``write_demo(monitor, days=7, sessions=2000, seed=1)`` generates sessions that walk
the funnels' journey stages with realistic drop-off, the requests and component
operations they cause (daily cycle, a few slow incidents), errors of every type
and level (with a burst of payment failures) and health checks of every component
every 10 minutes, then validates and stores them in batches (``monitor.prepare`` +
``monitor.submit``), oldest first. The same seed gives the same events.
``session_events`` is the session walker that ``btrmon.simulate`` reuses.
Catalogue of names and magnitudes: ``btrmon.demo_catalog``.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable

from btrmon import demo_catalog as cat
from btrmon.bulk import bulk_generate  # noqa: F401 - part of this module's API
from btrmon.writer import QueueFull

Event = tuple[str, dict]
HEALTH_EVERY_S = 600
BATCH = 5000


@dataclass
class Timeline:
    """The generated period and when its incidents and payment burst happen (epoch seconds)."""

    start: float
    end: float
    incidents: dict[str, tuple[float, float]] = field(default_factory=dict)
    burst: tuple[float, float] | None = None

    @classmethod
    def past_days(cls, days: float, now: float) -> "Timeline":
        """The ``days`` before ``now`` with the catalogue's incidents placed in it."""
        start, span = now - days * 86400.0, days * 86400.0
        incidents = {name: (start + frac * span, start + frac * span + length) for name, frac, length in cat.INCIDENTS}
        b0 = start + cat.PAYMENT_BURST[0] * span
        return cls(start, now, incidents, (b0, b0 + cat.PAYMENT_BURST[1]))

    def active(self, name: str, t: float) -> bool:
        """True when incident ``name`` (or ``'payment_burst'``) is going on at ``t``."""
        window = self.burst if name == "payment_burst" else self.incidents.get(name)
        return window is not None and window[0] <= t <= window[1]


def _hour(t: float) -> float:
    return (t % 86400.0) / 3600.0


def _error(template: tuple, t: float, base: dict) -> Event:
    error_type, level, component, message, file, line = template
    return ("error", {
        **base, "error_type": error_type, "error_level": level, "error_message": message,
        "error_file": "wp-content/plugins/born-to-ride-booking/" + file, "error_line": line,
        "stack_trace": f"#0 {file}({line}): BTR_{component.title()}->run()\n#1 wp-includes/class-wp-hook.php(324)\n#2 {{main}}",
        "component": component, "timestamp": t,
    })


def _metric(spec: cat.MetricSpec, value: float, component: str, t: float, base: dict, **extra) -> Event:
    return ("metric", {**base, "metric_type": spec.metric_type, "metric_name": spec.name,
                       "metric_value": round(value, 2), "metric_unit": spec.unit,
                       "component": component, "timestamp": t, **extra})


def _cache_metrics(t: float, component: str, base: dict, db_slow: bool) -> list[Event]:
    """Cache hit/miss counts on one request in four (derived from the time, not the shared
    random stream, so the rest of the demo stays as it was); more misses while the database is slow."""
    second = int(t)
    if second % 4:
        return []
    hits, misses = 6 + second % 7, (second // 4) % 3 + (4 if db_slow else 0)
    core = cat.CORE_METRICS
    return [_metric(core["cache_hit"], hits, component, t, base), _metric(core["cache_miss"], misses, component, t, base)]


def _request_metrics(rng: random.Random, stage: str, t: float, base: dict, tl: Timeline) -> list[Event]:
    """The page request of one journey step: core metrics, AJAX calls, component operations."""
    _, component, _, operations = cat.STAGES[stage]
    load = cat.daily_load(_hour(t))
    db_slow = tl.active("database_slow", t)
    slow = 10.0 if db_slow else 1.0
    core = cat.CORE_METRICS

    def draw(spec: cat.MetricSpec) -> float:
        return rng.lognormvariate(0.0, spec.sigma) * spec.median

    events = [
        _metric(core["request_duration"], draw(core["request_duration"]) * load * slow, component, t, base),
        _metric(core["peak_memory"], draw(core["peak_memory"]) * (6.0 if tl.active("memory_spike", t) else 1.0),
                component, t, base),
        _metric(core["memory_growth"], draw(core["memory_growth"]), component, t, base),
    ]
    for _ in range(3 if db_slow else (1 if rng.random() < 0.08 else 0)):
        events.append(_metric(core["slow_query"], 100 + draw(core["slow_query"]) * slow, "database", t, base,
                              metadata={"query": "SELECT meta_value FROM wp_postmeta WHERE post_id = ?"}))
    if operations or stage == "shopping":
        for _ in range(rng.randint(1, 2)):
            events.append(_metric(core["ajax_duration"], draw(core["ajax_duration"]) * load * slow, component,
                                  t + rng.uniform(1, 20), base, request_uri="/wp-admin/admin-ajax.php"))
    events.extend(_cache_metrics(t, component, base, db_slow))
    for name in operations:
        spec, op_component = cat.COMPONENT_METRICS[name]
        factor = 5.0 if tl.active("gateway_slow", t) and op_component in ("gateway", "payment") else 1.0
        events.append(_metric(spec, draw(spec) * load * factor, op_component, t + rng.uniform(0.5, 5), base))
    return events


def session_events(rng: random.Random, t0: float, tl: Timeline, funnel: str | None = None) -> list[Event]:
    """One visitor: walks a funnel's stages from ``t0`` until it converts or drops off."""
    funnel = funnel or rng.choices(list(cat.FUNNEL_WEIGHTS), weights=list(cat.FUNNEL_WEIGHTS.values()))[0]
    stages, go_on = cat.FUNNEL_PATHS[funnel]
    session_id = f"{rng.getrandbits(104):026x}"
    base = {"session_id": session_id, "user_agent": rng.choice(cat.USER_AGENTS)}
    if rng.random() < 0.3:
        base["user_id"] = str(rng.randint(1, 900))
    package = rng.choice(cat.PACKAGES)
    participants = rng.randint(1, 6)
    events: list[Event] = []
    t = t0
    for k, stage in enumerate(stages):
        step, component, page, _ = cat.STAGES[stage]
        uri = page.replace("tour-dolomiti", package) + (f"?step={k + 1}" if stage == "checkout" else "")
        request_base = {**base, "request_uri": uri}
        events += _request_metrics(rng, stage, t, request_base, tl)
        failed = False
        if stage == "payment_processing" and tl.active("payment_burst", t) and rng.random() < 0.75:
            events.append(_error(rng.choice(cat.PAYMENT_FAILURES), t + 2, request_base))
            failed = True
        elif rng.random() < 0.02:
            matching = [e for e in cat.ERROR_TEMPLATES if e[2] == component] or list(cat.ERROR_TEMPLATES)
            events.append(_error(rng.choice(matching), t + 1, request_base))
        goes_on = k < len(go_on) and not failed and rng.random() < go_on[k]
        gap = rng.lognormvariate(0.0, 0.6) * 55.0
        step_data = {"package": package, "participants": participants, "step": k + 1}
        if stage in ("calculation", "quote_generation", "checkout", "payment_processing", "conversion"):
            step_data["total_eur"] = round(participants * rng.uniform(180, 900), 2)
        journey = {
            "session_id": session_id, "journey_step": step, "journey_stage": stage, "conversion_funnel": funnel,
            "step_data": step_data, "drop_off": not goes_on and k < len(stages) - 1,
            "duration_ms": round(gap * 1000, 1), "request_uri": uri, "timestamp": t,
        }
        if k == 0:
            journey["referrer"] = rng.choice(cat.REFERRERS) or None
        if "user_id" in base:
            journey["user_id"] = base["user_id"]
        events.append(("journey", journey))
        if not goes_on:
            break
        t += gap
    return events


def health_events(rng: random.Random, tl: Timeline, every_s: float = HEALTH_EVERY_S) -> list[Event]:
    """A check of every component every ``every_s`` seconds, with warnings during incidents."""
    events: list[Event] = []
    disk_low_from = tl.end - (tl.end - tl.start) * 0.08
    t = tl.start + every_s / 2
    while t < tl.end:
        for component, (check, base_ms) in cat.HEALTH_COMPONENTS.items():
            status, message, meta = "healthy", None, {}
            if component == "database" and tl.active("database_slow", t):
                status, message = "warning", "queries slower than 1000 ms"
            elif component == "memory":
                meta["usage_mb"] = round(rng.uniform(60, 140) * (2.5 if tl.active("memory_spike", t) else 1), 1)
                if meta["usage_mb"] > 256:
                    status, message = "warning", f"memory usage {meta['usage_mb']} MB above 256 MB"
            elif component == "disk_space":
                meta["free_percent"] = 12.0 if t >= disk_low_from else 41.0
                if t >= disk_low_from:
                    status, message = "warning", "12% free on /var/www"
            elif component == "external_services" and tl.active("payment_burst", t):
                status, message = "critical", "payment gateway: no response within 10 s"
            elif component == "external_services" and tl.active("gateway_slow", t):
                status, message = "warning", "payment gateway answered in 3800 ms"
            elif rng.random() < 0.004:
                status, message = "warning", f"{check} slower than usual"
            factor = {"healthy": 1.0, "warning": 8.0, "critical": 30.0}[status]
            event = {"component": component, "health_check": check, "status": status,
                     "response_time_ms": round(base_ms * rng.lognormvariate(0, 0.3) * factor, 2),
                     "metadata": meta or None, "timestamp": t}
            if message:
                event["error_message"] = message
            events.append(("health", event))
        t += every_s
    return events


def generate_events(days: float = 7, sessions: int = 2000, seed: int = 1, now: float | None = None) -> list[Event]:
    """Every demo event of the period, oldest first (the same for the same seed and ``now``)."""
    rng = random.Random(seed)
    tl = Timeline.past_days(days, time.time() if now is None else now)
    events: list[Event] = []
    latest_start = tl.end - 900
    for _ in range(sessions):
        while True:  # more visitors in the afternoon than at night
            t0 = rng.uniform(tl.start, latest_start)
            if rng.random() * 1.55 < cat.daily_load(_hour(t0)):
                break
        events += session_events(rng, t0, tl)
    if tl.burst is not None:  # visitors who hit the payment outage
        for _ in range(max(12, sessions // 60)):
            events += session_events(rng, rng.uniform(*tl.burst) - 60, tl, funnel="payment_completion")
    for template in cat.ERROR_TEMPLATES:  # every type and level at least once
        events.append(_error(template, rng.uniform(tl.start, tl.end - 60), {"request_uri": "/wp-admin/admin-ajax.php"}))
    events += health_events(rng, tl)
    events = [(kind, e) for kind, e in events if e["timestamp"] <= tl.end]
    events.sort(key=lambda kind_event: kind_event[1]["timestamp"])
    return events


def write_demo(monitor, days: float = 7, sessions: int = 2000, seed: int = 1,
               progress: Callable[[int, int, str], None] | None = None, batch: int = BATCH,
               now: float | None = None) -> dict[str, int]:
    """Generate the demo (ending at ``now``) and store it through ``monitor``'s writer; returns rows per table."""
    if days <= 0 or sessions < 0:
        raise ValueError("days must be > 0 and sessions >= 0")
    events = generate_events(days, sessions, seed, now)
    stored: dict[str, int] = {}
    for start in range(0, len(events), batch):
        rows, rejected, _ = monitor.prepare(events[start:start + batch])
        if rejected:
            raise ValueError(f"demo event rejected: {rejected[0][1]}")
        if rows:
            _submit(monitor, rows)
        for table, table_rows in rows.items():
            stored[table] = stored.get(table, 0) + len(table_rows)
        if progress:
            progress(min(start + batch, len(events)), len(events), "demo events")
    return stored


def _submit(monitor, rows, attempts: int = 20) -> None:
    """Store one batch, waiting for the writer when a busy server's queue is full."""
    for attempt in range(attempts):
        try:
            monitor.submit(rows).wait(120)
            return
        except QueueFull:
            if attempt == attempts - 1:
                raise
            monitor.flush(30)


def is_empty(monitor) -> bool:
    """True when none of the four event tables holds a row (``make run`` seeds the demo then)."""
    for table in ("metrics", "errors", "journey", "health"):
        if monitor.db.query(f"SELECT 1 FROM {table} LIMIT 1"):
            return False
    return True
