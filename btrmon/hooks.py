"""Extension points: WordPress-style actions and filters by name, with priorities.

Why a small registry and not pluggy: the seed's hooks are *named at call time*
(``do_action("btr_checkout_start", ...)``, also arriving over HTTP), ordered by an
integer priority, and filters pass a value through every callback in turn
(``apply_filters(name, value, *args)``). pluggy has neither priorities nor
value-threading hooks (``firstresult`` / hookwrappers are not the same thing)
and wants hook specs as Python classes; emulating that costs more code than the
small ``Hooks`` class below, which also gives us the failure guard we need.

Every hook name btrmon knows is declared once, in ``HOOKS`` below (callbacks may
also be added to other names: plugins may define their own). Plugins are modules
or callables ``register(monitor)`` listed under the entry-point group
``btrmon.plugins`` (in a plugin's pyproject: ``[project.entry-points."btrmon.plugins"]
myplugin = "mypkg.btrmon_plugin:register"``). btrmon's own built-ins go through the
same loader (``BUILTIN_PLUGINS``).

A callback that raises is logged and counted (``monitor.counters["hook_failures"]``)
and never breaks the caller; a filter callback that raises (or returns None) is
skipped and the value passes on unchanged. ``FAILURE_OBSERVERS`` lets tests turn
such failures into test failures (see ``tests/conftest.py``).
"""

from __future__ import annotations

import importlib
import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "btrmon.plugins"
# btrmon's own plugins, loaded exactly like third-party ones ("module:callable" or "module").
BUILTIN_PLUGINS: list[str] = ["btrmon.hooks:register_builtins", "btrmon.integrations:register"]
# Called as observer(hook_name, callback, exception) on every callback failure.
FAILURE_OBSERVERS: list[Callable[[str, Callable, BaseException], None]] = []
DEFAULT_PRIORITY = 10


@dataclass(frozen=True)
class HookSpec:
    """A declared hook: its name, ``action`` or ``filter``, its arguments and purpose."""

    name: str
    kind: str
    args: tuple[str, ...]
    help: str


def _a(name: str, args: tuple[str, ...], help: str) -> HookSpec:
    return HookSpec(name, "action", args, help)


def _f(name: str, args: tuple[str, ...], help: str) -> HookSpec:
    return HookSpec(name, "filter", args, help)


HOOKS: dict[str, HookSpec] = {h.name: h for h in (
    # -- the seed's monitoring actions (recorded by the built-in plugin) --
    _a("btr_monitor_track_metric", ("type", "name", "value", "unit", "component"), "Record a metric."),
    _a("btr_monitor_track_error", ("type", "level", "message", "file", "line"), "Record an error."),
    _a("btr_monitor_track_journey", ("step", "stage", "data", "funnel"), "Record a journey step."),
    _a("btr_monitor_health_check", ("component", "status", "data"), "Record a health check result."),
    # -- the seed's integration actions (btrmon.integrations documents the arguments) --
    _a("btr_calculator_start", ("operation", "input_data"), "A price calculation starts."),
    _a("btr_calculator_complete", ("operation", "input_data", "result"), "A price calculation ends."),
    _a("btr_calculator_error", ("operation", "error_message"), "A price calculation failed."),
    _a("btr_preventivo_creation_start", (), "Quote creation starts."),
    _a("btr_preventivo_creation_complete", ("preventivo_id", "data"), "Quote created."),
    _a("btr_preventivo_creation_error", ("error", "data"), "Quote creation failed."),
    _a("btr_payment_process_start", ("type", "amount"), "A payment starts."),
    _a("btr_payment_process_complete", ("type", "amount", "transaction_id"), "A payment succeeded."),
    _a("btr_payment_process_error", ("type", "error_message"), "A payment failed."),
    _a("btr_gateway_call_start", ("gateway", "operation"), "A payment gateway call starts."),
    _a("btr_gateway_call_complete", ("gateway", "operation", "response"), "A gateway call returned."),
    _a("btr_gateway_call_error", ("gateway", "error_message"), "A gateway call failed."),
    _a("btr_checkout_start", (), "Checkout starts."),
    _a("btr_checkout_step", ("step", "data"), "A checkout step is done."),
    _a("btr_checkout_complete", ("order_id", "order_data"), "Checkout completed: an order."),
    _a("btr_checkout_error", ("step", "error_message"), "Checkout failed at a step."),
    # -- the seed's filters (used by the alert and export code) --
    _f("btr_monitor_alert_rules", ("rules",), "Change the list of alert rules."),
    _f("btr_monitor_notification_channels", ("channels",), "Change the notification channels."),
    _f("btr_monitor_escalation_rules", ("rules",), "Change the escalation rules."),
    _f("btr_monitor_export_data", ("data", "timeframe"), "Transform exported data."),
)}


