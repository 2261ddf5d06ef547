"""Query layer against a DuckDB file with known data (tests/querydata.py): exact numbers
for every panel and timeframe, derived by hand from the events."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from btrmon import queries as Q
from tests import querydata as data
from tests.conftest import wait_for
from tests.querydata import NOW


@pytest.fixture
def db(monitor):
    data.load(monitor)
    return monitor.db


def tf(label: str) -> Q.Window:
    return Q.resolve(label, now=NOW)


# requests: 1h 100,200,300,400; +1000 (3h); +600 (12h); +2000 (3d); 99999 is 8 days old.
PERFORMANCE = {
    "1h": {"requests": 4, "avg_ms": 250.0, "p95_ms": 385.0, "max_ms": 400.0, "peak_memory_mb": 64.0},
    "6h": {"requests": 5, "avg_ms": 400.0, "p95_ms": 880.0, "max_ms": 1000.0, "peak_memory_mb": 128.0},
    "24h": {"requests": 6, "avg_ms": 433.333, "p95_ms": 900.0, "max_ms": 1000.0, "peak_memory_mb": 128.0},
    "7d": {"requests": 7, "avg_ms": 657.143, "p95_ms": 1700.0, "max_ms": 2000.0, "peak_memory_mb": 128.0},
}
ERRORS = {  # failures = critical + error; rate = failures / requests
    "1h": {"errors": 4, "failures": 3, "requests": 4, "error_rate_pct": 75.0, "critical": 2, "groups": 3},
    "6h": {"errors": 5, "failures": 4, "requests": 5, "error_rate_pct": 80.0, "critical": 2, "groups": 4},
    "24h": {"errors": 6, "failures": 4, "requests": 6, "error_rate_pct": 66.667, "critical": 2, "groups": 5},
    "7d": {"errors": 6, "failures": 4, "requests": 7, "error_rate_pct": 57.143, "critical": 2, "groups": 5},
}
JOURNEY = {  # s1 (converts, 600 s), s2 (60 s, flagged), s3 (0 s), s4 (converts, 180 s); s5 3 h ago (0 s)
    "1h": {"sessions": 4, "converted": 2, "conversion_rate_pct": 50.0, "dropped": 1, "steps": 13,
           "avg_duration_s": 210.0, "median_duration_s": 120.0},
    "6h": {"sessions": 5, "converted": 2, "conversion_rate_pct": 40.0, "dropped": 1, "steps": 14,
           "avg_duration_s": 168.0, "median_duration_s": 60.0},
}


@pytest.mark.parametrize("label", ["1h", "6h", "24h", "7d"])
def test_performance_summary_per_timeframe(db, label):
    summary = Q.performance_summary(db, tf(label))
    assert {k: summary[k] for k in PERFORMANCE[label]} == PERFORMANCE[label]
    assert summary["memory_growth_mb"] == 3.0
    assert summary["ajax_avg_ms"] == 100.0 and summary["ajax_requests"] == 2
    assert summary["cache_hit_rate"] == 75.0  # 3 hits / (3 + 1)
    assert summary["slow_queries"] == 2


@pytest.mark.parametrize("label", ["1h", "6h", "24h", "7d"])
def test_error_summary_per_timeframe(db, label):
    summary = Q.error_summary(db, tf(label))
    assert {k: summary[k] for k in ERRORS[label]} == ERRORS[label]


@pytest.mark.parametrize("label", ["1h", "6h"])
def test_journey_summary_per_timeframe(db, label):
    assert Q.journey_summary(db, tf(label)) == JOURNEY[label]


def test_explicit_range_equals_label(db):
    start, end = Q.window("6h", now=NOW)
    assert Q.performance_summary(db, (start, end)) == Q.performance_summary(db, tf("6h"))
    assert Q.performance_summary(db, (start.isoformat() + "Z", end.isoformat()))["requests"] == 5


def test_response_time_series_buckets_per_minute(db):
    series = Q.response_time_series(db, tf("1h"))
    assert list(series["avg_ms"]) == [400.0, 300.0, 200.0, 100.0]
    assert list(series["bucket"].dt.strftime("%H:%M")) == ["11:20", "11:30", "11:40", "11:50"]
    seven = Q.response_time_series(db, tf("7d"))
    assert int(seven["count"].sum()) == 7 and (seven["bucket"].dt.minute == 0).all()


def test_component_durations_and_endpoints(db):
    comp = Q.component_durations(db, tf("1h"))
    assert comp.to_dict("records") == [
        {"component": "calculator", "metric_name": "calculator.operation_duration", "count": 2,
         "avg_ms": 20.0, "p95_ms": 29.0, "max_ms": 30.0},
        {"component": "payment", "metric_name": "payment.process_duration", "count": 1,
         "avg_ms": 500.0, "p95_ms": 500.0, "max_ms": 500.0},
    ]
    endpoints = Q.slowest_endpoints(db, tf("1h"), limit=5)
    assert list(endpoints["request_uri"]) == ["/b", "/a"]
    assert list(endpoints["p95_ms"]) == [390.0, 290.0]
    assert list(Q.slowest_endpoints(db, tf("7d"), limit=1)["request_uri"]) == ["/slow"]
    assert list(Q.slowest_endpoints(db, tf("1h"), sort="-avg_ms")["request_uri"]) == ["/a", "/b"]


def test_slow_queries_memory_and_ajax(db):
    slow = Q.slow_queries(db, tf("1h"))
    assert slow[["statement", "count", "avg_ms", "max_ms"]].to_dict("records") == [
        {"statement": "SELECT * FROM t WHERE id = ?", "count": 2, "avg_ms": 200.0, "max_ms": 250.0}]
    memory = Q.memory_series(db, tf("6h"))
    assert memory["peak_memory_mb"].max() == 128.0
    assert list(Q.ajax_series(db, tf("1h"))["avg_ms"]) == [150.0, 50.0]


def test_error_groups_recent_and_detail(db):
    groups = Q.error_groups(db, tf("1h"))
    top = groups.iloc[0]
    assert (top["count"], top["error_level"], top["error_message"]) == (2, "critical", "Payment failed for order 123")
    assert top["last_seen"] - top["first_seen"] == timedelta(minutes=1)
    assert len(Q.error_groups(db, tf("1h"), {"level": "critical"})) == 1
    recent = Q.recent_errors(db, tf("1h"), {"component": ["calculator", "payment"]}, limit=10)
    assert list(recent["error_level"]) == ["critical", "critical", "error"]
    detail = Q.error_detail(db, recent.iloc[2]["event_id"])
    assert detail["error_message"] == data.HTML_MESSAGE and detail["stack_trace"].startswith("Traceback")
    assert Q.error_detail(db, "not-a-uuid") is None


def test_error_trends_by_level_and_type(db):
    by_level = Q.error_trends(db, tf("24h"), by="level")
    assert by_level.groupby("key")["count"].sum().to_dict() == {"critical": 2, "error": 2, "notice": 1, "warning": 1}
    by_type = Q.error_trends(db, tf("1h"), by="type")
    assert by_type.groupby("key")["count"].sum().to_dict() == {"exception": 2, "php_error": 2}


def test_funnels_rates_and_drop_off(db):
    booking = Q.funnel(db, tf("1h"), "booking")
    assert list(booking["sessions"]) == [3, 2, 2, 1, 1, 1]
    assert list(booking["rate_pct"]) == [100.0, 66.667, 66.667, 33.333, 33.333, 33.333]
    assert list(booking["step_rate_pct"]) == [100.0, 66.667, 100.0, 50.0, 100.0, 100.0]
    quote = Q.funnel(db, tf("1h"), "quote_to_order")
    assert list(quote["stage"]) == list(Q.FUNNEL_STAGES["quote_to_order"])
    assert list(quote["sessions"]) == [1, 1, 0, 1]
    rates = Q.conversion_rates(db, tf("1h")).set_index("funnel")
    assert rates.loc["booking", "rate_pct"] == 33.333 and rates.loc["quote_to_order", "rate_pct"] == 100.0
    assert rates.loc["payment_completion", "sessions"] == 0
    drops = Q.drop_off_points(db, tf("1h"))
    assert drops[["stage", "step", "sessions", "flagged", "pct_of_sessions"]].to_dict("records") == [
        {"stage": "calculation", "step": "calc", "sessions": 1, "flagged": 1, "pct_of_sessions": 25.0},
        {"stage": "initialization", "step": "landing", "sessions": 1, "flagged": 0, "pct_of_sessions": 25.0},
    ]


def test_journey_durations_and_stage_times(db):
    durations = Q.journey_durations(db, tf("1h"))
    assert list(durations["sessions"]) == [1, 2, 1, 0, 0, 0]
    stages = Q.stage_times(db, tf("1h")).set_index("stage")
    assert stages.loc["initialization", "avg_ms"] == 75000.0  # 120 s (s1) and 30 s (s2)
    assert stages.loc["quote_generation", "avg_ms"] == 5000.0  # reported duration wins
    assert stages.loc["conversion", "steps"] == 0


def test_health_latest_status_and_series(db):
    status = Q.component_status(db).set_index("component")["status"].to_dict()
    assert status == {"database": "critical", "disk_space": "healthy", "memory": "warning"}
    assert Q.health_summary(db) == {"overall": "critical", "components": 3, "healthy": 1, "warning": 1, "critical": 1}
    series = Q.health_series(db, tf("1h"))
    assert list(series["avg_response_ms"]) == [5.0, 100.0, 1.0]
    assert len(Q.health_history(db, tf("6h"))) == 4
    assert len(Q.health_history(db, tf("6h"), {"component": "database"})) == 2


def test_activity_stream_filters(db):
    stream = Q.activity(db, limit=5)
    assert list(stream["kind"]) == ["health", "error", "error", "error", "health"]
    critical = Q.activity(db, {"kind": ["error"], "level": "critical"})
    assert list(critical["summary"]) == ["exception: Payment failed for order 123", "exception: Payment failed for order 456"]
    payment = Q.activity(db, {"component": "payment"})
    assert set(payment["kind"]) == {"error", "metric"} and len(payment) == 3


def test_dashboard_metrics_is_json(db):
    metrics = Q.dashboard_metrics(db, tf("1h"))
    text = json.dumps(metrics)
    assert metrics["performance"]["p95_ms"] == 385.0
    assert metrics["errors"]["error_rate_pct"] == 75.0
    assert metrics["journey"]["funnels"][0] == {"funnel": "booking", "sessions": 3, "converted": 1, "rate_pct": 33.333}
    assert metrics["health"]["overall"] == "critical" and "NaN" not in text


@pytest.mark.parametrize("call, field", [
    (lambda db: Q.performance_summary(db, "2h"), "timeframe"),
    (lambda db: Q.error_groups(db, "1h", {"message; DROP TABLE errors": "x"}), "filter"),
    (lambda db: Q.slowest_endpoints(db, "1h", sort="metric_value; DROP TABLE metrics"), "sort"),
    (lambda db: Q.recent_errors(db, "1h", limit=0), "limit"),
    (lambda db: Q.activity(db, {"kind": "nope"}), "kind"),
    (lambda db: Q.error_trends(db, "1h", by="message"), "by"),
])
def test_bad_arguments_name_the_field(db, call, field):
    with pytest.raises(ValueError, match=field):
        call(db)


def test_filter_values_are_bound_not_pasted(db):
    evil = "x' OR '1'='1"
    assert Q.recent_errors(db, tf("7d"), {"component": evil}).empty


def _commit_one(monitor) -> None:
    rows, _, _ = monitor.prepare([data.metric("request_duration", 5, data.ago(NOW)(minutes=1))])
    monitor.submit(rows).wait(10)


def test_realtime_entries_end_at_the_next_commit(monitor, db):
    monitor.config.set("btr_monitor_cache_ttl", 300)
    cache = Q.cache_of(monitor)
    first = Q.cached(monitor, Q.dashboard_metrics, "1h")
    again = Q.cached(monitor, Q.dashboard_metrics, "1h")
    assert again is first and cache.hits == 1 and monitor.counters.get("dashboard_cache_hit") == 1
    _commit_one(monitor)
    fresh = Q.cached(monitor, Q.dashboard_metrics, "1h")
    assert fresh is not first and cache.hit_rate == pytest.approx(100 / 3)
    assert set(cache.timings()) == {"dashboard_metrics"} and cache.timings() == {}


def test_transient_entries_last_the_ttl(monitor, db):
    monitor.config.set("btr_monitor_cache_ttl", 300)
    week = Q.cached(monitor, Q.dashboard_metrics, "7d")
    _commit_one(monitor)
    assert Q.cached(monitor, Q.dashboard_metrics, "7d") is week  # 24h/7d: transient, ttl only
    assert Q.cached(monitor, Q.component_status) is Q.cached(monitor, Q.component_status)
    monitor.config.set("btr_monitor_cache_ttl", 0)
    assert Q.cache_of(monitor).purge_expired() == 2
    assert Q.cached(monitor, Q.dashboard_metrics, "7d") is not Q.cached(monitor, Q.dashboard_metrics, "7d")


def test_concurrent_lookups_compute_once(monitor):
    import threading

    monitor.config.set("btr_monitor_cache_ttl", 300)
    calls, started, release = [], threading.Event(), threading.Event()

    def slow(_monitor, tf):
        calls.append(tf)
        started.set()
        release.wait(10)
        return {"tf": tf}

    results = []
    first = threading.Thread(target=lambda: results.append(Q.cached(monitor, slow, "7d")))
    first.start()
    started.wait(10)
    second = threading.Thread(target=lambda: results.append(Q.cached(monitor, slow, "7d")))
    second.start()
    event = next(iter(Q.cache_of(monitor)._inflight.values()))
    wait_for(lambda: event._cond._waiters)  # the second lookup waits for the first (CPython detail)
    release.set()
    first.join(10), second.join(10)
    assert calls == ["7d"] and results[0] is results[1]


def test_monitor_get_dashboard_metrics(monitor, db):
    metrics = monitor.get_dashboard_metrics("7d")
    assert set(metrics) >= {"performance", "errors", "journey", "health"}
    with pytest.raises(ValueError, match="timeframe"):
        monitor.get_dashboard_metrics("3w")


def test_custom_funnel_uses_the_stages_seen_in_seed_order(monitor):
    from tests.querydata import ago, step

    at = ago(NOW)
    rows, _, _ = monitor.prepare([
        step("a", "conversion", "order", at(minutes=1), "gift_cards"),
        step("a", "shopping", "browse", at(minutes=3), "gift_cards"),
        step("b", "shopping", "browse", at(minutes=2), "gift_cards"),
    ])
    monitor.submit(rows).wait(10)
    gift = Q.funnel(monitor.db, tf("1h"), "gift_cards")
    assert gift[["stage", "sessions", "rate_pct"]].to_dict("records") == [
        {"stage": "shopping", "sessions": 2, "rate_pct": 100.0},
        {"stage": "conversion", "sessions": 1, "rate_pct": 50.0},
    ]
    assert list(Q.conversion_rates(monitor.db, tf("1h"))["funnel"]) == [
        "booking", "quote_to_order", "payment_completion", "gift_cards"]
    assert Q.funnel(monitor.db, tf("1h"), "nobody")["sessions"].sum() == 0


def test_warming_refreshes_viewed_long_windows(monitor, db):
    monitor.config.set("btr_monitor_cache_ttl", 300)
    cache = Q.cache_of(monitor)
    week = Q.cached(monitor, Q.dashboard_metrics, "7d")
    hour = Q.cached(monitor, Q.dashboard_metrics, "1h")
    assert cache.refresh_viewed() == 0  # still young
    for entry in cache._entries.values():
        entry[1] -= 200  # as if computed 200 s ago (past half the ttl)
    assert cache.refresh_viewed() == 1  # only the transient 7d entry; 1h is real-time
    warmed = Q.cached(monitor, Q.dashboard_metrics, "7d")
    assert warmed is not week and warmed["end"] > week["end"]
    assert Q.cached(monitor, Q.dashboard_metrics, "1h") is hour
    from btrmon.queries.cache import jobs

    assert [job.id for job in jobs(monitor)] == ["dashboard.cache_warm"]


def test_panels_of_one_refresh_share_one_base_query(monitor, db, monkeypatch):
    from btrmon.queries import performance

    calls = []
    real = performance.metric_stats
    monkeypatch.setattr(performance, "metric_stats", lambda d, t: calls.append(t) or real(d, t))
    Q.cached(monitor, Q.performance_summary, "1h")
    Q.cached(monitor, Q.component_durations, "1h")
    assert len(calls) == 1  # both panels sliced one grouped pass
    _commit_one(monitor)
    Q.cached(monitor, Q.performance_summary, "1h")
    assert len(calls) == 2  # a commit ends the shared real-time entry
    Q.performance_summary(db, tf("1h"))
    assert len(calls) == 3  # a plain Database (exports) just runs the query
