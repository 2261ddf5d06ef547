"""Remote mode against real servers on 127.0.0.1: delivery, outages, retries, give-up."""

from __future__ import annotations

import gzip
import threading
import time

import orjson
import pytest

from btrmon import Monitor
from btrmon.client import backoff_delay, retry_after_seconds
from btrmon.server import create_flask
from tests.conftest import LiveServer, wait_for


@pytest.fixture
def remote_factory():
    made: list[Monitor] = []

    def make(url: str, key: str, **settings) -> Monitor:
        m = Monitor(url=url, api_key=key, strict=True)
        for name, value in {"btrmon_client_max_backoff": 0.2, **settings}.items():
            m.config.set(name, value)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


def count(m: Monitor, table: str = "metrics") -> int:
    return m.db.query(f"SELECT count(*) FROM {table}")[0][0]


def test_events_of_every_kind_reach_the_server(monitor, api_server, api_key, remote_factory):
    remote = remote_factory(api_server.url, api_key)
    with remote.context(session_id="remote-session", user_id="u1", request_uri="/pay"):
        remote.record_metric("performance", "request_duration", 120.0, "ms", "core", {"k": 1})
        remote.track_error("exception", "critical", "boom", "a.py", 3)
        remote.track_journey_step("checkout_started", "checkout", funnel="booking")
        remote.record_health("database", "healthy", 2.0)
        remote.do_action("btr_checkout_start")
        remote.do_action("btr_checkout_complete", "ORD-7")
    assert remote.enqueue("metric", {"metric_type": "business", "metric_name": "via_enqueue", "metric_value": 1})
    assert remote.flush(20)
    assert monitor.db.query("SELECT metric_name, user_id, request_uri, session_id <> 'remote-session' FROM metrics "
                            "ORDER BY metric_name") == [
        ("checkout.process_duration", "u1", "/pay", True), ("request_duration", "u1", "/pay", True),
        ("via_enqueue", None, None, None)]
    assert monitor.db.query("SELECT error_level, error_message FROM errors") == [("critical", "boom")]
    assert count(monitor, "journey") == 3 and count(monitor, "health") == 1
    assert remote.counters.get("remote_accepted") == 8 and remote.counters.get("remote_retries") == 0


def test_server_down_for_a_while_then_back(monitor, api_key, remote_factory):
    app = create_flask(monitor)
    server = LiveServer(app)
    remote = remote_factory(server.url, api_key)
    for i in range(50):
        remote.record_metric("performance", "before", i)
    assert remote.flush(20) and count(monitor) == 50
    server.stop()
    for i in range(120):
        remote.record_metric("performance", "during_outage", i)
    wait_for(lambda: remote.counters.get("remote_retries") >= 3, timeout=20)  # it kept trying
    assert count(monitor) == 50
    server = LiveServer(app, server.port)
    try:
        assert remote.flush(30)
        assert monitor.db.query("SELECT metric_name, count(*), count(DISTINCT metric_value) FROM metrics "
                                "GROUP BY 1 ORDER BY 1") == [("before", 50, 50), ("during_outage", 120, 120)]
        assert not any(k.startswith("dropped") for k in remote.counters.snapshot())
    finally:
        server.stop()


def test_queue_bound_while_server_down(monitor, api_key, remote_factory):
    app = create_flask(monitor)
    server = LiveServer(app)
    port = server.port
    server.stop()
    remote = remote_factory(f"http://127.0.0.1:{port}", api_key, btrmon_client_queue_max=10)
    for i in range(40):
        remote.record_metric("performance", "bounded", i)
    remote._pump.flush(10)
    dropped = remote.counters.get("dropped:remote_queue_full")
    assert dropped == 30
    server = LiveServer(app, port)
    try:
        assert remote.flush(30)
        assert count(monitor) == 10
    finally:
        server.stop()


def test_unreachable_server_never_raises_and_gives_up_counted(remote_factory):
    holder = LiveServer(lambda env, start: [])
    port = holder.port
    holder.stop()  # nothing listens on this port now
    remote = remote_factory(f"http://127.0.0.1:{port}", "any-key", btrmon_client_give_up_seconds=1,
                            btrmon_client_max_backoff=0.1)
    for i in range(20):
        assert remote.record_metric("performance", "lost", i) is True
    remote.track_error("exception", "error", "also lost")
    wait_for(lambda: remote.counters.get("dropped:remote_gave_up") == 21, timeout=20)
    assert remote.flush(5)


def test_client_errors_are_not_retried(monitor, api_server, remote_factory):
    remote = remote_factory(api_server.url, "wrong-key")
    for i in range(5):
        remote.record_metric("performance", "unauthorised", i)
    remote.flush(20)
    assert remote.counters.get("dropped:remote_http_401") == 5
    assert remote.counters.get("remote_retries") == 0 and count(monitor) == 0


