"""Errors from logging and from uncaught exceptions (see the type mapping in ``btrmon.instrument``).

    install_logging(monitor)          # WARNING+ records of every logger become errors
    install_excepthooks(monitor)      # sys.excepthook (wp_die) and threading.excepthook (exception)

Levels: CRITICAL -> critical, ERROR -> error, WARNING -> warning, below -> notice.
btrmon's own loggers, and any record logged on one of btrmon's threads (named
``btrmon-*``, e.g. urllib3 warnings in the remote sender), are ignored: a failing
monitor must not feed on itself.
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from typing import Callable


def error_level(levelno: int) -> str:
    """The seed's error level of a logging level number."""
    if levelno >= logging.CRITICAL:
        return "critical"
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warning"
    return "notice"


def _monitor(monitor):
    if monitor is None:
        from btrmon.monitor import Monitor

        monitor = Monitor.get_instance()
    return monitor


class BtrmonHandler(logging.Handler):
    """Records log records (WARNING and above by default) as errors."""

    def __init__(self, monitor=None, level: int = logging.WARNING, component: str | None = None) -> None:
        super().__init__(level)
        self.monitor, self.component = _monitor(monitor), component

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record as an error (never raises)."""
        own_thread = (record.threadName or "").startswith("btrmon-")  # e.g. urllib3 in the remote sender
        if own_thread or record.name == "btrmon" or record.name.startswith("btrmon."):
            return
        try:
            stack = None
            error_type = "php_error"
            if record.exc_info and record.exc_info[1] is not None:
                error_type = "exception"
                stack = "".join(traceback.format_exception(*record.exc_info))
            elif record.stack_info:
                stack = record.stack_info
            self.monitor.track_error(error_type, error_level(record.levelno), record.getMessage(),
                                     record.pathname, record.lineno, stack,
                                     self.component or getattr(record, "component", None) or record.name)
        except Exception:  # noqa: BLE001
            self.handleError(record)


def install_logging(monitor=None, logger: logging.Logger | None = None,
                    level: int = logging.WARNING, component: str | None = None) -> BtrmonHandler:
    """Add a ``BtrmonHandler`` to ``logger`` (default: the root logger); returns it."""
    handler = BtrmonHandler(monitor, level, component)
    (logger or logging.getLogger()).addHandler(handler)
    return handler


def _record(monitor, error_type: str, exc: BaseException, component: str | None) -> None:
    try:
        monitor.capture_exception(exc, "critical", component, error_type)
    except Exception:  # noqa: BLE001 - the original hook still runs
        pass


def install_excepthooks(monitor=None, component: str | None = None) -> Callable[[], None]:
    """Record uncaught exceptions, then call the previous hooks. Returns an uninstaller."""
    monitor = _monitor(monitor)
    previous_sys, previous_thread = sys.excepthook, threading.excepthook

    def sys_hook(exc_type, exc, tb):
        if exc is not None and not isinstance(exc, KeyboardInterrupt):
            if exc.__traceback__ is None:
                exc = exc.with_traceback(tb)
            _record(monitor, "wp_die", exc, component)
            try:
                monitor.flush(5)  # the interpreter is about to exit
            except Exception:  # noqa: BLE001 - the original hook still runs
                pass
        previous_sys(exc_type, exc, tb)

    def thread_hook(args):
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            _record(monitor, "exception", args.exc_value, component)
        previous_thread(args)

    sys.excepthook, threading.excepthook = sys_hook, thread_hook

    def uninstall() -> None:
        sys.excepthook, threading.excepthook = previous_sys, previous_thread

    return uninstall
