"""Slow queries from SQLAlchemy: cursor-execute event listeners on an engine.

    from btrmon.instrument.sqlalchemy import instrument_engine
    instrument_engine(engine, monitor)

Only usable when SQLAlchemy is installed (btrmon does not depend on it); records
``slow_query`` exactly like ``btrmon.instrument.dbapi`` (same threshold, literals
stripped).
"""

from __future__ import annotations

import time

from btrmon.instrument.dbapi import SlowQueryRecorder

_STARTS = "btrmon_query_starts"


def instrument_engine(engine, monitor=None, threshold_ms: float | None = None,
                      component: str = "database") -> SlowQueryRecorder:
    """Listen to ``engine``'s statements; returns the recorder (its threshold can be changed)."""
    from sqlalchemy import event  # imported here: SQLAlchemy is optional

    recorder = SlowQueryRecorder(monitor, threshold_ms, component)

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault(_STARTS, []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        starts = conn.info.get(_STARTS)
        if starts:
            recorder.observe(statement, starts.pop())

    def failed(exception_context):
        starts = exception_context.connection.info.get(_STARTS) if exception_context.connection else None
        if starts:
            recorder.observe(exception_context.statement or "", starts.pop())

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine, "handle_error", failed)
    return recorder
