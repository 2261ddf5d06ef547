"""Self-monitoring: per-minute figures stored under component btrmon; Prometheus text format."""

from __future__ import annotations

import re

from btrmon.selfmetrics import collect, prometheus_text, record_self_metrics

_SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? -?[0-9.e+-]+$')


def _values(events) -> dict[str, float]:
    return {event["metric_name"]: event["metric_value"] for _, event in events}


def test_figures_are_per_minute_deltas(monitor):
    monitor.counters.add("accepted", 5)
    monitor.counters.add("rejected", 2)
    monitor.counters.add("dropped:sampled_out", 3)
    first = _values(collect(monitor))
    assert first["events_accepted_per_minute"] == 5 and first["events_rejected_per_minute"] == 2
    assert first["events_dropped_per_minute"] == 3 and first["queue_depth"] == 0
    monitor.counters.add("accepted", 1)
    second = _values(collect(monitor))
    assert second["events_accepted_per_minute"] == 1 and second["events_rejected_per_minute"] == 0


def test_python_api_events_count_as_accepted(monitor):
    for i in range(3):
        monitor.record_metric("performance", "x", i)
    assert monitor.flush(10)
    assert _values(collect(monitor))["events_accepted_per_minute"] == 3


def test_recorded_rows_and_commit_latency(monitor):
    rows, _, _ = monitor.prepare([("metric", {"metric_type": "performance", "metric_name": "x", "metric_value": 1})])
    monitor.submit(rows).wait(10)
    assert record_self_metrics(monitor) >= 5
    monitor.flush()
    stored = dict(monitor.db.query("SELECT metric_name, metric_value FROM metrics WHERE component = 'btrmon'"))
    assert stored["commits_per_minute"] >= 1 and stored["commit_latency_ms"] >= 0


def test_prometheus_text_is_well_formed(monitor):
    monitor.counters.add("accepted", 1234567)
    monitor.counters.add('dropped:we"ird', 1)
    text = prometheus_text(monitor)
    assert "btrmon_events_accepted_total 1234567\n" in text
    assert 'btrmon_events_dropped_total{reason="we\\"ird"} 1' in text
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or _SAMPLE.match(line), line
