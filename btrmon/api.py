"""``MonitorAPI``: the seed's public methods ("Metodi API Pubblici"), mixed into ``Monitor``.

Every call builds a small dict, appends it to the ``EventPump`` and returns: it never
blocks and never raises into the app (production). With ``strict=True`` (tests,
development; env ``BTRMON_STRICT=1``) the event is also validated on the caller and
bad arguments raise ``ValueError`` naming the field. In production a bad event is
counted (``counters["rejected"]``) and logged (rate limited) by the pump thread.

The request context (``monitor.context(session_id=...)``) fills session_id,
user_id, request_uri and user_agent. ``flush(timeout)`` waits for the pump, then for
the writer (embedded) or the sender (remote); every live monitor is flushed at
interpreter exit (up to 5 s each; events a down server never got are lost then).
"""

from __future__ import annotations

import functools
import sys
import threading
import time
import traceback
from typing import Any, Callable

from btrmon import context as request_context
from btrmon import models
from btrmon.hooks import Hooks, load_plugins
from btrmon.pump import EventPump, RateLimitedLog, flush_at_exit, forget_at_exit

_time = time.time
_get_context = request_context._current.get


class MonitorAPI:
    """Public API methods of ``Monitor`` (see the module docstring)."""

    # -- set-up (called from Monitor._init_extensions) ----------------------------------
    def _init_api(self) -> None:
        self.hooks = Hooks(self.counters)
        self._timers: dict[str, dict[int, float]] = {}
        self._timers_lock = threading.Lock()
        self._bad_input_log = RateLimitedLog()
        self._client = None
        if self.url:
            from btrmon.client import RemoteClient

            self._client = RemoteClient(self)
            bound = self.config["btrmon_client_queue_max"]
            deliver = self._deliver_remote
        else:
            bound = self.config["btrmon_queue_max_events"]
            deliver = self._deliver_local
        self._pump = EventPump(deliver, bound, self.counters)
        flush_at_exit(self)
        load_plugins(self)

    def _deliver_local(self, pairs: list[tuple[str, dict]]) -> None:
        if not self.enabled:
            self.counters.add("dropped:disabled", len(pairs))
            return
        rows, rejected, _ = self.prepare(pairs)
        for index, message in rejected:
            self._bad_input_log.warning(message.split(":")[0], "btrmon: %s event rejected: %s",
                                        pairs[index][0], message)
        if rows:  # "accepted" like ingestion counts it, so the per-minute self-metrics include the API
            n = sum(len(r) for r in rows.values())
            self.counters.add("accepted" if self.writer.offer(rows) else "dropped:queue_full", n)

    def _deliver_remote(self, pairs: list[tuple[str, dict]]) -> None:
        if not self.enabled:
            self.counters.add("dropped:disabled", len(pairs))
            return
        row_of, valid, policy = self.normalizer.row, [], self.sampling_policy()
        for kind, event in pairs:
            try:
                table, row = row_of(kind, event)
            except models.EventError as exc:
                self.counters.add("rejected")
                self._bad_input_log.warning(exc.field, "btrmon: %s event rejected: %s", kind, exc)
                continue
            reason = self.drop_reason(table, row, policy)
            if reason:
                self.counters.add("dropped:" + reason)
                continue
            valid.append({"kind": kind, **event, "event_id": row[0]})
        self._client.put_many(valid)

    def _queue(self, kind: str, event: dict, urgent: bool = False) -> bool:
        """Append one event for the pump (validated here too in strict mode)."""
        item = (kind, event, _get_context(), _time())
        if self.strict:
            probe = request_context.apply(kind, dict(event, timestamp=item[3]), item[2])
            try:
                self.normalizer.row(kind, probe)
            except models.EventError as exc:
                self.counters.add("rejected")
                raise ValueError(str(exc)) from None
        return self._pump.put(item, urgent)

    # -- recording -----------------------------------------------------------------------
    def record_metric(self, type: str, name: str, value: float, unit: str | None = None,
                      component: str | None = None, metadata: dict | None = None) -> bool:
        """Record one metric (table ``metrics``); True when queued. Do not mutate ``metadata`` afterwards."""
        return self._queue("metric", {"metric_type": type, "metric_name": name, "metric_value": value,
                                      "metric_unit": unit, "component": component, "metadata": metadata})

    def track_error(self, type: str, level: str, message: str, file: str | None = None,
                    line: int | None = None, stack_trace: str | None = None,
                    component: str | None = None) -> bool:
        """Record one error (table ``errors``); level is critical, error, warning or notice."""
        return self._queue("error", {"error_type": type, "error_level": level, "error_message": message,
                                     "error_file": file, "error_line": line, "stack_trace": stack_trace,
                                     "component": component}, urgent=level == "critical")

    def capture_exception(self, exc: BaseException | None = None, level: str = "error",
                          component: str | None = None, type: str = "exception") -> bool:
        """Record ``exc`` (default: the one being handled) with message, file, line and stack."""
        if exc is None:
            exc = sys.exc_info()[1]
            if exc is None:
                return False
        try:
            frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
            file, line = (frames[-1].filename, frames[-1].lineno) if frames else (None, None)
            stack = "".join(traceback.format_exception(exc))
            message = f"{exc.__class__.__name__}: {exc}"
        except Exception:  # noqa: BLE001 - a broken __str__ must not break the app
            file = line = stack = None
            message = exc.__class__.__name__
        return self.track_error(type, level, message, file, line, stack, component)

    def track_journey_step(self, step: str, stage: str, data: dict | None = None,
                           funnel: str | None = None, drop_off: bool = False,
                           duration_ms: float | None = None) -> bool:
        """Record one user journey step (table ``journey``)."""
        return self._queue("journey", {"journey_step": step, "journey_stage": stage, "step_data": data,
                                       "conversion_funnel": funnel, "drop_off": drop_off,
                                       "duration_ms": duration_ms})

    def record_health(self, component: str, status: str, response_time_ms: float | None = None,
                      message: str | None = None, metadata: dict | None = None,
                      health_check: str | None = None) -> bool:
        """Record one health check result (table ``health``); status healthy, warning or critical."""
        return self._queue("health", {"component": component, "status": status,
                                      "response_time_ms": response_time_ms, "error_message": message,
                                      "metadata": metadata, "health_check": health_check})

    # -- timers --------------------------------------------------------------------------
    def start_timer(self, name: str) -> None:
        """Start timer ``name`` (one per name and thread; another thread may end it)."""
        with self._timers_lock:
            self._timers.setdefault(name, {})[threading.get_ident()] = time.perf_counter()

    def end_timer(self, name: str, component: str | None = None, metric_type: str = "performance",
                  record: bool = True) -> float | None:
        """Milliseconds since ``start_timer(name)`` (this thread's, else the oldest), recorded as a metric.

        A timer never started: ValueError in strict mode, else counted and None.
        """
        end = time.perf_counter()
        with self._timers_lock:
            starts = self._timers.get(name)
            start = None
            if starts:
                start = starts.pop(threading.get_ident(), None)
                if start is None:
                    start = starts.pop(next(iter(starts)))
                if not starts:
                    del self._timers[name]
        if start is None:
            self.counters.add("timer_not_started")
            if self.strict:
                raise ValueError(f"name: no timer {name!r} was started")
            return None
        ms = max(0.0, (end - start) * 1000.0)  # time can go backwards
        if record:
            self.record_metric(metric_type, name, ms, "ms", component)
        return ms

    def timer(self, name: str, component: str | None = None, metric_type: str = "performance",
              metadata: dict | None = None) -> "Timer":
        """A timer recording ``name`` in ms: ``with monitor.timer(...)`` or ``@monitor.timer(...)``."""
        return Timer(self, name, component, metric_type, metadata)

    timed = timer

    # -- hooks ---------------------------------------------------------------------------
    def do_action(self, name: str, *args: Any, **kw: Any) -> int:
        """Run the callbacks of action ``name`` (the seed's integration actions record events)."""
        return self.hooks.do_action(name, *args, **kw)

    def add_action(self, name: str, fn: Callable, priority: int = 10) -> Callable:
        """Register ``fn`` for action ``name`` (lower priority runs first)."""
        return self.hooks.add_action(name, fn, priority)

    def add_filter(self, name: str, fn: Callable, priority: int = 10) -> Callable:
        """Register ``fn(value, *args) -> value`` for filter ``name``."""
        return self.hooks.add_filter(name, fn, priority)

    def apply_filters(self, name: str, value: Any, *args: Any, **kw: Any) -> Any:
        """``value`` passed through the filters of ``name``."""
        return self.hooks.apply_filters(name, value, *args, **kw)

    # -- context -------------------------------------------------------------------------
    def context(self, **fields):
        """Context manager setting session_id, user_id, request_uri, user_agent for the block."""
        return request_context.context(**self._context_fields(fields))

    def set_context(self, **fields) -> None:
        """Merge fields into the current request context (until ``clear_context``)."""
        request_context.set_context(**self._context_fields(fields))

    @staticmethod
    def clear_context() -> None:
        """Forget the current request context."""
        request_context.clear_context()

    def _context_fields(self, fields: dict) -> dict:
        """``fields`` as given (strict: a bad one raises ValueError), else without the bad ones (counted)."""
        if self.strict:
            return fields
        kept = {}
        for key, value in fields.items():
            try:
                request_context.check_fields({key: value})
            except ValueError as exc:
                self.counters.add("rejected")
                self._bad_input_log.warning(key, "btrmon: context field ignored: %s", exc)
                continue
            kept[key] = value
        return kept

    # -- lifecycle helpers (called by Monitor.flush / Monitor.close) ---------------------
    def _flush_api(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        ok = self._pump.flush(timeout)
        remaining = max(0.0, deadline - time.monotonic())
        if self._client is not None:
            return self._client.flush(remaining) and ok
        return self.writer.flush(remaining) and ok

    def _close_api(self, timeout: float = 10) -> None:
        forget_at_exit(self)
        self._pump.close(timeout)
        if self._client is not None:
            self._client.close(timeout)


class Timer:
    """Times a block or each call of a function and records the milliseconds as a metric."""

    def __init__(self, monitor: MonitorAPI, name: str, component: str | None, metric_type: str,
                 metadata: dict | None) -> None:
        self.monitor, self.name, self.component = monitor, name, component
        self.metric_type, self.metadata = metric_type, metadata
        self.ms: float | None = None
        self._starts = threading.local()

    def _record(self, start: float) -> float:
        ms = max(0.0, (time.perf_counter() - start) * 1000.0)
        self.monitor.record_metric(self.metric_type, self.name, ms, "ms", self.component, self.metadata)
        return ms

    def __enter__(self) -> "Timer":
        stack = self._starts.__dict__.setdefault("stack", [])
        stack.append(time.perf_counter())
        return self

    def __exit__(self, *exc) -> None:
        stack = getattr(self._starts, "stack", None)
        if stack:  # entered on another thread: nothing to time here, and never an error for the app
            self.ms = self._record(stack.pop())

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kw):
            start = time.perf_counter()
            try:
                return fn(*args, **kw)
            finally:
                self._record(start)

        return wrapper
