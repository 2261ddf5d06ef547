"""The dashboard cache: query results per (function, arguments), ``btr_monitor_cache_ttl`` seconds.

Two kinds of entries (the seed's "recent metrics cache per real-time display" and
"transient caching for dashboard data"):

- *real-time*: calls on a timeframe of at most ``REALTIME_SPAN`` (1h, 6h), explicit
  ranges, and calls without a timeframe (latest health...). Such an entry is also keyed
  on the writer's ``commit_seq``, so any committed write makes it stale: a real-time
  panel never shows data older than the newest commit.
- *transient*: calls on longer timeframes (24h, 7d). They are served for the ttl even
  when new events were committed meanwhile (a 7-day aggregate barely moves in a few
  minutes, and recomputing it on every refresh is what costs most).

The scheduler's ``dashboard.cache_warm`` job recomputes transient entries that were
viewed recently once they are past half their ttl, so a 7-day page stays instant.
Concurrent identical lookups compute once (the others wait for that result). Hits and
misses are counted (``hit_rate``) and mirrored into ``monitor.counters`` as
``dashboard_cache_hit`` / ``dashboard_cache_miss``; ``timings()`` gives the mean time of
each query function for the self-metrics.

*Shared* results (``shared(db, fn, tf)``): the base aggregation that several panels of one
page slice (one pass over the window instead of one per panel). Kept apart from the
entries above (not counted, not warmed) and for at most ``SHARE_SECONDS`` (also ended by a
commit for real-time windows), so they only serve the callbacks of one page refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any, Callable, Mapping

from btrmon.queries.base import TIMEFRAMES, Window

log = logging.getLogger(__name__)

REALTIME_SPAN = timedelta(hours=6)
SHARE_SECONDS = 5.0
_WAIT_SECONDS = 60.0


def is_realtime(args: tuple) -> bool:
    """True unless the call's timeframe is a label or Window longer than ``REALTIME_SPAN``."""
    for arg in args:
        if isinstance(arg, str) and arg in TIMEFRAMES:
            return TIMEFRAMES[arg] <= REALTIME_SPAN
        if isinstance(arg, Window):
            return arg.label == "custom" or arg.end - arg.start <= REALTIME_SPAN
    return True


