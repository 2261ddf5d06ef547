"""Retention, cleanup, reset-config and the emergency switch (in-process CLI, live server)."""

from __future__ import annotations

import io
import time
import uuid

import requests

from btrmon.cli import CommandContext, run_argv
from btrmon.keys import list_keys
from btrmon.maintenance import apply_retention

DAY = 86400


def _cli(monitor, *argv) -> tuple[int, str]:
    out = io.StringIO()
    ctx = CommandContext(db_path=monitor.db.path, out=out, monitor_factory=lambda: monitor, forwarded=True)
    return run_argv(list(argv), ctx), out.getvalue()


def _insert(monitor, kind: str, age_days: float, **fields) -> str:
    event_id = str(uuid.uuid4())
    defaults = {
        "metric": {"metric_type": "performance", "metric_name": "page_load", "metric_value": 1.0},
        "error": {"error_type": "php", "error_level": "error", "error_message": "boom"},
        "journey": {"journey_step": "search", "journey_stage": "start"},
        "health": {"component": "woocommerce", "status": "healthy"},
    }[kind]
    event = {**defaults, **fields, "event_id": event_id, "timestamp": time.time() - age_days * DAY}
    rows, rejected, _ = monitor.prepare([(kind, event)])
    assert not rejected, rejected
    monitor.submit(rows).wait(10)
    return event_id


def _ids(monitor, table: str) -> set[str]:
    return {r[0] for r in monitor.db.query(f"SELECT event_id::VARCHAR FROM {table}")}


def _seed(monitor) -> dict[str, set[str]]:
    keep = {"metrics": set(), "errors": set(), "journey": set(), "health": set()}
    old = {"metrics": set(), "errors": set(), "journey": set(), "health": set()}
    for age in (40, 31):
        old["metrics"].add(_insert(monitor, "metric", age))
        old["journey"].add(_insert(monitor, "journey", age))
    for age in (29, 1, 0.01):
        keep["metrics"].add(_insert(monitor, "metric", age))
        keep["journey"].add(_insert(monitor, "journey", age))
    old["errors"].add(_insert(monitor, "error", 10))      # errors keep only 7 days
    keep["errors"].add(_insert(monitor, "error", 6))
    old["health"].add(_insert(monitor, "health", 100))    # health keeps 90 days
    keep["health"].add(_insert(monitor, "health", 80))
    return {"old": old, "keep": keep}


def test_retention_removes_exactly_the_old_rows(monitor):
    monitor.config.set("btr_monitor_retention", 30)
    monitor.config.set("btr_monitor_retention_errors", 7)
    monitor.config.set("btr_monitor_retention_health", 90)
    seeded = _seed(monitor)
    from btrmon.queries.cache import cache_of, cached

    cached(monitor, lambda m, timeframe: "panel", "1h")  # a real-time entry: stale after the next commit
    assert len(cache_of(monitor)._entries) == 1
    plans = {p.table: p for p in apply_retention(monitor)}
    assert {t: p.rows for t, p in plans.items()} == {"metrics": 2, "errors": 1, "journey": 2, "health": 1}
    assert len(cache_of(monitor)._entries) == 0  # expired cache entries dropped too
    assert plans["errors"].days == 7 and plans["metrics"].days == 30
    for table in ("metrics", "errors", "journey", "health"):
        assert _ids(monitor, table) == seeded["keep"][table], table


def test_cleanup_dry_run_prints_and_keeps_everything(monitor):
    monitor.config.set("btr_monitor_retention", 30)
    seeded = _seed(monitor)
    before = {t: _ids(monitor, t) for t in ("metrics", "journey")}
    code, text = _cli(monitor, "cleanup", "--dry-run")
    assert code == 0
    assert "metrics  keep   30 days" in text and "would remove 2 rows" in text
    assert {t: _ids(monitor, t) for t in ("metrics", "journey")} == before
    code, text = _cli(monitor, "cleanup")
    assert code == 0 and "removed 2 rows" in text
    assert _ids(monitor, "metrics") == seeded["keep"]["metrics"]


def test_reset_config_restores_defaults_and_keeps_keys_secrets_and_data(monitor):
    secret = monitor.config["btrmon_session_secret"]
    from btrmon.keys import create_key

    create_key(monitor, "app")
    event_id = _insert(monitor, "metric", 0)
    monitor.config.set("btr_monitor_sample_rate", 50)
    monitor.config.set("btr_monitor_retention", 7)
    monitor.config.set("btrmon_smtp_password", "hunter2")
    code, text = _cli(monitor, "reset-config")
    assert code == 0
    assert "btr_monitor_sample_rate: 50 -> 100" in text and "btr_monitor_retention: 7 -> 30" in text
    assert "hunter2" not in text and "btrmon_smtp_password" in text
    assert monitor.config["btr_monitor_sample_rate"] == 100
    assert set(monitor.db.load_options()) <= {"btrmon_session_secret", "btrmon_cookie_secret"}
    assert monitor.config["btrmon_session_secret"] == secret
    assert [k["name"] for k in list_keys(monitor)] == ["app"]
    assert event_id in _ids(monitor, "metrics")
    assert "already has its default" in _cli(monitor, "reset-config")[1]


def test_disable_and_enable_at_runtime_without_restart(monitor, api_server, api_key):
    url = api_server.url + "/api/v1/events"
    headers = {"Authorization": f"Bearer {api_key}"}
    event = {"kind": "metric", "metric_type": "performance", "metric_name": "page_load", "metric_value": 2}
    assert requests.post(url, json=[event], headers=headers, timeout=10).status_code == 200
    code, text = _cli(monitor, "disable")
    assert code == 0 and "disabled" in text
    response = requests.post(url, json=[event], headers=headers, timeout=10)
    assert response.status_code == 503 and "disabled" in response.json()["error"]
    monitor.record_metric("performance", "page_load", 3)  # never raises
    monitor.flush()
    assert monitor.db.query("SELECT count(*) FROM metrics")[0][0] == 1  # the Python API did nothing
    assert monitor.counters.get("dropped:disabled") == 1
    code, text = _cli(monitor, "enable")
    assert code == 0 and "enabled" in text
    assert requests.post(url, json=[event], headers=headers, timeout=10).status_code == 200
    assert monitor.db.query("SELECT count(*) FROM metrics")[0][0] == 2


def test_disable_without_a_server_persists_for_the_next_start(tmp_path):
    db = str(tmp_path / "off.duckdb")
    assert run_argv(["disable", "--db", db]) == 0
    from btrmon.monitor import Monitor

    m = Monitor(db=db)
    try:
        assert m.enabled is False
    finally:
        m.close()
    assert run_argv(["enable", "--db", db]) == 0
