"""The public Python API: each call lands in the right table with the right fields."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from btrmon import Monitor


def fetch(m: Monitor, sql: str, params=None) -> list[tuple]:
    assert m.flush(10), "flush timed out"
    return m.db.query(sql, params)


@pytest.fixture
def lenient(tmp_path):
    """A production-mode (not strict) embedded monitor."""
    m = Monitor(db=tmp_path / "prod.duckdb", strict=False)
    yield m
    m.close()


def test_import_from_package():
    import btrmon

    assert btrmon.Monitor is Monitor


def test_record_metric_fields_and_context(monitor):
    with monitor.context(session_id="sess-1", user_id="u7", request_uri="/book?token=abc&x=1",
                         user_agent="UA/1"):
        assert monitor.record_metric("performance", "render", 12.5, "ms", "core", {"page": "home"})
    monitor.record_metric("business", "orders", 3)
    got = fetch(monitor, """SELECT session_id, user_id, metric_type, metric_name, metric_value, metric_unit,
                            component, request_uri, user_agent, metadata FROM metrics ORDER BY metric_name""")
    assert got[1][0] and got[1][0] != "sess-1"  # hashed, never the raw session id
    assert got[1][1:7] == ("u7", "performance", "render", 12.5, "ms", "core")
    assert "abc" not in got[1][7] and got[1][8] == "UA/1" and json.loads(got[1][9]) == {"page": "home"}
    assert got[0][:7] == (None, None, "business", "orders", 3.0, None, None)  # outside the context


def test_track_error_and_capture_exception(monitor):
    monitor.track_error("php_error", "warning", "Undefined index x", "calc.py", 12, "trace...", "calculator")
    try:
        1 / 0
    except ZeroDivisionError:
        assert monitor.capture_exception(component="checkout")
    assert monitor.capture_exception() is False  # nothing being handled
    got = fetch(monitor, """SELECT error_type, error_level, error_message, error_file, error_line, stack_trace,
                            component, resolved, fingerprint FROM errors ORDER BY error_type DESC""")
    assert got[0][:8] == ("php_error", "warning", "Undefined index x", "calc.py", 12, "trace...", "calculator", False)
    etype, level, message, file, line, stack, component, _, fingerprint = got[1]
    assert (etype, level, component) == ("exception", "error", "checkout")
    assert message.startswith("ZeroDivisionError: division by zero")
    assert Path(file).name == "test_api.py" and line > 0
    assert "Traceback" in stack and "1 / 0" in stack and fingerprint


def test_journey_and_health(monitor):
    with monitor.context(session_id="s2", request_uri="/checkout/", user_agent="UA"):
        monitor.track_journey_step("checkout_started", "checkout", {"cart": 2}, "booking")
        monitor.record_health("database", "healthy", response_time_ms=3.5, metadata={"q": 1})
    journey = fetch(monitor, "SELECT journey_step, journey_stage, step_data, conversion_funnel, drop_off, "
                             "request_uri, session_id FROM journey")
    assert journey[0][:6] == ("checkout_started", "checkout", '{"cart":2}', "booking", False, "/checkout/")
    assert journey[0][6]
    health = fetch(monitor, "SELECT component, health_check, status, response_time_ms, metadata FROM health")
    assert health == [("database", "database", "healthy", 3.5, '{"q":1}')]


def test_timer_context_manager_decorator_and_alias(monitor):
    with monitor.timer("block", component="calculator") as t:
        sum(range(1000))
    assert t.ms is not None and t.ms >= 0

    @monitor.timed("decorated")
    def work(x):
        return x * 2

    assert work(21) == 42 and work.__name__ == "work"
    got = fetch(monitor, "SELECT metric_name, metric_type, metric_unit, component, metric_value >= 0 "
                         "FROM metrics ORDER BY metric_name")
    assert got == [("block", "performance", "ms", "calculator", True), ("decorated", "performance", "ms", None, True)]


def test_start_end_timer_across_threads(monitor):
    monitor.start_timer("handoff")
    results = []
    ender = threading.Thread(target=lambda: results.append(monitor.end_timer("handoff")))
    ender.start()
    ender.join()
    assert results[0] is not None and results[0] >= 0

    barrier = threading.Barrier(8)

    def worker():
        monitor.start_timer("parallel")
        barrier.wait()
        results.append(monitor.end_timer("parallel", component="w"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r is not None and r >= 0 for r in results) and len(results) == 9
    got = fetch(monitor, "SELECT metric_name, count(*) FROM metrics GROUP BY 1 ORDER BY 1")
    assert got == [("handoff", 1), ("parallel", 8)]


def test_end_timer_not_started(monitor, lenient):
    with pytest.raises(ValueError, match="name"):
        monitor.end_timer("never")
    assert lenient.end_timer("never") is None
    assert lenient.counters.get("timer_not_started") == 1


@pytest.mark.parametrize("call, field", [
    (lambda m: m.record_metric("performance", "x", "fast"), "metric_value"),
    (lambda m: m.record_metric("performance", None, 1), "metric_name"),
    (lambda m: m.record_metric("performance", "x", float("nan")), "metric_value"),
    (lambda m: m.track_error("exception", "fatal", "boom"), "error_level"),
    (lambda m: m.track_error("exception", "error", "boom", line="ten"), "error_line"),
    (lambda m: m.track_journey_step("s", "checkout", data=["not", "a", "dict"]), "step_data"),
    (lambda m: m.record_health("database", "sick"), "status"),
])
def test_strict_mode_names_the_field(monitor, call, field):
    with pytest.raises(ValueError, match=field):
        call(monitor)
    assert fetch(monitor, "SELECT count(*) FROM metrics")[0][0] == 0


def test_production_mode_counts_and_logs_bad_input(lenient, caplog):
    with caplog.at_level(logging.WARNING, logger="btrmon"):
        assert lenient.record_metric("performance", "x", "fast") is True  # queued; rejected later
        lenient.track_error("exception", "fatal", "boom")
        lenient.record_metric("performance", "ok", 1.0)
        assert fetch(lenient, "SELECT metric_name FROM metrics") == [("ok",)]
    assert lenient.counters.get("rejected") == 2
    assert "metric_value" in caplog.text and "error_level" in caplog.text


def test_context_set_and_clear(monitor):
    monitor.set_context(session_id="abc", user_id="u1")
    monitor.record_metric("performance", "a", 1)
    monitor.clear_context()
    monitor.record_metric("performance", "b", 1)
    with pytest.raises(ValueError, match="colour"):
        monitor.set_context(colour="red")
    got = fetch(monitor, "SELECT metric_name, user_id, session_id IS NOT NULL FROM metrics ORDER BY 1")
    assert got == [("a", "u1", True), ("b", None, False)]


def test_production_mode_ignores_bad_context_fields(lenient):
    with lenient.context(colour="red", user_id="u9", session_id=["not", "text"]):  # never raises
        lenient.record_metric("performance", "a", 1)
    assert fetch(lenient, "SELECT user_id, session_id FROM metrics") == [("u9", None)]
    assert lenient.counters.get("rejected") == 2


def test_disabled_monitor_records_nothing(lenient):
    lenient.config.set("btr_monitor_enabled", False)
    lenient.record_metric("performance", "x", 1)
    assert fetch(lenient, "SELECT count(*) FROM metrics")[0][0] == 0
    assert lenient.counters.get("dropped:disabled") == 1


def test_never_raises_when_database_unwritable(lenient):
    lenient.writer._con.close()  # every commit now fails, like a broken disk
    for i in range(50):
        assert lenient.record_metric("performance", "x", i) in (True, False)
        lenient.track_error("exception", "critical", "boom")
        lenient.track_journey_step("s", "checkout")
    lenient.flush(5)  # may report False; must not raise
    assert lenient.writer.stats.failures >= 1


def test_full_queue_drops_with_counted_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("BTRMON_QUEUE_MAX_EVENTS", "100")
    m = Monitor(db=tmp_path / "small.duckdb", strict=False)
    try:
        for i in range(2000):
            m.record_metric("performance", "burst", i)
        stored = fetch(m, "SELECT count(*) FROM metrics")[0][0]
        dropped = m.counters.get("dropped:queue_full")
        assert dropped > 0 and stored + dropped == 2000
    finally:
        m.close()


def test_flushed_at_interpreter_exit(tmp_path):
    db = tmp_path / "exit.duckdb"
    code = (f"from btrmon import Monitor\nm = Monitor(db={str(db)!r})\n"
            "for i in range(100): m.record_metric('performance', 'at_exit', i)\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=Path(__file__).parent.parent)
    m = Monitor(db=db)
    try:
        assert m.db.query("SELECT count(*) FROM metrics WHERE metric_name = 'at_exit'")[0][0] == 100
    finally:
        m.close()


def test_an_event_that_breaks_validation_loses_only_itself(lenient):
    class Exploding(dict):
        def items(self):
            raise RuntimeError("changed during iteration")

    lenient.record_metric("performance", "good_before", 1)
    lenient.record_metric("performance", "bad", 1, metadata=Exploding(a=1))
    lenient.record_metric("performance", "good_after", 1)
    assert fetch(lenient, "SELECT metric_name FROM metrics ORDER BY metric_name") == [("good_after",), ("good_before",)]
    assert lenient.counters.get("dropped:internal_error") == 1


def test_get_instance_is_process_wide_and_configured_from_env(tmp_path, monkeypatch):
    monkeypatch.setattr(Monitor, "_instance", None)
    monkeypatch.delenv("BTRMON_URL", raising=False)
    monkeypatch.setenv("BTRMON_DB", str(tmp_path / "env.duckdb"))
    embedded = Monitor.get_instance()
    try:
        assert Monitor.get_instance() is embedded and embedded.embedded
        assert Path(embedded.db.path) == tmp_path / "env.duckdb"
    finally:
        embedded.close()
    assert Monitor._instance is None  # closing forgets it: the next call builds a new one
    monkeypatch.setenv("BTRMON_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("BTRMON_API_KEY", "k-env")
    remote = Monitor.get_instance()
    try:
        assert not remote.embedded and remote.url == "http://127.0.0.1:9" and remote.api_key == "k-env"
    finally:
        remote.close()
