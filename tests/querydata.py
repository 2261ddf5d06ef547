"""Known data for the query-layer and dashboard tests: every expected number is derived
by hand in tests/test_queries.py from the events below (relative to ``NOW``)."""

from __future__ import annotations

from datetime import datetime, timedelta

NOW = datetime(2026, 1, 10, 12, 0, 0)
HTML_MESSAGE = '<script>alert("x")</script><a href="javascript:alert(1)">click</a>'


def ago(now: datetime):
    """``at(**delta)``: ISO text of ``now - delta`` (UTC)."""
    return lambda **delta: (now - timedelta(**delta)).isoformat() + "Z"


def metric(name, value, ts, uri=None, component=None, metadata=None, unit="ms") -> tuple:
    event = {"metric_type": "performance", "metric_name": name, "metric_value": value,
             "metric_unit": unit, "timestamp": ts}
    if uri:
        event["request_uri"] = uri
    if component:
        event["component"] = component
    if metadata:
        event["metadata"] = metadata
    return ("metric", event)


def error(level, etype, message, ts, file=None, line=None, component=None) -> tuple:
    event = {"error_type": etype, "error_level": level, "error_message": message, "timestamp": ts,
             "stack_trace": "Traceback:\n  " + message}
    if file:
        event.update(error_file=file, error_line=line)
    if component:
        event["component"] = component
    return ("error", event)


def step(session, stage, name, ts, funnel=None, drop_off=False, duration_ms=None) -> tuple:
    event = {"session_id": session, "journey_stage": stage, "journey_step": name, "timestamp": ts,
             "drop_off": drop_off}
    if funnel:
        event["conversion_funnel"] = funnel
    if duration_ms is not None:
        event["duration_ms"] = duration_ms
    return ("journey", event)


def health(component, check, status, ms, ts, message=None) -> tuple:
    event = {"component": component, "health_check": check, "status": status,
             "response_time_ms": ms, "timestamp": ts}
    if message:
        event["error_message"] = message
    return ("health", event)


def events(now: datetime = NOW) -> list[tuple]:
    """Every event of the known data set, relative to ``now``."""
    at = ago(now)
    out = [
        metric("request_duration", 100, at(minutes=10), "/a"),
        metric("request_duration", 200, at(minutes=20), "/b"),
        metric("request_duration", 300, at(minutes=30), "/a"),
        metric("request_duration", 400, at(minutes=40), "/b"),
        metric("request_duration", 1000, at(hours=3), "/slow"),
        metric("request_duration", 600, at(hours=12), "/a"),
        metric("request_duration", 2000, at(days=3), "/slow"),
        metric("request_duration", 99999, at(days=8), "/old"),
        metric("peak_memory", 64, at(minutes=5), unit="MB"),
        metric("peak_memory", 128, at(hours=2), unit="MB"),
        metric("memory_growth", 2, at(minutes=5), unit="MB"),
        metric("memory_growth", 4, at(minutes=6), unit="MB"),
        metric("ajax_duration", 50, at(minutes=7)),
        metric("ajax_duration", 150, at(minutes=8)),
        metric("cache_hit", 3, at(minutes=9), unit="count"),
        metric("cache_miss", 1, at(minutes=9), unit="count"),
        metric("slow_query", 250, at(minutes=11), metadata={"statement": "SELECT * FROM t WHERE id = ?"}),
        metric("slow_query", 150, at(minutes=12), metadata={"statement": "SELECT * FROM t WHERE id = ?"}),
        metric("calculator.operation_duration", 10, at(minutes=13), component="calculator"),
        metric("calculator.operation_duration", 30, at(minutes=14), component="calculator"),
        metric("payment.process_duration", 500, at(minutes=15), component="payment"),
        error("critical", "exception", "Payment failed for order 123", at(minutes=2), "pay.py", 5, "payment"),
        error("critical", "exception", "Payment failed for order 456", at(minutes=3), "pay.py", 5, "payment"),
        error("error", "php_error", HTML_MESSAGE, at(minutes=4), "view.py", 9, "calculator"),
        error("warning", "php_error", "slow", at(minutes=50)),
        error("error", "ajax_error", "ajax broke", at(hours=2), component="calculator"),
        error("notice", "php_error", "note", at(hours=12)),
    ]
    s1 = ["initialization", "shopping", "calculation", "checkout", "payment_processing", "conversion"]
    for i, stage in enumerate(s1):
        out.append(step("s1", stage, stage + "_step", at(minutes=50 - 2 * i), "booking"))
    out += [
        step("s2", "initialization", "landing", at(minutes=30), "booking"),
        step("s2", "shopping", "browse", at(minutes=29, seconds=30), "booking"),
        step("s2", "calculation", "calc", at(minutes=29), "booking", drop_off=True),
        step("s3", "initialization", "landing", at(minutes=20), "booking"),
        step("s4", "quote_generation", "quote", at(minutes=15), "quote_to_order", duration_ms=5000),
        step("s4", "checkout", "pay_form", at(minutes=14), "quote_to_order"),
        step("s4", "conversion", "order", at(minutes=12)),
        step("s5", "initialization", "landing", at(hours=3), "booking"),
        health("database", "connection", "healthy", 5, at(minutes=10)),
        health("database", "connection", "critical", 100, at(minutes=5), "down"),
        health("memory", "usage", "warning", 1, at(minutes=1)),
        health("disk_space", "free", "healthy", 2, at(hours=2)),
    ]
    return out


def load(monitor, now: datetime = NOW) -> None:
    """Write the known data set (relative to ``now``) into ``monitor``'s database."""
    rows, rejected, _ = monitor.prepare(events(now))
    assert not rejected, rejected
    monitor.submit(rows).wait(10)
