"""Runs every check, stores the results through the writer and fires the hook."""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from btrmon.health.checks import check_btrmon, check_database, check_disk_space, check_memory
from btrmon.health.core import result, state_of
from btrmon.health.external import check_external_services
from btrmon.health.reported import check_reported_components

log = logging.getLogger(__name__)

HOOK = "btr_monitor_health_check"
STORE_TIMEOUT = 10.0

# Each check takes the monitor and returns a list of results; extend to add one.
CHECKS: list[tuple[str, Callable[[object], list[dict]]]] = [
    ("database", check_database),
    ("memory", check_memory),
    ("disk_space", check_disk_space),
    ("btrmon", check_btrmon),
    ("external_services", check_external_services),
    ("reported", check_reported_components),
]

_in_hook = threading.local()


def run_health_checks(monitor, store: bool = True) -> list[dict]:
    """Run every check; store the results (unless disabled) and return them."""
    if monitor.db is None:
        raise RuntimeError("run_health_checks needs an embedded monitor; a remote one reads GET /api/v1/health")
    started = time.perf_counter()
    results: list[dict] = []
    for name, check in CHECKS:
        try:
            results.extend(check(monitor))
        except Exception as exc:  # noqa: BLE001 - one broken check never stops the others
            log.exception("health check %s failed", name)
            results.append(result(name, "run", "critical", None, f"check failed: {type(exc).__name__}: {exc}"))
    fresh = [item for item in results if item.pop("_store", True)]
    if store and monitor.enabled:
        _store(monitor, fresh)
    for item in results:
        fire_hook(monitor, item)
    elapsed = (time.perf_counter() - started) * 1000
    state_of(monitor).update(results, elapsed)
    monitor.counters.add("health_runs")
    return results


def _store(monitor, results: list[dict]) -> None:
    rows, rejected, _ = monitor.prepare([("health", item) for item in results])
    for index, message in rejected:
        log.warning("health result %s not stored: %s", results[index]["component"], message)
    if not rows:
        return
    try:
        monitor.submit(rows).wait(STORE_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - the results are still returned and kept in memory
        log.warning("health results not stored: %s", exc)


def fire_hook(monitor, item: dict) -> None:
    """Call the observers of ``btr_monitor_health_check(component, status, data)``.

    The built-in recorder on that hook (``btrmon.hooks.register_builtins``) stores
    what *applications* report; our results are already stored, so it is skipped
    here (calling it would store every result twice). Failures are logged and
    counted like ``Hooks.do_action`` does, and never break the checks.
    """
    hooks = getattr(monitor, "hooks", None)
    if hooks is None or getattr(_in_hook, "active", False):
        return  # no hooks, or a handler reporting back: no recursion
    _in_hook.active = True
    try:
        for callback in hooks.callbacks(HOOK):
            if _is_builtin_recorder(callback):
                continue
            try:
                callback(item["component"], item["status"], item)
            except Exception as exc:  # noqa: BLE001 - a handler never breaks the checks
                hooks.report_failure(HOOK, callback, exc)  # logged, counted, seen by FAILURE_OBSERVERS
    finally:
        _in_hook.active = False


def _is_builtin_recorder(callback) -> bool:
    return getattr(callback, "__module__", "") == "btrmon.hooks" and \
        getattr(callback, "__qualname__", "").startswith("register_builtins.")


_FIELDS = ("health_check", "response_time_ms", "error_message", "metadata")


def record_reported(monitor, component: str, status: str, data=None, notify: bool = True) -> bool:
    """Record a result the application reports about its own ``component``.

    ``data`` may hold ``health_check``, ``response_time_ms``, ``error_message`` (or
    ``message``) and ``metadata``; other keys go into ``metadata`` (a value that is
    not a dict is kept as ``metadata.data``). Returns True when queued. The result
    joins the latest results (``/healthz``) and, with ``notify``, the hook observers
    see it (``do_action`` already ran them when it came through the hook).
    """
    data = dict(data) if isinstance(data, dict) else ({} if data is None else {"data": data})
    if "message" in data and "error_message" not in data:
        data["error_message"] = data.pop("message")
    fields = {k: data.pop(k) for k in _FIELDS if k in data}
    metadata = fields.get("metadata")
    if data:
        metadata = {**(metadata if isinstance(metadata, dict) else {}), **data}
    queued = monitor.record_health(component, status, response_time_ms=fields.get("response_time_ms"),
                                   message=fields.get("error_message"), metadata=metadata,
                                   health_check=fields.get("health_check"))
    if queued and status in ("healthy", "warning", "critical"):
        try:
            item = result(component, fields.get("health_check") or component, status,
                          fields.get("response_time_ms"), fields.get("error_message"), metadata)
        except (TypeError, ValueError):
            return queued  # rejected later by validation (counted there)
        state_of(monitor).remember(item)
        if notify:
            fire_hook(monitor, item)
    return queued
