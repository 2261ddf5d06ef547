"""Demo data: every kind through the writer, realistic funnels, determinism, bulk generation."""

from __future__ import annotations

import io
import time

import pytest

from btrmon import demo_catalog as cat
from btrmon.bulk import bulk_generate
from btrmon.cli import CommandContext, run_argv
from btrmon.demo import generate_events, is_empty, write_demo
from btrmon.models import ERROR_LEVELS, ERROR_TYPES, FUNNELS, JOURNEY_STAGES
from btrmon.monitor import Monitor
from btrmon.store import Database


def _column(monitor, sql: str) -> set:
    return {row[0] for row in monitor.db.query(sql)}


@pytest.fixture
def demo_monitor(monitor):
    """The ``monitor`` fixture holding two days of demo traffic."""
    assert is_empty(monitor)
    stored = write_demo(monitor, days=2, sessions=400, seed=5)
    assert set(stored) == {"metrics", "errors", "journey", "health"}
    assert not is_empty(monitor)
    return monitor


def test_demo_writes_every_kind_level_type_and_component(demo_monitor):
    m = demo_monitor
    assert _column(m, "SELECT DISTINCT error_level FROM errors") == set(ERROR_LEVELS)
    assert _column(m, "SELECT DISTINCT error_type FROM errors") == set(ERROR_TYPES)
    assert {"calculator", "payment", "gateway", "checkout", "preventivi"} <= _column(m, "SELECT DISTINCT component FROM errors")
    assert _column(m, "SELECT DISTINCT component FROM health") == set(cat.HEALTH_COMPONENTS)
    assert {"healthy", "warning", "critical"} == _column(m, "SELECT DISTINCT status FROM health")
    names = _column(m, "SELECT DISTINCT metric_name FROM metrics")
    assert set(cat.CORE_METRICS) | set(cat.COMPONENT_METRICS) == names
    types = dict(m.db.query("SELECT metric_name, any_value(metric_type) FROM metrics GROUP BY 1"))
    assert types["request_duration"] == "performance" and types["gateway.call_duration"] == "component"
    assert m.db.query("SELECT min(metric_value) FROM metrics WHERE metric_name = 'slow_query'")[0][0] > 100
    assert _column(m, "SELECT DISTINCT journey_stage FROM journey") == set(JOURNEY_STAGES)
    # session ids are stored hashed by the normaliser, and journeys join metrics on them
    sid = m.db.query("SELECT session_id FROM journey LIMIT 1")[0][0]
    assert len(sid) == 32 and m.db.query("SELECT count(*) FROM metrics WHERE session_id = ?", [sid])[0][0] > 0


def test_demo_funnels_drop_off(demo_monitor):
    m = demo_monitor
    for funnel in FUNNELS:
        stages, _ = cat.FUNNEL_PATHS[funnel]
        reached = dict(m.db.query(
            "SELECT journey_stage, count(DISTINCT session_id) FROM journey WHERE conversion_funnel = ? GROUP BY 1",
            [funnel]))
        counts = [reached.get(stage, 0) for stage in stages]
        assert counts[0] > counts[-1] > 0, (funnel, counts)
        assert counts == sorted(counts, reverse=True), (funnel, counts)
        drops = m.db.query("SELECT count(*) FROM journey WHERE conversion_funnel = ? AND drop_off", [funnel])[0][0]
        assert drops == counts[0] - counts[-1]
    # nobody drops off at the last stage of a funnel
    assert m.db.query("SELECT count(*) FROM journey WHERE drop_off AND journey_stage = 'fulfillment'")[0][0] == 0


def test_demo_has_payment_failure_burst_and_slow_incidents(demo_monitor):
    m = demo_monitor
    burst = m.db.query("""
        SELECT max(n) FROM (
            SELECT count(*) OVER (ORDER BY "timestamp" RANGE BETWEEN CURRENT ROW AND INTERVAL 1 HOUR FOLLOWING) AS n
            FROM errors WHERE component IN ('payment', 'gateway'))""")[0][0]
    assert burst >= 5
    p50, worst = m.db.query(
        "SELECT median(metric_value), max(metric_value) FROM metrics WHERE metric_name = 'request_duration'")[0]
    assert worst > 4 * p50
    assert m.db.query("SELECT max(metric_value) FROM metrics WHERE metric_name = 'peak_memory'")[0][0] > 256


