"""The caller-side queue of the Python API: append on the caller, validate in the background.

``Monitor.record_metric`` and friends append one raw tuple ``(kind, event, context,
epoch)`` to a bounded deque and return (about 1 µs); a daemon thread drains it,
applies the context, validates through ``Monitor.prepare`` (or the remote client)
and hands the rows on. Validation therefore costs the app nothing on its own
thread; strict mode validates on the caller as well, so bad arguments raise there.

Events are gathered for ``LINGER_SECONDS`` before a drain, so the writer commits
about once a second for the API: a DuckDB commit costs 5-15 ms of CPU even for a
few rows, so committing per request would cost more than the request. Events are
therefore visible up to ~1 s after the call; critical errors and ``flush`` skip
the wait. In a forked child (a pre-forking server importing the app first) the
queue restarts empty with its own thread; the parent delivers what it queued.
"""

from __future__ import annotations

import atexit
import concurrent.futures.thread  # noqa: F401 - registers its atexit now; lazily at exit it would fail the final commit
import logging
import os
import threading
import time
import weakref
from collections import deque
from typing import Callable

from btrmon.context import apply

log = logging.getLogger(__name__)

LINGER_SECONDS = 1.0
MAX_DRAIN = 5000

Item = tuple  # (kind, event dict, context dict, epoch seconds) or a flush marker (threading.Event)


class EventPump:
    """Bounded deque + one thread calling ``deliver([(kind, event), ...])``."""

    def __init__(self, deliver: Callable[[list[tuple[str, dict]]], None], max_pending: int, counters,
                 name: str = "btrmon-api") -> None:
        self.deliver = deliver
        self.max_pending = max_pending
        self.counters = counters
        self._pending: deque = deque()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._linger = threading.Event()  # set to cut the gathering wait short
        self._urgent = False
        self._name = name
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()
        after_fork_in_child(self._restart_in_child)

    def _restart_in_child(self) -> None:
        """In a forked child (gunicorn --preload...): fresh events and thread; the parent keeps its queue."""
        self._pending = deque()
        self._wake, self._linger = threading.Event(), threading.Event()
        self._urgent = False
        if not self._stop.is_set():
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()

    @property
    def depth(self) -> int:
        """Events waiting to be validated."""
        return len(self._pending)

    def put(self, item: Item, urgent: bool = False) -> bool:
        """Queue ``item`` (``urgent``: deliver without gathering); False and counted when full."""
        if len(self._pending) >= self.max_pending or self._stop.is_set():
            self.counters.add("dropped:queue_full")
            return False
        self._pending.append(item)
        if urgent:
            self._urgent = True
            self._linger.set()
        if not self._wake.is_set():
            self._wake.set()
        return True

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued before the call was delivered; False on timeout."""
        if not self._thread.is_alive():
            return not self._pending
        marker = threading.Event()
        self._pending.append(marker)
        self._urgent = True
        self._linger.set()
        self._wake.set()
        return marker.wait(timeout)

    def close(self, timeout: float = 10) -> None:
        """Deliver what is queued, then stop the thread."""
        self.flush(timeout)
        self._stop.set()
        self._linger.set()
        self._wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not (self._stop.is_set() and not self._pending):
            self._wake.wait()
            if not self._urgent and not self._stop.is_set():
                self._linger.wait(LINGER_SECONDS)  # gather events into one drain (one commit)
            self._urgent = False
            self._linger.clear()
            self._wake.clear()
            while self._pending:
                self._drain()

    def _drain(self) -> None:
        pairs: list[tuple[str, dict]] = []
        markers: list[threading.Event] = []
        pending = self._pending
        while pending and len(pairs) < MAX_DRAIN:
            item = pending.popleft()
            if isinstance(item, threading.Event):
                markers.append(item)
                break  # deliver what came before the marker, then release it
            kind, event, ctx, epoch = item
            event["timestamp"] = epoch
            pairs.append((kind, apply(kind, event, ctx)))
        if pairs:
            try:
                self.deliver(pairs)
            except Exception:  # noqa: BLE001 - e.g. metadata mutated by the app meanwhile
                self._deliver_one_by_one(pairs)
        for marker in markers:
            marker.set()

    def _deliver_one_by_one(self, pairs: list[tuple[str, dict]]) -> None:
        """After a failed batch: deliver each event alone so one bad event loses only itself."""
        for pair in pairs:
            try:
                self.deliver([pair])
            except Exception:  # noqa: BLE001 - the pump thread must survive anything
                log.exception("btrmon: a %s event could not be delivered", pair[0])
                self.counters.add("dropped:internal_error")


def after_fork_in_child(method: Callable[[], None]) -> None:
    """Call the bound ``method`` in a forked child while its object lives (threads do not survive fork)."""
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.WeakMethod(method)

    def call() -> None:
        bound = ref()
        if bound is not None:
            try:
                bound()
            except Exception:  # noqa: BLE001 - never break the child's start
                log.exception("btrmon: restart after fork failed")

    os.register_at_fork(after_in_child=call)


class RateLimitedLog:
    """Logs a message at most once per ``period`` seconds per key (bad input can be hot)."""

    def __init__(self, period: float = 60.0) -> None:
        self.period = period
        self._last: dict[str, float] = {}

    def warning(self, key: str, message: str, *args) -> None:
        """Log ``message`` unless ``key`` was logged within the period."""
        now = time.monotonic()
        if now - self._last.get(key, -1e9) >= self.period:
            if len(self._last) > 1000:
                self._last.clear()
            self._last[key] = now
            log.warning(message, *args)


# -- flushed at interpreter exit ----------------------------------------------------------------
_LIVE: "weakref.WeakSet" = weakref.WeakSet()
_exit_flush_registered = False


def flush_at_exit(monitor) -> None:
    """Flush ``monitor`` (up to 5 s) when the interpreter exits, unless it was closed before.

    Registered once, after duckdb's own exit hook (atexit runs LIFO): duckdb refuses
    Python-side scans once its exit hook ran, so ours must run first.
    """
    global _exit_flush_registered
    _LIVE.add(monitor)
    if not _exit_flush_registered:
        _exit_flush_registered = True
        atexit.register(_flush_live_monitors)


def forget_at_exit(monitor) -> None:
    """``monitor`` was closed: nothing to flush at exit."""
    _LIVE.discard(monitor)


def _flush_live_monitors(timeout: float = 5.0) -> None:
    for monitor in list(_LIVE):
        try:
            monitor.flush(timeout)
        except Exception:  # noqa: BLE001 - never fail interpreter exit
            pass
