"""Each built-in rule fires on data just above its threshold and stays quiet just below."""

from __future__ import annotations

import pytest

from tests.alert_support import NOW, add, errors, health, memory, requests, sessions
from btrmon.alerts.engine import AlertEngine
from btrmon.alerts.notify import RetryPolicy
from btrmon.alerts.rules import builtin_rules, save_rule
from btrmon.queries import alerts as q


@pytest.fixture
def engine(monitor):
    """An engine on the test monitor with a fixed clock."""
    eng = AlertEngine(monitor, clock=lambda: NOW, policy=RetryPolicy(base=0.01, cap=0.02, deadline=1))
    yield eng
    eng.close()


def fired_rules(engine) -> set[str]:
    """Rule ids with an open alert after one evaluation at NOW."""
    report = engine.evaluate(NOW)
    assert report is not None and not report.errors, report
    return {a["rule_id"] for a in q.open_alerts(engine.monitor.db)}


CASES = {
    # rule id: (data that crosses the rule, data just below it)
    "high_error_rate": (requests(100) + errors(6), requests(100) + errors(5)),
    "critical_errors": (errors(1, "critical", "checkout"), errors(3, "warning", "checkout")),
    "slow_response_time": (requests(20, ms=5001), requests(20, ms=4999)),
    "high_memory_usage": (memory([255, 259]), memory([255, 256])),
    "payment_failures": (errors(3, component="payment"), errors(2, component="payment")),
    "database_connectivity": (health("healthy") + health("critical", minutes_before=1), health("healthy")),
    "low_conversion_rate": (sessions(100, 1), sessions(100, 2)),
    "calculator_errors": (errors(5, component="calculator"), errors(4, component="calculator")),
}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_just_above_threshold(monitor, engine, rule_id):
    add(monitor, CASES[rule_id][0])
    assert rule_id in fired_rules(engine)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_quiet_just_below_threshold(monitor, engine, rule_id):
    add(monitor, CASES[rule_id][1])
    assert rule_id not in fired_rules(engine)


def test_eight_builtin_rules_with_seed_thresholds(monitor):
    rules = {r.id: r for r in builtin_rules(monitor.config)}
    assert len(rules) == 8
    assert rules["high_error_rate"].threshold == 5 and rules["high_error_rate"].window_minutes == 60
    assert rules["slow_response_time"].threshold == 5000 and rules["slow_response_time"].window_minutes == 30
    assert rules["high_memory_usage"].threshold == 256 and rules["high_memory_usage"].window_minutes == 15
    assert rules["payment_failures"].threshold == 3 and rules["low_conversion_rate"].window_minutes == 360
    assert rules["database_connectivity"].window_minutes == 5 and rules["calculator_errors"].threshold == 5


def test_error_rate_needs_minimum_requests(monitor, engine):
    add(monitor, requests(3) + errors(1))  # 33 % of 3 requests
    assert "high_error_rate" not in fired_rules(engine)


def _one_more_session() -> list:
    (first,) = sessions(1, 0)
    return [("journey", {**first[1], "session_id": "one-more"})]


@pytest.mark.parametrize("rule_id, below, one_more", [
    # one request / session short of the minimum sample (defaults 20, 10, 50), then one more
    ("high_error_rate", requests(19) + errors(2), requests(1)),
    ("slow_response_time", requests(9, ms=9000), requests(1, ms=9000)),
    ("low_conversion_rate", sessions(49, 0), _one_more_session()),
])
def test_minimum_sample_guard_boundary(monitor, engine, rule_id, below, one_more):
    add(monitor, below)
    assert rule_id not in fired_rules(engine)
    add(monitor, one_more)
    assert rule_id in fired_rules(engine)


def test_conversion_rate_needs_minimum_sessions(monitor, engine):
    add(monitor, sessions(10, 0))
    assert "low_conversion_rate" not in fired_rules(engine)


def test_slow_response_needs_minimum_requests(monitor, engine):
    add(monitor, requests(3, ms=9000))
    assert "slow_response_time" not in fired_rules(engine)


def test_data_outside_the_window_does_not_count(monitor, engine):
    add(monitor, errors(2, component="payment") + errors(1, component="payment", minutes_before=61))
    assert "payment_failures" not in fired_rules(engine)


def test_critical_errors_open_one_alert_per_component(monitor, engine):
    add(monitor, errors(2, "critical", "checkout") + errors(1, "critical", "payment"))
    engine.evaluate(NOW)
    components = sorted(a["component"] for a in q.open_alerts(monitor.db) if a["rule_id"] == "critical_errors")
    assert components == ["checkout", "payment"]


def test_threshold_setting_changes_the_rule(monitor, engine):
    add(monitor, requests(100) + errors(6))
    save_rule(monitor, "high_error_rate", threshold=10)
    assert monitor.config.get("btr_alert_error_rate_threshold") == 10
    assert "high_error_rate" not in fired_rules(engine)


def test_override_without_setting_and_disabled_rule(monitor, engine):
    add(monitor, errors(5, component="calculator") + errors(1, "critical", "x"))
    save_rule(monitor, "calculator_errors", window_minutes=30, min_sample=0)
    save_rule(monitor, "critical_errors", enabled=False)
    fired = fired_rules(engine)
    assert "calculator_errors" in fired and "critical_errors" not in fired
    for field, bad in (("window_minutes", "soon"), ("window_minutes", 1e12), ("min_sample", "inf"),
                       ("threshold", "nan")):
        with pytest.raises(ValueError, match=field):
            save_rule(monitor, "critical_errors", **{field: bad})
    with pytest.raises(ValueError, match="window_minutes"):  # nothing stored when one value is bad
        save_rule(monitor, "high_error_rate", threshold=7, window_minutes="soon")
    assert monitor.config.get("btr_alert_error_rate_threshold") == 5
    with pytest.raises(ValueError, match="rule"):
        save_rule(monitor, "nope", threshold=1)


def test_a_failing_rule_is_reported_and_others_still_run(monitor, engine):
    from dataclasses import replace

    def broken(db, ticks, window):
        raise RuntimeError("query exploded")

    add(monitor, errors(3, component="payment"))
    # the btr_monitor_alert_rules filter changes a built-in rule (here: a query that fails)
    monitor.hooks.add_filter("btr_monitor_alert_rules", lambda rules: [
        replace(r, query=broken) if r.id == "high_error_rate" else r for r in rules])
    report = engine.evaluate(NOW)
    assert "query exploded" in report.errors["high_error_rate"]
    assert report.fired and {a["rule_id"] for a in q.open_alerts(monitor.db)} == {"payment_failures"}
    assert "query exploded" in q.rule_errors(monitor.db, NOW).iloc[0]["comment"]
    assert monitor.counters.get("alerts:rule_errors") == 1


def test_a_bad_stored_override_is_ignored(monitor, engine):
    monitor.config.set("btrmon_alert_rule_overrides", [{"rule": "payment_failures", "window_minutes": 1e15},
                                                       {"rule": "calculator_errors", "threshold": "lots"}])
    add(monitor, errors(3, component="payment") + errors(5, component="calculator"))
    assert {"payment_failures", "calculator_errors"} <= fired_rules(engine)  # both with their defaults
