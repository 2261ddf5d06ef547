"""HTTP ingestion through a real server on 127.0.0.1 into a real DuckDB file."""

from __future__ import annotations

import gzip
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import orjson
import pytest
import requests

METRIC = {"kind": "metric", "metric_type": "performance", "metric_name": "request_duration",
          "metric_value": 120.5, "metric_unit": "ms", "component": "web"}


def post(server, key, body, path="/api/v1/events", **headers):
    """POST JSON (or raw bytes) with the key; returns the response."""
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}", **headers}
    return requests.post(server.url + path, data=data, headers=headers, timeout=30)


def hold_writer(monitor) -> threading.Event:
    """Block the writer thread (returns the event that releases it) once it is really blocked,
    so what is posted next waits in the queue."""
    gate, blocked = threading.Event(), threading.Event()

    def hold(con) -> None:
        blocked.set()
        gate.wait(30)

    monitor.writer.execute(hold)
    assert blocked.wait(30)
    return gate


def test_every_kind_round_trips_into_its_table(api_server, api_key, monitor):
    events = [
        {**METRIC, "session_id": "s1", "user_id": 7, "request_uri": "/book", "user_agent": "UA",
         "metadata": {"route": "book"}, "timestamp": "2026-01-02T03:04:05Z"},
        {"kind": "error", "error_type": "exception", "error_level": "error", "error_message": "boom",
         "error_file": "app.py", "error_line": 12, "stack_trace": "Traceback...", "component": "payment",
         "timestamp": 1767323045},
        {"kind": "journey", "journey_step": "select_package", "journey_stage": "shopping",
         "step_data": {"package": 3}, "conversion_funnel": "booking", "duration_ms": 800,
         "session_id": "s1", "referrer": "https://example.org/"},
        {"kind": "health", "component": "woocommerce", "health_check": "api", "status": "warning",
         "response_time_ms": 90, "error_message": "slow", "metadata": {"region": "eu"}},
    ]
    answer = post(api_server, api_key, events)
    assert answer.status_code == 200
    assert answer.json() == {"accepted": 4, "duplicates": 0, "rejected": []}
    metric = monitor.db.query(
        "SELECT metric_type, metric_name, metric_value, metric_unit, component, user_id, request_uri,"
        " user_agent, metadata, timestamp FROM metrics")
    assert metric[0][:8] == ("performance", "request_duration", 120.5, "ms", "web", "7", "/book", "UA")
    assert orjson.loads(metric[0][8]) == {"route": "book"}
    assert str(metric[0][9]) == "2026-01-02 03:04:05"
    error = monitor.db.query("SELECT error_type, error_level, error_message, error_file, error_line,"
                             " stack_trace, component, resolved, timestamp FROM errors")[0]
    assert error[:8] == ("exception", "error", "boom", "app.py", 12, "Traceback...", "payment", False)
    assert str(error[8]) == "2026-01-02 03:04:05"
    journey = monitor.db.query("SELECT journey_step, journey_stage, step_data, conversion_funnel,"
                               " drop_off, duration_ms, referrer FROM journey")[0]
    assert journey == ("select_package", "shopping", '{"package":3}', "booking", False, 800.0,
                       "https://example.org/")
    health = monitor.db.query("SELECT component, health_check, status, response_time_ms, error_message"
                              " FROM health")[0]
    assert health == ("woocommerce", "api", "warning", 90.0, "slow")
    sessions = monitor.db.query("SELECT DISTINCT session_id FROM metrics UNION SELECT session_id FROM journey")
    assert len(sessions) == 1 and sessions[0][0] != "s1"  # hashed, and the same hash in both tables


def test_kind_routes_imply_the_kind(api_server, api_key, monitor):
    body = [{k: v for k, v in METRIC.items() if k != "kind"}]
    assert post(api_server, api_key, body, "/api/v1/metrics").json()["accepted"] == 1
    wrong = post(api_server, api_key, [{"kind": "error", **body[0]}], "/api/v1/metrics").json()
    assert wrong["rejected"][0]["error"].startswith("kind:")
    ok = post(api_server, api_key, {"events": [{"component": "db", "status": "healthy"}]}, "/api/v1/health")
    assert ok.json()["accepted"] == 1


