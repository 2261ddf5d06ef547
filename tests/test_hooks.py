"""Actions and filters: priorities, failure guard, built-ins, entry-point plugins."""

from __future__ import annotations

import logging

import pytest

from btrmon import Monitor, hooks
from btrmon.hooks import HOOKS, Hooks, load_plugins


def test_seed_hooks_are_declared_once():
    for name in ("btr_monitor_track_metric", "btr_monitor_track_error", "btr_monitor_track_journey",
                 "btr_monitor_health_check", "btr_checkout_start", "btr_gateway_call_error"):
        assert HOOKS[name].kind == "action"
    for name in ("btr_monitor_alert_rules", "btr_monitor_notification_channels",
                 "btr_monitor_escalation_rules", "btr_monitor_export_data"):
        assert HOOKS[name].kind == "filter"
    assert HOOKS["btr_payment_process_start"].args == ("type", "amount")


def test_actions_run_by_priority_then_registration_order():
    registry = Hooks()
    calls = []
    registry.add_action("a", lambda x: calls.append(("late", x)), priority=20)
    registry.add_action("a", lambda x: calls.append(("first", x)), priority=5)
    registry.add_action("a", lambda x: calls.append(("default1", x)))
    registry.add_action("a", lambda x: calls.append(("default2", x)))
    assert registry.do_action("a", 1) == 4
    assert [c[0] for c in calls] == ["first", "default1", "default2", "late"]
    assert registry.do_action("nobody_listens") == 0


def test_filters_thread_the_value_with_extra_arguments(monitor):
    monitor.add_filter("btr_monitor_export_data", lambda data, tf: {**data, "tf": tf}, priority=20)
    monitor.add_filter("btr_monitor_export_data", lambda data, tf: {**data, "rows": data["rows"] * 2})
    assert monitor.apply_filters("btr_monitor_export_data", {"rows": 2}, "24h") == {"rows": 4, "tf": "24h"}
    assert monitor.apply_filters("btr_monitor_alert_rules", ["r1"]) == ["r1"]  # no filters: unchanged


def test_remove_callback():
    registry = Hooks()
    fn = registry.add_filter("f", lambda v: v + 1)
    assert registry.apply_filters("f", 1) == 2
    assert registry.remove("f", fn) and not registry.remove("f", fn)
    assert registry.apply_filters("f", 1) == 1


def test_failing_callbacks_are_logged_counted_and_never_break_the_caller(monitor, hook_failures, caplog):
    ran = []

    def broken(*args):
        raise RuntimeError("plugin bug")

    monitor.add_action("custom", broken, priority=1)
    monitor.add_action("custom", lambda: ran.append(True))
    monitor.add_filter("btr_monitor_alert_rules", broken)
    monitor.add_filter("btr_monitor_alert_rules", lambda rules: None)  # forgot to return
    monitor.add_filter("btr_monitor_alert_rules", lambda rules: rules + ["extra"])
    with caplog.at_level(logging.ERROR, logger="btrmon.hooks"):
        assert monitor.do_action("custom") == 1
        assert monitor.apply_filters("btr_monitor_alert_rules", ["r"]) == ["r", "extra"]
    assert ran == [True]
    assert monitor.counters.get("hook_failures") == 3
    assert "plugin bug" in caplog.text and "returned None" in caplog.text
    assert [name for name, _, _ in hook_failures] == ["custom", "btr_monitor_alert_rules", "btr_monitor_alert_rules"]
    hook_failures.clear()  # expected here; any other test with a failure fails


def test_builtin_monitoring_actions_record_through_the_monitor(monitor):
    monitor.do_action("btr_monitor_track_metric", "performance", "hooked", 7.5, "ms", "core")
    monitor.do_action("btr_monitor_track_error", "php_error", "notice", "Undefined var", "a.py", 3)
    monitor.do_action("btr_monitor_track_journey", "browse", "shopping", {"p": 1}, "booking")
    monitor.do_action("btr_monitor_health_check", "woocommerce", "warning",
                      {"response_time_ms": 40, "message": "slow", "health_check": "wc_api", "orders": 3})
    monitor.flush(10)
    q = monitor.db.query
    assert q("SELECT metric_type, metric_name, metric_value, metric_unit, component FROM metrics") == [
        ("performance", "hooked", 7.5, "ms", "core")]
    assert q("SELECT error_type, error_level, error_message, error_file, error_line FROM errors") == [
        ("php_error", "notice", "Undefined var", "a.py", 3)]
    assert q("SELECT journey_step, journey_stage, step_data, conversion_funnel FROM journey") == [
        ("browse", "shopping", '{"p":1}', "booking")]
    assert q("SELECT component, health_check, status, response_time_ms, error_message, metadata FROM health") == [
        ("woocommerce", "wc_api", "warning", 40.0, "slow", '{"orders":3}')]


def test_plugin_discovered_through_entry_point(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "btrmon_demo_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "btrmon_demo_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: btrmon-demo-plugin\nVersion: 1.0\n")
    (site / "btrmon_demo_plugin-1.0.dist-info" / "entry_points.txt").write_text(
        "[btrmon.plugins]\ndemo = btrmon_demo_plugin:register\n")
    (site / "btrmon_demo_plugin.py").write_text(
        "def register(monitor):\n"
        "    monitor.add_filter('btr_monitor_notification_channels', lambda ch: ch + ['pager'])\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(hooks, "_entry_points_cache", None)
    m = Monitor(db=tmp_path / "p.duckdb", strict=True)
    try:
        assert m.apply_filters("btr_monitor_notification_channels", ["email"]) == ["email", "pager"]
        assert m.hooks.has("btr_checkout_start")  # the built-ins load through the same loader
    finally:
        m.close()
        monkeypatch.setattr(hooks, "_entry_points_cache", None)


def test_broken_plugin_is_counted_and_skipped(monitor, caplog):
    with caplog.at_level(logging.ERROR, logger="btrmon.hooks"):
        loaded = load_plugins(monitor, ["btrmon_no_such_plugin:register", "btrmon.hooks:register_builtins"])
    assert loaded == ["btrmon.hooks:register_builtins"]
    assert monitor.counters.get("plugin_failures") == 1 and "btrmon_no_such_plugin" in caplog.text


def test_callback_must_be_callable():
    with pytest.raises(TypeError):
        Hooks().add_action("x", "not callable")


def test_health_reported_through_the_hook_joins_latest_results_once(monitor):
    from btrmon.health import state_of

    seen = []
    monitor.add_action("btr_monitor_health_check", lambda component, status, data=None: seen.append(component))
    monitor.do_action("btr_monitor_health_check", "woocommerce", "critical", "orders API down")  # not a dict
    assert seen == ["woocommerce"]  # the other callbacks ran once, not again from the recorder
    latest = {r["component"]: r for r in state_of(monitor).latest()}
    assert latest["woocommerce"]["status"] == "critical"  # /healthz sees it before the next run
    monitor.flush(10)
    assert monitor.db.query("SELECT status, metadata FROM health") == [("critical", '{"data":"orders API down"}')]
