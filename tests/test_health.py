"""Health checks: each check's healthy/warning/critical cases, app-reported staleness, /healthz."""

from __future__ import annotations

import io
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psutil
import pytest
import requests

from btrmon.cli import CommandContext, run_argv
from btrmon.health import run_health_checks
from btrmon.health.checks import check_btrmon, check_database, check_disk_space, check_memory
from btrmon.health.external import check_external_services
from btrmon.health.reported import check_reported_components
from btrmon.store import Database


def _status(results, component, check=None):
    found = [r for r in results if r["component"] == component and (check is None or r["health_check"] == check)]
    assert found, f"no result for {component}/{check}: {results}"
    return found[0]["status"]


# -- database ---------------------------------------------------------------------------
def test_database_healthy_with_sizes(monitor):
    [item] = check_database(monitor)
    assert item["status"] == "healthy"
    assert item["metadata"]["file_bytes"] > 0 and "wal_bytes" in item["metadata"]


def test_database_warning_over_latency_threshold(monitor):
    [item] = check_database(monitor, warning_ms=0, critical_ms=1e9)
    assert item["status"] == "warning" and "query took" in item["error_message"]


def test_database_critical_when_it_cannot_answer(tmp_path):
    db = Database(tmp_path / "closed.duckdb")
    db.close()
    [item] = check_database(types.SimpleNamespace(db=db))
    assert item["status"] == "critical" and item["error_message"]


# -- memory -------------------------------------------------------------------------------
@pytest.mark.parametrize("ratio, expected", [(0.01, "healthy"), (0.9, "warning"), (None, "critical")])
def test_memory_against_threshold(monitor, ratio, expected):
    rss_mb = psutil.Process().memory_info().rss / 2**20
    threshold = 1 if ratio is None else max(1, int(rss_mb / ratio))
    monitor.config.set("btrmon_process_memory_mb", threshold)
    [item] = check_memory(monitor, system_warning=101, system_critical=101)
    assert item["status"] == expected, item
    assert item["metadata"]["threshold_mb"] == threshold


# -- disk_space ---------------------------------------------------------------------------
@pytest.mark.parametrize("warning, critical, expected", [(0, 0, "healthy"), (100, 0, "warning"), (100, 100, "critical")])
def test_disk_space_thresholds(monitor, warning, critical, expected):
    monitor.config.set("btrmon_disk_warning_percent", warning)
    monitor.config.set("btrmon_disk_critical_percent", critical)
    [item] = check_disk_space(monitor)
    assert item["status"] == expected
    assert 0 <= item["metadata"]["free_percent"] <= 100


# -- btrmon -------------------------------------------------------------------------------
def test_btrmon_healthy_then_critical_when_a_table_is_missing(monitor):
    [item] = check_btrmon(monitor)
    assert item["status"] == "healthy", item
    monitor.writer.call(lambda con: con.execute("DROP TABLE users"))
    [item] = check_btrmon(monitor)
    assert item["status"] == "critical" and "users" in item["error_message"]


def test_btrmon_warning_when_scheduled_job_is_late(monitor):
    monitor.start()
    assert monitor.scheduler is not None
    job = monitor.scheduler.scheduler.get_job("health.run")
    [item] = check_btrmon(monitor, now=job.next_run_time.timestamp() + 3600)
    assert item["status"] == "warning" and "late" in item["error_message"]


# -- external services --------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    barrier: threading.Barrier | None = None

    def do_GET(self):  # noqa: N802 - http.server API
        if self.path.startswith("/slow"):
            threading.Event().wait(float(self.path.split("=")[1]))  # the behaviour under test: a slow service
        if self.path == "/together":  # answers only when two requests are in flight at once
            self.barrier.wait(5)
        code = 500 if self.path == "/fail" else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_external_services_each_case(monitor, http_service):
    closed = socket_port_closed()
    monitor.config.set("btrmon_external_services", [
        {"name": "fast", "url": f"{http_service}/ok", "warning_ms": 20000, "critical_ms": 60000},  # loaded CI
        {"name": "slowish", "url": f"{http_service}/slow?d=0.3", "warning_ms": 100, "critical_ms": 60000},
        {"name": "too_slow", "url": f"{http_service}/slow?d=2", "timeout": 0.3},
        {"name": "broken", "url": f"{http_service}/fail"},
        {"name": "down", "url": f"http://127.0.0.1:{closed}/", "timeout": 2},
        {"name": "bad", "url": "ftp://example"},
    ])
    results = {r["health_check"]: r for r in check_external_services(monitor)}
    assert results["fast"]["status"] == "healthy"
    assert results["slowish"]["status"] == "warning"
    assert results["too_slow"]["status"] == "critical" and "timed out" in results["too_slow"]["error_message"]
    assert results["broken"]["status"] == "critical" and "HTTP 500" in results["broken"]["error_message"]
    assert results["down"]["status"] == "critical"
    assert results["bad"]["status"] == "warning" and ".url" in results["bad"]["error_message"]


def test_external_services_are_checked_concurrently(monitor, http_service):
    _Handler.barrier = threading.Barrier(2)
    monitor.config.set("btrmon_external_services", [
        {"name": "a", "url": f"{http_service}/together", "timeout": 10, "critical_ms": 60000, "warning_ms": 60000},
        {"name": "b", "url": f"{http_service}/together", "timeout": 10, "critical_ms": 60000, "warning_ms": 60000},
    ])
    results = check_external_services(monitor)
    assert [r["status"] for r in results] == ["healthy", "healthy"]  # sequential checks would break the barrier


def socket_port_closed() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- app-reported components ----------------------------------------------------------------
def _report_at(monitor, component, status, age_s):
    rows, rejected, _ = monitor.prepare([("health", {"component": component, "status": status,
                                                     "timestamp": time.time() - age_s})])
    assert not rejected
    monitor.submit(rows).wait(10)