class Hooks:
    """Actions and filters by name; callbacks ordered by priority (lower first), then age."""

    def __init__(self, counters=None) -> None:
        self._callbacks: dict[str, tuple[tuple[int, int, Callable], ...]] = {}
        self._lock = threading.Lock()
        self._seq = itertools.count()
        self._counters = counters

    def _add(self, name: str, fn: Callable, priority: int) -> Callable:
        if not callable(fn):
            raise TypeError(f"callback for {name!r} must be callable")
        with self._lock:
            entries = self._callbacks.get(name, ()) + ((priority, next(self._seq), fn),)
            self._callbacks[name] = tuple(sorted(entries, key=lambda e: (e[0], e[1])))
        return fn

    def add_action(self, name: str, fn: Callable, priority: int = DEFAULT_PRIORITY) -> Callable:
        """Call ``fn(*args, **kw)`` on ``do_action(name, ...)``; returns ``fn``."""
        return self._add(name, fn, priority)

    def add_filter(self, name: str, fn: Callable, priority: int = DEFAULT_PRIORITY) -> Callable:
        """Pass values of ``apply_filters(name, value, ...)`` through ``fn(value, *args)``."""
        return self._add(name, fn, priority)

    def remove(self, name: str, fn: Callable) -> bool:
        """Remove ``fn`` from hook ``name``; False when it was not there."""
        with self._lock:
            entries = self._callbacks.get(name, ())
            kept = tuple(e for e in entries if e[2] is not fn)
            self._callbacks[name] = kept
            return len(kept) != len(entries)

    def callbacks(self, name: str) -> list[Callable]:
        """The callbacks of ``name`` in the order they run."""
        return [e[2] for e in self._callbacks.get(name, ())]

    def has(self, name: str) -> bool:
        """True when ``name`` has at least one callback."""
        return bool(self._callbacks.get(name))

    def do_action(self, name: str, *args: Any, **kw: Any) -> int:
        """Run every callback of action ``name``; returns how many succeeded. Never raises."""
        ok = 0
        for _, _, fn in self._callbacks.get(name, ()):
            try:
                fn(*args, **kw)
                ok += 1
            except Exception as exc:  # noqa: BLE001 - a plugin never breaks the caller
                self.report_failure(name, fn, exc)
        return ok

    def apply_filters(self, name: str, value: Any, *args: Any, **kw: Any) -> Any:
        """``value`` passed through every filter of ``name`` in order. Never raises."""
        for _, _, fn in self._callbacks.get(name, ()):
            try:
                result = fn(value, *args, **kw)
            except Exception as exc:  # noqa: BLE001
                self.report_failure(name, fn, exc)
                continue
            if result is None:
                self.report_failure(name, fn, TypeError(f"filter {name!r} callback returned None (missing return?)"))
                continue
            value = result
        return value

    def report_failure(self, name: str, fn: Callable, exc: BaseException) -> None:
        """Log and count a failed callback of ``name`` and tell the ``FAILURE_OBSERVERS``."""
        log.error("btrmon hook %s: callback %s failed", name, getattr(fn, "__qualname__", fn), exc_info=exc)
        if self._counters is not None:
            self._counters.add("hook_failures")
        for observer in list(FAILURE_OBSERVERS):
            observer(name, fn, exc)


_entry_points_cache: list | None = None


def plugin_specs() -> list:
    """Built-in plugin specs followed by the ``btrmon.plugins`` entry points (scanned once)."""
    global _entry_points_cache
    if _entry_points_cache is None:
        from importlib.metadata import entry_points

        try:
            _entry_points_cache = list(entry_points(group=ENTRY_POINT_GROUP))
        except Exception:  # noqa: BLE001 - broken metadata never stops the monitor
            log.exception("btrmon: cannot list %s entry points", ENTRY_POINT_GROUP)
            _entry_points_cache = []
    return list(BUILTIN_PLUGINS) + _entry_points_cache


def _resolve(spec) -> Callable:
    if not isinstance(spec, str):  # an importlib.metadata.EntryPoint
        target = spec.load()
    else:
        module, _, attr = spec.partition(":")
        target = importlib.import_module(module)
        if attr:
            target = getattr(target, attr)
    if not callable(target):
        target = getattr(target, "register")
    return target


def load_plugins(monitor, specs: list | None = None) -> list[str]:
    """Call ``register(monitor)`` of every plugin; returns the names loaded. Never raises."""
    loaded = []
    for spec in plugin_specs() if specs is None else specs:
        name = spec if isinstance(spec, str) else f"{spec.name} ({spec.value})"
        try:
            _resolve(spec)(monitor)
            loaded.append(name)
        except Exception:  # noqa: BLE001 - one bad plugin never stops the monitor
            log.exception("btrmon: plugin %s failed to load", name)
            monitor.counters.add("plugin_failures")
    return loaded


def register_builtins(monitor) -> None:
    """The seed's monitoring actions, recorded through ``monitor``'s API."""
    hooks = monitor.hooks

    def track_metric(type, name, value, unit=None, component=None, metadata=None):
        monitor.record_metric(type, name, value, unit, component, metadata)

    def track_error(type, level, message, file=None, line=None, stack_trace=None, component=None):
        monitor.track_error(type, level, message, file, line, stack_trace, component)

    def track_journey(step, stage, data=None, funnel=None):
        monitor.track_journey_step(step, stage, data, funnel)

    def health_check(component, status, data=None):
        # data: health_check, response_time_ms, error_message (or message), metadata; other keys -> metadata
        from btrmon.health.runner import record_reported

        record_reported(monitor, component, status, data, notify=False)  # do_action runs the other callbacks

    hooks.add_action("btr_monitor_track_metric", track_metric)
    hooks.add_action("btr_monitor_track_error", track_error)
    hooks.add_action("btr_monitor_track_journey", track_journey)
    hooks.add_action("btr_monitor_health_check", health_check)