class QueryCache:
    """Caches ``fn(monitor, *args)`` results; see the module docstring for freshness."""

    def __init__(self, monitor, max_entries: int = 512) -> None:
        self.monitor = monitor
        self.max_entries = max_entries
        self.hits = 0
        self.misses = 0
        # key -> [seq or None (transient), stored_at, value, fn, args, kwargs, last_access]
        self._entries: dict[tuple, list] = {}
        self._inflight: dict[tuple, threading.Event] = {}
        self._shared: dict[tuple, list] = {}  # key -> [seq or None, stored_at, value]
        self._durations: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _ttl(self) -> float:
        try:
            return float(self.monitor.config["btr_monitor_cache_ttl"])
        except Exception:  # noqa: BLE001 - a monitor without config caches nothing
            return 0.0

    def _seq(self) -> int:
        writer = getattr(self.monitor, "writer", None)
        return writer.commit_seq if writer is not None else 0

    def _fresh(self, entry, seq: int, now: float, ttl: float) -> bool:
        return entry is not None and now - entry[1] < ttl and (entry[0] is None or entry[0] == seq)

    def get(self, fn: Callable, *args, **kwargs) -> Any:
        """``fn(monitor, *args, **kwargs)``, from the cache when fresh."""
        key = (fn, _hashable(args), _hashable(kwargs))  # the function itself: lambdas never collide
        realtime = is_realtime(args)
        while True:
            seq, now, ttl = self._seq(), time.monotonic(), self._ttl()
            with self._lock:
                entry = self._entries.get(key)
                if self._fresh(entry, seq, now, ttl):
                    entry[6] = now
                    self.hits += 1
                    self._count("dashboard_cache_hit")
                    return entry[2]
                waiting = self._inflight.get(key)
                if waiting is None:
                    self._inflight[key] = threading.Event()
                    self.misses += 1
                    break
            if not waiting.wait(_WAIT_SECONDS):  # the other computation hangs: compute ourselves
                with self._lock:
                    self.misses += 1
                break
        self._count("dashboard_cache_miss")
        try:
            return self._compute(key, fn, args, kwargs, None if not realtime else seq, now, ttl)
        finally:
            with self._lock:
                event = self._inflight.pop(key, None)
            if event is not None:
                event.set()

    def share(self, fn: Callable, *args) -> Any:
        """``fn(monitor, *args)`` computed once for the panels of one page refresh (see the
        module docstring); not counted in the hit rate or the timings."""
        key = ("shared", fn, _hashable(args))
        seq = self._seq() if is_realtime(args) else None
        while True:
            now, ttl = time.monotonic(), min(self._ttl(), SHARE_SECONDS)
            with self._lock:
                entry = self._shared.get(key)
                if entry is not None and now - entry[1] < ttl and entry[0] == seq:
                    return entry[2]
                waiting = self._inflight.get(key)
                if waiting is None:
                    self._inflight[key] = threading.Event()
                    break
            if not waiting.wait(_WAIT_SECONDS):
                break
        try:
            value = fn(self.monitor, *args)
            if ttl > 0:
                with self._lock:
                    self._shared = {k: e for k, e in self._shared.items() if now - e[1] < ttl}
                    self._shared[key] = [seq, now, value]
            return value
        finally:
            with self._lock:
                event = self._inflight.pop(key, None)
            if event is not None:
                event.set()

    def refresh_viewed(self, max_idle: float = 600.0) -> int:
        """Recompute transient entries (24h, 7d) viewed within ``max_idle`` seconds once they
        are past half their ttl, so viewers never wait for a long-window computation.
        Returns how many were refreshed (the scheduler's ``dashboard.cache_warm`` job)."""
        now, ttl = time.monotonic(), self._ttl()
        with self._lock:
            due = [(k, e) for k, e in self._entries.items()
                   if e[0] is None and now - e[6] < max_idle and now - e[1] > ttl / 2]
        refreshed = 0
        for key, entry in due:
            try:
                self._compute(key, entry[3], entry[4], entry[5], None, time.monotonic(), ttl)
                refreshed += 1
            except Exception:  # noqa: BLE001 - the next view computes it; never breaks the job
                log.exception("dashboard cache refresh of %s failed", entry[3].__name__)
        return refreshed

    def _compute(self, key, fn, args, kwargs, seq, now, ttl) -> Any:
        started = time.perf_counter()
        value = fn(self.monitor, *args, **kwargs)
        elapsed_ms = (time.perf_counter() - started) * 1000
        with self._lock:
            self._durations.setdefault(fn.__name__, []).append(elapsed_ms)
            if ttl > 0:
                if len(self._entries) >= self.max_entries:
                    current = self._seq()
                    self._entries = {k: v for k, v in self._entries.items() if self._fresh(v, current, now, ttl)}
                    if len(self._entries) >= self.max_entries:
                        self._entries.clear()
                old = self._entries.get(key)
                self._entries[key] = [seq, now, value, fn, args, kwargs, old[6] if old else now]
        return value

    def _count(self, name: str) -> None:
        counters = getattr(self.monitor, "counters", None)
        if counters is not None:
            counters.add(name)

    @property
    def hit_rate(self) -> float | None:
        """Percent of lookups served from the cache (None before the first lookup)."""
        total = self.hits + self.misses
        return 100.0 * self.hits / total if total else None

    def clear(self) -> None:
        """Forget every entry (and the shared results)."""
        with self._lock:
            self._entries.clear()
            self._shared.clear()

    def purge_expired(self) -> int:
        """Drop entries that are stale (older commit or past the ttl); returns how many
        (shared results are all dropped, uncounted)."""
        seq, now, ttl = self._seq(), time.monotonic(), self._ttl()
        with self._lock:
            self._shared.clear()
            before = len(self._entries)
            self._entries = {k: v for k, v in self._entries.items() if self._fresh(v, seq, now, ttl)}
            return before - len(self._entries)

    def timings(self) -> dict[str, float]:
        """Mean milliseconds per query function computed since the last call (self-metrics)."""
        with self._lock:
            durations, self._durations = self._durations, {}
        return {name: sum(values) / len(values) for name, values in durations.items() if values}


def _hashable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple, set)):
        return tuple(_hashable(v) for v in value)
    return value


def cache_of(monitor) -> QueryCache:
    """The monitor's dashboard cache (created on first use)."""
    return monitor.part("query_cache", QueryCache)


def cached(monitor, fn: Callable, *args, **kwargs) -> Any:
    """``fn(monitor, *args, **kwargs)`` through the monitor's dashboard cache."""
    return cache_of(monitor).get(fn, *args, **kwargs)


def shared(db, fn: Callable, *args) -> Any:
    """``fn(db, *args)``, computed once per page refresh when ``db`` is a monitor whose
    dashboard cache is in use (its panels come through ``cached``); else directly."""
    cache = db.part("query_cache") if hasattr(db, "part") else None  # a Monitor's cache, when made
    if isinstance(cache, QueryCache):
        return cache.share(fn, *args)
    return fn(db, *args)


def jobs(monitor) -> list:
    """The cache warming job: refresh the long-window entries people are looking at."""
    from btrmon.scheduler import JobSpec

    return [JobSpec("dashboard.cache_warm", lambda: cache_of(monitor).refresh_viewed(), seconds=30.0)]