def test_retry_after_is_honoured_with_same_event_ids_and_gzip(serve_wsgi, remote_factory):
    seen: list[tuple[float, dict, list]] = []

    def sink(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
        events = orjson.loads(gzip.decompress(body)) if environ.get("HTTP_CONTENT_ENCODING") == "gzip" else []
        seen.append((time.monotonic(), headers, events))
        if len(seen) == 1:
            start_response("429 Too Many Requests", [("Retry-After", "1"), ("Content-Type", "application/json")])
            return [b'{"error": "slow down"}']
        if len(seen) == 2:
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"error": "busy"}']
        start_response("200 OK", [("Content-Type", "application/json")])
        return [orjson.dumps({"accepted": len(events), "duplicates": 0, "rejected": [{"index": 0, "error": "x: bad"}]})]

    server = serve_wsgi(sink)
    remote = remote_factory(server.url, "k-123")
    remote.record_metric("performance", "a", 1)
    assert remote.flush(30)
    assert len(seen) == 3
    assert seen[1][0] - seen[0][0] >= 0.95  # waited for Retry-After: 1
    ids = [[e["event_id"] for e in events] for _, _, events in seen]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 1
    assert seen[0][1]["HTTP_AUTHORIZATION"] == "Bearer k-123"
    assert {e["kind"] for e in seen[0][2]} == {"metric"}
    assert remote.counters.get("remote_retries") == 2 and remote.counters.get("remote_rejected") == 1


def test_backoff_and_retry_after_parsing():
    delays = [backoff_delay(n, cap=30) for n in range(1, 12)]
    assert all(0 < d <= 30 for d in delays) and delays[-1] >= 15
    assert retry_after_seconds("7") == 7 and retry_after_seconds(None) is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0 and retry_after_seconds("soon") is None


def test_lost_answer_is_retried_and_deduplicated_by_the_server(monitor, api_server, api_key, serve_wsgi,
                                                               remote_factory):
    """The server stores a batch but its answer is lost: the retry is answered as duplicates."""
    import requests

    forwarded = []

    def lossy_proxy(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {"Authorization": environ["HTTP_AUTHORIZATION"], "Content-Type": environ["CONTENT_TYPE"],
                   "Content-Encoding": environ.get("HTTP_CONTENT_ENCODING", "identity")}
        answer = requests.post(f"{api_server.url}/api/v1/events", data=body, headers=headers, timeout=30)
        forwarded.append(answer.json())
        if len(forwarded) == 1:  # stored, but the client never hears it
            start_response("502 Bad Gateway", [("Content-Type", "application/json")])
            return [b'{"error": "upstream answer lost"}']
        start_response(f"{answer.status_code} OK", [("Content-Type", "application/json")])
        return [answer.content]

    proxy = serve_wsgi(lossy_proxy)
    remote = remote_factory(proxy.url, api_key)
    for i in range(25):
        remote.record_metric("performance", "exactly_once", i)
    assert remote.flush(30)
    first = forwarded[0]["accepted"]  # normally all 25 in one batch
    assert first > 0 and forwarded[1] == {"accepted": 0, "duplicates": first, "rejected": []}
    assert sum(f["accepted"] for f in forwarded) == 25 and count(monitor) == 25
    assert remote.counters.get("remote_duplicates") == first


def test_batch_over_the_body_limit_is_split_not_dropped(serve_wsgi, remote_factory):
    received: list[int] = []
    too_large: list[int] = []

    def small_limit_sink(environ, start_response):
        events = orjson.loads(gzip.decompress(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))))
        if len(events) > 7:  # like btrmon's 413 for a body over btrmon_max_body_bytes
            too_large.append(len(events))
            start_response("413 Request Entity Too Large", [("Content-Type", "application/json")])
            return [b'{"error": "body too large"}']
        received.extend(e["metric_value"] for e in events)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [orjson.dumps({"accepted": len(events), "duplicates": 0, "rejected": []})]

    server = serve_wsgi(small_limit_sink)
    remote = remote_factory(server.url, "k")
    for i in range(40):
        remote.record_metric("performance", "big", i)
    assert remote.flush(30)
    assert sorted(received) == list(range(40)) and too_large  # split, resent, each event once
    assert not any(k.startswith("dropped") for k in remote.counters.snapshot())


def test_forked_child_sends_its_own_events_once(monitor, api_server, api_key, remote_factory):
    """A pre-forking server (gunicorn --preload) forks after the app made its monitor."""
    import os

    remote = remote_factory(api_server.url, api_key)
    remote.record_metric("performance", "parent", 1)  # queued in the parent when it forks
    pid = os.fork()
    if pid == 0:  # the child: its own queue and sender thread; nothing inherited is sent twice
        try:
            for i in range(5):
                remote.record_metric("performance", "child", i)
            os._exit(0 if remote.flush(20) else 3)
        finally:
            os._exit(4)
    deadline = time.monotonic() + 60
    while (done := os.waitpid(pid, os.WNOHANG)) == (0, 0) and time.monotonic() < deadline:
        threading.Event().wait(0.05)  # polling interval of a deadline loop
    if done == (0, 0):
        os.kill(pid, 9)
        pytest.fail("the forked child did not finish")
    assert os.waitstatus_to_exitcode(done[1]) == 0
    assert remote.flush(20)
    assert monitor.db.query("SELECT metric_name, count(*) FROM metrics GROUP BY 1 ORDER BY 1") == [
        ("child", 5), ("parent", 1)]
