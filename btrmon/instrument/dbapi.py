"""Slow queries from any DB-API 2.0 driver: a connection/cursor wrapper.

    con = btrmon.instrument.dbapi.connect(sqlite3.connect("app.db"), monitor)
    con.execute("SELECT ...")            # or con.cursor().execute(...)

A statement (``execute``/``executemany``) slower than ``btrmon_slow_query_ms``
(default 100 ms; or ``threshold_ms``) records the metric ``slow_query`` (ms,
component ``database``) with the statement, literals stripped, in metadata
``statement``. Everything else is passed to the driver unchanged, exceptions too.
"""

from __future__ import annotations

import re
import time
from typing import Any

MAX_STATEMENT = 2000
_LITERALS = re.compile(
    r"""(?P<comment>--[^\n]*|/\*.*?\*/)"""               # comments may hold literals too: dropped
    r"""|(?P<str>[xXbBnNeE]?'(?:[^'\\]|''|\\[^']|\\'|\\(?='))*')"""  # 'text', X'ff', E'..', '' or \' escapes
    r"""|(?P<dollar>\$(?P<tag>[A-Za-z_]*)\$.*?\$(?P=tag)\$)"""  # PostgreSQL $$text$$ / $tag$text$tag$
    r"""|(?P<num>(?<![\w$.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w]))""",  # numbers, not in names or $1
    re.DOTALL,
)
_IN_LIST = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)+\s*\)", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def strip_literals(sql: str) -> str:
    """``sql`` with string and number literals replaced by ``?``, comments dropped, IN lists collapsed."""
    text = _LITERALS.sub(lambda m: "" if m.group("comment") else "?", sql)
    text = _IN_LIST.sub("IN (?)", text)
    return _SPACES.sub(" ", text).strip()[:MAX_STATEMENT]


class SlowQueryRecorder:
    """Times statements and records the slow ones through a monitor."""

    def __init__(self, monitor=None, threshold_ms: float | None = None, component: str = "database") -> None:
        if monitor is None:
            from btrmon.monitor import Monitor

            monitor = Monitor.get_instance()
        self.monitor, self.threshold_ms, self.component = monitor, threshold_ms, component

    def threshold(self) -> float:
        """The current slow-query threshold in ms."""
        return self.threshold_ms if self.threshold_ms is not None else self.monitor.config["btrmon_slow_query_ms"]

    def observe(self, statement: Any, started: float) -> None:
        """Record ``statement`` if it ran longer than the threshold since ``started`` (perf_counter)."""
        ms = (time.perf_counter() - started) * 1000.0
        try:
            if ms >= self.threshold():
                text = statement if isinstance(statement, str) else str(statement)
                self.monitor.record_metric("performance", "slow_query", ms, "ms", self.component,
                                           {"statement": strip_literals(text)})
        except Exception:  # noqa: BLE001 - monitoring never breaks the query
            pass


class CursorProxy:
    """A DB-API cursor whose execute/executemany are timed."""

    def __init__(self, cursor, recorder: SlowQueryRecorder) -> None:
        self._cursor, self._recorder = cursor, recorder

    def execute(self, operation, *args, **kw):
        """Run and time one statement."""
        started = time.perf_counter()
        try:
            result = self._cursor.execute(operation, *args, **kw)
        finally:
            self._recorder.observe(operation, started)
        return self if result is self._cursor else result

    def executemany(self, operation, seq_of_parameters, *args, **kw):
        """Run and time a statement over many parameter sets."""
        started = time.perf_counter()
        try:
            result = self._cursor.executemany(operation, seq_of_parameters, *args, **kw)
        finally:
            self._recorder.observe(operation, started)
        return self if result is self._cursor else result

    def __iter__(self):
        return iter(self._cursor)

    def __enter__(self):
        self._cursor.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cursor.__exit__(*exc)

    def __getattr__(self, name: str):
        return getattr(self._cursor, name)


class ConnectionProxy:
    """A DB-API connection whose cursors (and ``execute`` shortcuts) are timed."""

    def __init__(self, connection, recorder: SlowQueryRecorder) -> None:
        self._connection, self._recorder = connection, recorder

    def cursor(self, *args, **kw) -> CursorProxy:
        """A timed cursor."""
        return CursorProxy(self._connection.cursor(*args, **kw), self._recorder)

    def execute(self, operation, *args, **kw):
        """The sqlite3-style shortcut, timed (returns a timed cursor)."""
        return self.cursor().execute(operation, *args, **kw)

    def executemany(self, operation, seq_of_parameters, *args, **kw):
        """The sqlite3-style shortcut, timed."""
        return self.cursor().executemany(operation, seq_of_parameters, *args, **kw)

    def __enter__(self):
        self._connection.__enter__()
        return self

    def __exit__(self, *exc):
        return self._connection.__exit__(*exc)

    def __getattr__(self, name: str):
        return getattr(self._connection, name)


def connect(connection, monitor=None, threshold_ms: float | None = None,
            component: str = "database") -> ConnectionProxy:
    """Wrap an open DB-API ``connection`` so slow statements are recorded."""
    return ConnectionProxy(connection, SlowQueryRecorder(monitor, threshold_ms, component))