def test_reported_component_fresh_then_warning_then_critical(monitor):
    monitor.config.set("btrmon_component_stale_after", 900)
    _report_at(monitor, "woocommerce", "warning", 10)
    _report_at(monitor, "payments", "healthy", 1000)
    _report_at(monitor, "mailer", "healthy", 2000)
    results = {r["component"]: r for r in check_reported_components(monitor)}
    assert results["woocommerce"]["status"] == "warning" and results["woocommerce"]["_store"] is False
    assert results["payments"]["status"] == "warning" and results["payments"]["health_check"] == "reporting"
    assert results["mailer"]["status"] == "critical"


def test_health_check_api_records_and_staleness_rows_are_not_reports(monitor):
    assert monitor.health_check("woocommerce", "healthy", {"orders_api": "ok", "response_time_ms": 12})
    monitor.flush()
    row = monitor.db.query("SELECT status, response_time_ms, metadata FROM health WHERE component = 'woocommerce'")
    assert row[0][0] == "healthy" and row[0][1] == 12 and "orders_api" in row[0][2]
    _report_at(monitor, "legacy", "healthy", 5000)
    run_health_checks(monitor)
    run_health_checks(monitor)  # the stored 'reporting' row must not refresh the component
    assert _status(check_reported_components(monitor), "legacy") == "critical"


# -- the run: stored once, hook fired, CLI exit codes ------------------------------------------
def test_run_stores_each_result_once_and_fires_the_hook(monitor):
    seen = []
    monitor.hooks.add_action("btr_monitor_health_check", lambda component, status, data: seen.append(component))
    results = run_health_checks(monitor)
    monitor.flush()
    assert {"database", "memory", "disk_space", "btrmon"} <= set(seen)
    assert len(seen) == len(results)
    stored = monitor.db.query("SELECT component, count(*) FROM health GROUP BY component")
    assert dict(stored) == {"database": 1, "memory": 1, "disk_space": 1, "btrmon": 1}


def _check_exit(monitor) -> tuple[int, str]:
    out = io.StringIO()
    code = run_argv(["check"], CommandContext(db_path=monitor.db.path, out=out, monitor_factory=lambda: monitor))
    return code, out.getvalue()


@pytest.fixture
def quiet_host(monkeypatch):
    """The host's own memory use never decides these tests (a busy CI box may use > 90 %)."""
    from btrmon.health import checks

    monkeypatch.setattr(checks, "SYSTEM_MEMORY_WARNING_PERCENT", 101.0)
    monkeypatch.setattr(checks, "SYSTEM_MEMORY_CRITICAL_PERCENT", 101.0)


def test_check_command_exit_codes(monitor, quiet_host):
    monitor.config.set("btrmon_disk_warning_percent", 0)
    monitor.config.set("btrmon_disk_critical_percent", 0)
    monitor.config.set("btrmon_process_memory_mb", 10**6)
    code, text = _check_exit(monitor)
    assert code == 0 and "overall: healthy" in text and "database" in text
    monitor.config.set("btrmon_disk_warning_percent", 100)
    assert _check_exit(monitor)[0] == 1
    monitor.config.set("btrmon_process_memory_mb", 1)
    code, text = _check_exit(monitor)
    assert code == 2 and "overall: critical" in text


# -- HTTP -------------------------------------------------------------------------------------
def test_healthz_200_then_503_and_nothing_sensitive(monitor, api_server, quiet_host):
    monitor.config.set("btrmon_disk_warning_percent", 0)
    monitor.config.set("btrmon_disk_critical_percent", 0)
    monitor.config.set("btrmon_process_memory_mb", 10**6)
    response = requests.get(api_server.url + "/healthz", timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy" and body["components"]["database"] == "healthy"
    assert set(body) == {"status", "components", "degraded", "enabled"}
    monitor.config.set("btrmon_process_memory_mb", 1)
    run_health_checks(monitor)
    response = requests.get(api_server.url + "/healthz", timeout=10)
    assert response.status_code == 503
    assert response.json()["components"]["memory"] == "critical"


def test_api_health_needs_a_key_and_returns_history(monitor, api_server, api_key):
    assert requests.get(api_server.url + "/api/v1/health", timeout=10).status_code == 401
    run_health_checks(monitor)
    monitor.flush()
    response = requests.get(api_server.url + "/api/v1/health?limit=50",
                            headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
    assert response.status_code == 200
    body = response.json()
    assert {r["component"] for r in body["results"]} >= {"database", "memory", "disk_space", "btrmon"}
    assert len(body["history"]) >= 4 and body["degraded"]["degraded"] is False
    bad = requests.get(api_server.url + "/api/v1/health?limit=x", headers={"Authorization": f"Bearer {api_key}"}, timeout=10)
    assert bad.status_code == 400 and "limit" in bad.json()["error"]


def test_metrics_prometheus_format(monitor, api_server):
    run_health_checks(monitor)
    response = requests.get(api_server.url + "/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    text = response.text
    assert "# TYPE btrmon_events_accepted_total counter" in text
    assert 'btrmon_health_status{component="database"} 0' in text
    monitor.config.set("btrmon_metrics_public", False)
    assert requests.get(api_server.url + "/metrics", timeout=10).status_code == 401


def test_memory_falls_back_to_the_seed_threshold(monitor):
    monitor.config.set("btrmon_process_memory_mb", 0)
    monitor.config.set("btr_alert_memory_threshold", 1)
    [item] = check_memory(monitor, system_warning=101, system_critical=101)
    assert item["status"] == "critical" and item["metadata"]["threshold_mb"] == 1