def test_mixed_batch_stores_valid_and_names_invalid_fields(api_server, api_key, monitor):
    batch = [
        METRIC,
        {**METRIC, "metric_value": "fast"},
        {"kind": "error", "error_type": "x", "error_level": "fatal", "error_message": "m"},
        {"kind": "health", "component": "db", "status": "down"},
        {"kind": "journey", "journey_stage": "checkout"},
        {"kind": "metric", **{k: v for k, v in METRIC.items() if k != "kind"}, "timestamp": "2999-01-01"},
        {"kind": "unknown"},
        {**METRIC, "metadata": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": {"k": 1}}}}}}}}}}}},
        {**METRIC, "colour": "red"},
        {"metric_type": "p"},
        METRIC,
    ]
    answer = post(api_server, api_key, batch).json()
    assert answer["accepted"] == 2
    errors = {r["index"]: r["error"] for r in answer["rejected"]}
    assert errors[1].startswith("metric_value:")
    assert errors[2].startswith("error_level:")
    assert errors[3].startswith("status:")
    assert errors[4].startswith("journey_step:")
    assert errors[5].startswith("timestamp:")
    assert errors[6].startswith("kind:")
    assert errors[7].startswith("metadata:") and "nested" in errors[7]
    assert errors[8].startswith("colour:")
    assert errors[9].startswith("kind:")
    assert monitor.db.query("SELECT count(*) FROM metrics")[0][0] == 2


def test_long_text_is_truncated_not_rejected(api_server, api_key, monitor):
    event = {"kind": "error", "error_type": "exception", "error_level": "notice", "error_message": "x" * 10000}
    assert post(api_server, api_key, [event]).json()["accepted"] == 1
    assert monitor.db.query("SELECT length(error_message) FROM errors")[0][0] == 4000


def test_error_statuses(api_server, api_key, monitor):
    assert post(api_server, "btr_nope_nope", [METRIC]).status_code == 401
    missing = requests.post(api_server.url + "/api/v1/events", json=[METRIC], timeout=10)
    assert missing.status_code == 401 and "API key" in missing.json()["error"]
    assert post(api_server, api_key, b"[{", ).status_code == 400
    assert "not a JSON object" in post(api_server, api_key, [1, 2]).json()["error"]
    assert post(api_server, api_key, {"metric": 1}).status_code == 400
    assert post(api_server, api_key, [METRIC], **{"Content-Type": "text/plain"}).status_code == 415
    assert post(api_server, api_key, b"[" + b" " * (5 * 1024 * 1024 + 10) + b"]").status_code == 413
    bomb = gzip.compress(b"[" + b" " * (6 * 1024 * 1024) + b"]")
    assert post(api_server, api_key, bomb, **{"Content-Encoding": "gzip"}).status_code == 413
    zipped = post(api_server, api_key, gzip.compress(orjson.dumps([METRIC])), **{"Content-Encoding": "gzip"})
    assert zipped.json()["accepted"] == 1
    not_found = requests.get(api_server.url + "/api/v1/nothing", timeout=10)
    assert not_found.status_code == 404 and not_found.json()["status"] == 404
    wrong_method = requests.get(api_server.url + "/api/v1/events", timeout=10)
    assert wrong_method.status_code == 405 and wrong_method.headers["Allow"] == "POST"


def test_rate_limit_answers_429_with_retry_after(api_server, api_key, monitor):
    monitor.config.set("btrmon_rate_limit_per_key", 1)
    statuses = [post(api_server, api_key, [METRIC]).status_code for _ in range(4)]
    assert statuses[0] == 200 and 429 in statuses
    limited = post(api_server, api_key, [METRIC])
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_disabled_monitoring_answers_503(api_server, api_key, monitor):
    monitor.config.set("btr_monitor_enabled", False)
    answer = post(api_server, api_key, [METRIC])
    assert answer.status_code == 503 and "disabled" in answer.json()["error"]
    assert "Retry-After" in answer.headers
    monitor.config.set("btr_monitor_enabled", True)
    assert post(api_server, api_key, [METRIC]).status_code == 200


def test_full_queue_answers_503_and_loses_nothing_acknowledged(api_server, api_key, monitor):
    monitor.writer.max_events = 5
    gate = hold_writer(monitor)
    first = ThreadPoolExecutor(1).submit(post, api_server, api_key, [METRIC] * 5)
    from tests.conftest import wait_for

    wait_for(lambda: monitor.writer.queue_depth == 5)
    full = post(api_server, api_key, [METRIC] * 3)
    assert full.status_code == 503 and full.headers["Retry-After"] == "1"
    gate.set()
    assert first.result(30).json()["accepted"] == 5
    assert monitor.db.query("SELECT count(*) FROM metrics")[0][0] == 5
    assert monitor.counters.get("dropped:queue_full") == 3


def test_retried_batch_is_stored_once(api_server, api_key, monitor):
    batch = [{**METRIC, "event_id": f"retry-{i}"} for i in range(10)]
    assert post(api_server, api_key, batch).json() == {"accepted": 10, "duplicates": 0, "rejected": []}
    again = post(api_server, api_key, batch + [{**METRIC, "event_id": "retry-new"}]).json()
    assert again == {"accepted": 1, "duplicates": 10, "rejected": []}
    assert monitor.db.query("SELECT count(*) FROM metrics")[0][0] == 11


def test_concurrent_clients_every_acknowledged_event_stored_once(api_server, api_key, monitor):
    def client(n: int) -> list[str]:
        acked = []
        session = requests.Session()
        for batch_no in range(15):
            ids = [str(uuid.uuid4()) for _ in range(20)]
            batch = [{**METRIC, "event_id": i, "session_id": f"c{n}"} for i in ids]
            response = session.post(api_server.url + "/api/v1/events", data=orjson.dumps(batch + batch[:3]),
                                    headers={"Content-Type": "application/json", "X-API-Key": api_key},
                                    timeout=30)
            assert response.status_code == 200
            assert response.json()["accepted"] == 20 and response.json()["duplicates"] == 3
            acked.extend(ids)
        return acked

    with ThreadPoolExecutor(8) as pool:
        acked = [i for ids in pool.map(client, range(8)) for i in ids]
    stored = monitor.db.query("SELECT event_id::VARCHAR, count(*) FROM metrics GROUP BY ALL")
    assert len(acked) == 8 * 15 * 20
    assert {r[0] for r in stored} == set(acked)
    assert all(r[1] == 1 for r in stored)
    assert monitor.writer.stats.commits < len(acked) / 20  # concurrent requests shared commits


def test_stats_reports_counters(api_server, api_key, monitor):
    post(api_server, api_key, [METRIC, {**METRIC, "metric_value": None}])
    stats = requests.get(api_server.url + "/api/v1/stats", headers={"X-API-Key": api_key}, timeout=10).json()
    assert stats["accepted"] == 1 and stats["rejected"] == 1
    assert stats["queue_depth"] == 0 and stats["commits"] >= 1 and stats["last_commit_at"]
    assert requests.get(api_server.url + "/api/v1/stats", timeout=10).status_code == 401


def test_revoked_key_is_refused(api_server, api_key, monitor):
    from btrmon.keys import revoke_key

    assert post(api_server, api_key, [METRIC]).status_code == 200
    key_id = api_key.split("_")[1]
    assert revoke_key(monitor, key_id) == 1
    assert post(api_server, api_key, [METRIC]).status_code == 401


@pytest.mark.parametrize("rate,kept", [(100, 40), (0, 0)])
def test_sampling_is_per_session_and_keeps_critical_errors(api_server, api_key, monitor, rate, kept):
    monitor.config.set("btr_monitor_sample_rate", rate)
    batch = []
    for s in range(20):
        batch.append({**METRIC, "session_id": f"sess-{s}"})
        batch.append({"kind": "journey", "journey_step": "a", "journey_stage": "shopping", "session_id": f"sess-{s}"})
    batch.append({"kind": "error", "error_type": "exception", "error_level": "critical",
                  "error_message": "down", "session_id": "sess-1"})
    answer = post(api_server, api_key, batch).json()
    assert answer["accepted"] == kept + 1
    assert monitor.db.query("SELECT count(*) FROM errors")[0][0] == 1


def test_partial_sampling_keeps_whole_sessions(api_server, api_key, monitor):
    monitor.config.set("btr_monitor_sample_rate", 50)
    batch = []
    for s in range(200):
        for step in ("a", "b", "c"):
            batch.append({"kind": "journey", "journey_step": step, "journey_stage": "shopping",
                          "session_id": f"sess-{s}"})
    answer = post(api_server, api_key, batch).json()
    assert 150 < answer["accepted"] < 450 and answer["dropped"]["sampled_out"] == 600 - answer["accepted"]
    per_session = monitor.db.query("SELECT count(*) FROM journey GROUP BY session_id")
    assert {r[0] for r in per_session} == {3}


def test_disabled_type_is_dropped_and_counted(api_server, api_key, monitor):
    monitor.config.set("btr_monitor_performance", False)
    answer = post(api_server, api_key, [METRIC]).json()
    assert answer["accepted"] == 0 and answer["dropped"] == {"metric_disabled": 1}


def test_one_commit_mixing_fresh_client_and_retried_ids_counts_exactly(api_server, api_key, monitor):
    known = [{**METRIC, "event_id": f"known-{i}"} for i in range(5)]
    assert post(api_server, api_key, known).json()["accepted"] == 5
    gate = hold_writer(monitor)  # the batches below wait and then share one commit
    fresh, mixed = [METRIC] * 7, known[:3] + [{**METRIC, "event_id": "new-1"}, {**METRIC, "event_id": "new-1"}]
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(post, api_server, api_key, fresh)
        second = pool.submit(post, api_server, api_key, mixed)
        from tests.conftest import wait_for

        wait_for(lambda: monitor.writer.queue_depth == 12)
        gate.set()
        assert first.result(30).json() == {"accepted": 7, "duplicates": 0, "rejected": []}
        assert second.result(30).json() == {"accepted": 1, "duplicates": 4, "rejected": []}
    assert monitor.db.query("SELECT count(*) FROM metrics")[0][0] == 5 + 7 + 1


def test_values_the_table_cannot_hold_are_rejected_not_spooled(api_server, api_key, monitor):
    batch = [{"kind": ["metric"]}, {"kind": "error", "error_type": "x", "error_level": "error",
                                    "error_message": "m", "error_line": 2 ** 40}, METRIC]
    answer = post(api_server, api_key, batch).json()
    errors = {r["index"]: r["error"] for r in answer["rejected"]}
    assert errors[0].startswith("kind:") and errors[1].startswith("error_line:")
    assert answer["accepted"] == 1 and monitor.writer.stats.spooled_events == 0
