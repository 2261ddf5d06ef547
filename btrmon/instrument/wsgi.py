"""WSGI middleware: per-request duration, memory and errors (Flask, Django, any WSGI app).

    app.wsgi_app = BtrmonMiddleware(app.wsgi_app, monitor)      # Flask (or instrument_flask)
    application = BtrmonMiddleware(get_wsgi_application())      # Django wsgi.py

Per request it records, with request_uri and user_agent (and sets them, plus an
optional session id, as the request context for every call made inside):

- ``request_duration`` (ms) until the response body is fully sent (``close()``);
- ``peak_memory`` (MB): the larger process RSS seen at the start and end of the request;
- ``memory_growth`` (MB): RSS at the end minus RSS at the start (may be negative).
  RSS comes from ``/proc/self/statm`` read through a kept-open descriptor (~2 µs),
  falling back to psutil; tracemalloc would see true per-request peaks but slows
  every allocation. RSS is process-wide: with concurrent threads it includes
  their allocations;
- an unhandled exception: an error ``exception`` / ``critical`` with the stack
  trace, then re-raised unchanged (Flask handles view exceptions itself: use
  ``instrument_flask``, which also listens to ``got_request_exception``);
- AJAX requests (``X-Requested-With: XMLHttpRequest``, or the header named by
  ``btrmon_ajax_header``, default ``X-Btrmon-Ajax: 1``) also give ``ajax_duration``,
  and their errors are type ``ajax_error``.
"""

from __future__ import annotations

import os
import time
from typing import Callable, Iterable

from btrmon.context import _current

_MB = 1024 * 1024
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_statm: tuple[int, int] | None = None  # (pid, fd)


def rss_bytes() -> int:
    """Resident set size of this process in bytes (cheap; 0 when unknown)."""
    global _statm
    pid = os.getpid()
    try:
        if _statm is None or _statm[0] != pid:  # reopen after fork: /proc/self binds at open
            _statm = (pid, os.open("/proc/self/statm", os.O_RDONLY))
        return int(os.pread(_statm[1], 64, 0).split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        try:
            import psutil

            return psutil.Process().memory_info().rss
        except Exception:  # noqa: BLE001 - memory metrics are best effort
            return 0


def _header_key(name: str) -> str:
    return "HTTP_" + name.upper().replace("-", "_")


class BtrmonMiddleware:
    """Wraps a WSGI app; see the module docstring for what it records."""

    def __init__(self, app: Callable, monitor=None, component: str | None = None,
                 session_id: Callable[[dict], str | None] | None = None) -> None:
        if monitor is None:
            from btrmon.monitor import Monitor

            monitor = Monitor.get_instance()
        self.app, self.monitor, self.component = app, monitor, component
        self.session_id = session_id
        self.ajax_key = _header_key(monitor.config["btrmon_ajax_header"])

    def is_ajax(self, environ: dict) -> bool:
        """True for XMLHttpRequest or the configured AJAX header set to 1."""
        return (environ.get("HTTP_X_REQUESTED_WITH", "").lower() == "xmlhttprequest"
                or environ.get(self.ajax_key) == "1")

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        rss_start = rss_bytes()
        query = environ.get("QUERY_STRING")
        uri = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "") + ("?" + query if query else "")
        fields = {"request_uri": uri, "user_agent": environ.get("HTTP_USER_AGENT")}
        if self.session_id is not None:
            try:
                fields["session_id"] = self.session_id(environ)
            except Exception:  # noqa: BLE001 - the app's session lookup failing never breaks the request
                fields["session_id"] = None
        previous = _current.get()
        merged = {**previous, **{k: v for k, v in fields.items() if v}}
        _current.set(merged)
        request = _Request(self, environ, started, rss_start, merged, previous)
        environ["btrmon.request"] = request
        try:
            result = self.app(environ, start_response)
        except BaseException as exc:
            request.finish(exc)
            raise
        return _Response(result, request)


class _Request:
    """What one request needs to record itself once, when it ends."""

    __slots__ = ("mw", "environ", "started", "rss_start", "ctx", "previous", "done", "error_recorded")

    def __init__(self, mw, environ, started, rss_start, ctx, previous) -> None:
        self.mw, self.environ, self.started, self.rss_start = mw, environ, started, rss_start
        self.ctx, self.previous = ctx, previous
        self.done = self.error_recorded = False

    def record_exception(self, exc: BaseException) -> None:
        """Record ``exc`` as this request's unhandled error (once)."""
        if self.error_recorded or isinstance(exc, (GeneratorExit, KeyboardInterrupt)):
            return
        self.error_recorded = True
        try:
            error_type = "ajax_error" if self.mw.is_ajax(self.environ) else "exception"
            self.mw.monitor.capture_exception(exc, "critical", self.mw.component, error_type)
        except Exception:  # noqa: BLE001 - monitoring never breaks the app
            pass

    def finish(self, exc: BaseException | None = None) -> None:
        """Record the request's metrics (and error) once; restore the previous context."""
        if self.done:
            return
        self.done = True
        try:
            _current.set(self.ctx)
            if exc is not None:
                self.record_exception(exc)
            ms = max(0.0, (time.perf_counter() - self.started) * 1000.0)
            rss_end = rss_bytes()
            record, component = self.mw.monitor.record_metric, self.mw.component
            record("performance", "request_duration", ms, "ms", component)
            if self.mw.is_ajax(self.environ):
                record("performance", "ajax_duration", ms, "ms", component)
            if rss_end:
                record("performance", "peak_memory", max(rss_end, self.rss_start) / _MB, "MB", component)
                record("performance", "memory_growth", (rss_end - self.rss_start) / _MB, "MB", component)
        except Exception:  # noqa: BLE001 - strict-mode ValueErrors included: never break the app
            pass
        finally:
            _current.set(self.previous)


class _Response:
    """The app's response iterable, timed until the server closes it."""

    def __init__(self, result: Iterable[bytes], request: _Request) -> None:
        self.result, self.request = result, request

    def __iter__(self):
        try:
            yield from self.result
        except BaseException as exc:
            self.request.record_exception(exc)
            raise

    def close(self) -> None:
        """Close the app's iterable, then record the request."""
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self.request.finish()


def instrument_flask(app, monitor=None, component: str | None = None,
                     session_id: Callable[[dict], str | None] | None = None):
    """Wrap ``app.wsgi_app`` and record exceptions Flask turns into 500 pages; returns ``app``."""
    import flask

    middleware = BtrmonMiddleware(app.wsgi_app, monitor, component, session_id)
    app.wsgi_app = middleware

    def on_exception(sender, exception, **extra):
        request = flask.request.environ.get("btrmon.request")
        if request is not None:
            request.record_exception(exception)

    flask.got_request_exception.connect(on_exception, app, weak=False)
    return app