def test_demo_follows_a_daily_cycle(demo_monitor):
    # more visitors and slower requests in the afternoon (13-17 UTC) than at night (01-05 UTC)
    day, night = demo_monitor.db.query("""SELECT
        count(*) FILTER (WHERE hour("timestamp") BETWEEN 13 AND 17),
        count(*) FILTER (WHERE hour("timestamp") BETWEEN 1 AND 5)
        FROM journey WHERE journey_stage = 'initialization'""")[0]
    assert day > 2 * night > 0, (day, night)
    day_ms, night_ms = demo_monitor.db.query("""SELECT
        median(metric_value) FILTER (WHERE hour("timestamp") BETWEEN 13 AND 17),
        median(metric_value) FILTER (WHERE hour("timestamp") BETWEEN 1 AND 5)
        FROM metrics WHERE metric_name = 'request_duration'""")[0]
    assert day_ms > 1.5 * night_ms, (day_ms, night_ms)


def test_demo_is_deterministic_with_seed(tmp_path):
    now = time.time()
    first = generate_events(days=1, sessions=80, seed=11, now=now)
    assert first == generate_events(days=1, sessions=80, seed=11, now=now)
    assert first != generate_events(days=1, sessions=80, seed=12, now=now)
    assert [e["timestamp"] for _, e in first] == sorted(e["timestamp"] for _, e in first)

    # everything but the per-install ids (event ids, hashed session ids) is the same
    sql = ('SELECT metric_name, metric_value, component, request_uri, user_agent, "timestamp" FROM metrics '
           'ORDER BY "timestamp", metric_name, metric_value')
    results = []
    for name in ("a", "b"):
        m = Monitor(db=tmp_path / f"{name}.duckdb")
        try:
            write_demo(m, days=1, sessions=80, seed=11, now=now)
            results.append((m.db.query(sql), m.db.query(
                'SELECT journey_stage, drop_off, "timestamp" FROM journey ORDER BY "timestamp", journey_stage')))
        finally:
            m.close()
    assert results[0] == results[1]


def test_demo_command_shows_progress(tmp_path):
    out = io.StringIO()
    ctx = CommandContext(db_path=str(tmp_path / "cli.duckdb"), out=out)
    try:
        code = run_argv(["demo", "--db", str(tmp_path / "cli.duckdb"), "--days", "1", "--sessions", "30",
                         "--seed", "3"], ctx)
        assert code == 0
        assert not is_empty(ctx.monitor)
    finally:
        ctx.close()
    text = out.getvalue()
    assert "demo events" in text and "(100%)" in text and "demo data stored" in text


def test_bulk_generate_row_counts(tmp_path):
    path = tmp_path / "bulk.duckdb"
    counts = bulk_generate(path, 20_000, days=2, sessions=600, seed=3)
    db = Database(path)
    try:
        for table, n in counts.items():
            assert db.query(f"SELECT count(*) FROM {table}")[0][0] == n
        assert counts["metrics"] == 20_000
        assert counts["errors"] >= 200 and counts["journey"] > 600 and counts["health"] >= 2 * 288 * 7
        span = db.query("SELECT max(\"timestamp\") - min(\"timestamp\") FROM metrics")[0][0]
        assert 1.9 * 86400 < span.total_seconds() <= 2 * 86400
        out_of_order = db.query("""SELECT count(*) FROM (SELECT "timestamp" < lag("timestamp") OVER (ORDER BY id) AS back
                                   FROM metrics) WHERE back""")[0][0]
        assert out_of_order == 0
        assert db.query("SELECT count(DISTINCT event_id) FROM metrics")[0][0] == 20_000
        assert {r[0] for r in db.query("SELECT DISTINCT error_level FROM errors")} == set(ERROR_LEVELS)
        assert {r[0] for r in db.query("SELECT DISTINCT conversion_funnel FROM journey")} == set(FUNNELS)
        assert db.query("SELECT count(*) FROM journey WHERE drop_off")[0][0] > 0
        assert db.query("SELECT count(DISTINCT session_id) FROM metrics")[0][0] == 600
    finally:
        db.close()
    # a second call appends (the benchmark grows a file step by step)
    assert bulk_generate(path, 1000, days=1, sessions=10, seed=4)["metrics"] == 1000
