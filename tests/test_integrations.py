"""The seed's integration actions, from Python and over HTTP, paired across requests."""

from __future__ import annotations

import json
import time

import pytest
import requests

from btrmon import Monitor, integrations
from btrmon.scheduler import JOB_PROVIDERS


def q(m: Monitor, sql: str) -> list[tuple]:
    assert m.flush(10)
    return m.db.query(sql)


def post(server, key, events) -> dict:
    response = requests.post(f"{server.url}/api/v1/events", json=events,
                             headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def action(name, args=None, session="S1", ts=None, **extra) -> dict:
    event = {"kind": "action", "name": name, "session_id": session, **extra}
    if args is not None:
        event["args"] = args
    if ts is not None:
        event["timestamp"] = ts
    return event


# -- Python ------------------------------------------------------------------------------
def test_calculator_family_from_python(monitor):
    with monitor.context(session_id="sess", user_id="u1", request_uri="/calc"):
        monitor.do_action("btr_calculator_start", "price", {"adults": 2})
        monitor.do_action("btr_calculator_complete", "price", {"adults": 2}, {"total": 980.0})
        monitor.do_action("btr_calculator_start", "discount", {})
        monitor.do_action("btr_calculator_error", "discount", "division by zero")
    metric = q(monitor, "SELECT metric_type, metric_name, metric_unit, component, metadata, user_id, request_uri, "
                        "metric_value >= 0 FROM metrics")
    assert metric == [("component", "calculator.operation_duration", "ms", "calculator",
                       '{"operation":"price"}', "u1", "/calc", True)]
    journey = q(monitor, "SELECT journey_step, journey_stage, step_data, duration_ms >= 0 FROM journey")
    assert journey[0][:2] == ("price_calculated", "calculation") and journey[0][3]
    assert json.loads(journey[0][2])["result"] == {"total": 980.0}
    errors = q(monitor, "SELECT error_type, error_level, component, error_message FROM errors")
    assert errors == [("exception", "error", "calculator", "calculator discount failed: division by zero")]
    assert len(integrations.tracker(monitor)) == 0  # both operations closed


def test_preventivo_payment_gateway_checkout_from_python(monitor):
    with monitor.context(session_id="buyer"):
        monitor.do_action("btr_preventivo_creation_start")
        monitor.do_action("btr_preventivo_creation_complete", "Q-17", {"pax": 2})
        monitor.do_action("btr_preventivo_creation_start")
        monitor.do_action("btr_preventivo_creation_error", "template missing", {"pax": 2})
        monitor.do_action("btr_checkout_start")
        monitor.do_action("btr_checkout_step", "billing", {"country": "IT"})
        monitor.do_action("btr_payment_process_start", "card", 120.5)
        monitor.do_action("btr_gateway_call_start", "stripe", "charge")
        monitor.do_action("btr_gateway_call_complete", "stripe", "charge", {"status": 200})
        monitor.do_action("btr_payment_process_complete", "card", 120.5, "tx-9")
        monitor.do_action("btr_checkout_complete", order_id="ORD-1", order_data={"total": 120.5})
        monitor.do_action("btr_payment_process_start", "paypal", 10)
        monitor.do_action("btr_payment_process_error", "paypal", "declined")
        monitor.do_action("btr_gateway_call_start", "paypal", "refund")
        monitor.do_action("btr_gateway_call_error", "paypal", "HTTP 502")
        monitor.do_action("btr_checkout_error", "payment", "card declined")
    metrics = {r[0]: (r[1], json.loads(r[2])) for r in q(
        monitor, "SELECT metric_name, component, metadata FROM metrics")}
    assert metrics["preventivi.creation_duration"] == ("preventivi", {"operation": "preventivo", "preventivo_id": "Q-17"})
    assert metrics["payment.process_duration"][1] == {"operation": "card", "payment_type": "card", "amount": 120.5,
                                                      "transaction_id": "tx-9"}
    assert metrics["gateway.call_duration"] == ("gateway", {"operation": "charge", "gateway": "stripe"})
    assert metrics["checkout.process_duration"] == ("checkout", {"operation": "checkout", "order_id": "ORD-1"})
    journey = q(monitor, "SELECT journey_step, journey_stage, conversion_funnel, drop_off FROM journey "
                         "ORDER BY timestamp, journey_step")
    assert ("quote_created", "quote_generation", "quote_to_order", False) in journey
    assert ("checkout_started", "checkout", "booking", False) in journey
    assert ("billing", "checkout", "booking", False) in journey
    assert ("payment_completed", "payment_processing", "payment_completion", False) in journey
    assert ("order_completed", "conversion", "booking", False) in journey
    assert ("payment", "checkout", "booking", True) in journey  # the checkout error is a drop-off
    errors = sorted(q(monitor, "SELECT component, error_message FROM errors"))
    assert errors == [("checkout", "checkout checkout failed: card declined"),
                      ("gateway", "gateway paypal failed: HTTP 502"),
                      ("payment", "payment paypal failed: declined"),
                      ("preventivi", "preventivi preventivo failed: template missing")]
    assert len(integrations.tracker(monitor)) == 0


def test_sessions_pair_independently_and_unpaired_completion_has_no_duration(monitor):
    now = time.time()
    tracker = integrations.tracker(monitor)
    for session, started in (("A", now - 3), ("B", now - 1)):
        tracker.expand("btr_payment_process_start", {"type": "card"}, {"session_id": session}, started, None)
    a = tracker.expand("btr_payment_process_complete", {"type": "card"}, {"session_id": "A"}, now, None)
    b = tracker.expand("btr_payment_process_complete", {"type": "card"}, {"session_id": "B"}, now, None)
    c = tracker.expand("btr_payment_process_complete", {"type": "card"}, {"session_id": "C"}, now, None)
    assert a[0][1]["metric_value"] == pytest.approx(3000, abs=1)
    assert b[0][1]["metric_value"] == pytest.approx(1000, abs=1)
    assert [kind for kind, _ in c] == ["journey"] and monitor.counters.get("integration_unpaired") == 1


def test_bad_action_arguments(monitor, hook_failures, tmp_path):
    lenient = Monitor(db=tmp_path / "lenient.duckdb", strict=False)
    try:
        lenient.do_action("btr_payment_process_start")  # type missing: counted, not raised
        assert lenient.counters.get("rejected") == 1
    finally:
        lenient.close()
    monitor.do_action("btr_payment_process_start", amount=3)  # strict: the hook fails loudly
    assert "args.type" in str(hook_failures[0][2])
    hook_failures.clear()
    with pytest.raises(integrations.models.EventError, match="name"):
        integrations.expand_action(monitor, {"kind": "action", "name": "btr_nope"}, time.time())
    with pytest.raises(integrations.models.EventError, match="args.amount"):
        integrations.expand_action(monitor, action("btr_payment_process_start", {"type": "c", "amount": "x"}), time.time())
    with pytest.raises(integrations.models.EventError, match="args.colour"):
        integrations.expand_action(monitor, action("btr_checkout_start", {"colour": 1}), time.time())


def test_timeout_sweep_records_error_and_drop_off(monitor):
    monitor.config.set("btrmon_operation_timeout", 60)
    with monitor.context(session_id="slow", user_id="u2"):
        monitor.do_action("btr_checkout_start")
    assert integrations.sweep(monitor) == 0  # not yet due
    assert integrations.sweep(monitor, now=time.time() + 61) == 2
    errors = q(monitor, "SELECT error_type, component, error_message, user_id FROM errors")
    assert errors[0][:2] == ("exception", "checkout") and errors[0][2].startswith("OperationTimeout: checkout")
    assert errors[0][3] == "u2"
    journey = q(monitor, "SELECT journey_step, drop_off FROM journey ORDER BY timestamp")
    assert journey == [("checkout_started", False), ("checkout_timeout", True)]
    assert "btrmon.integrations:jobs" in JOB_PROVIDERS
    assert [job.id for job in integrations.jobs(monitor)] == ["integration_timeouts"]


# -- HTTP -------------------------------------------------------------------------------
FAMILIES = [
    ("btr_calculator_start", {"operation": "price"}, "btr_calculator_complete", {"operation": "price", "result": 5},
     "btr_calculator_error", {"operation": "price", "error_message": "bad input"}, "calculator.operation_duration"),
    ("btr_preventivo_creation_start", {}, "btr_preventivo_creation_complete", {"preventivo_id": "Q1"},
     "btr_preventivo_creation_error", {"error": "no template"}, "preventivi.creation_duration"),
    ("btr_payment_process_start", {"type": "card", "amount": 50}, "btr_payment_process_complete",
     {"type": "card", "amount": 50, "transaction_id": "t1"}, "btr_payment_process_error",
     {"type": "card", "error_message": "declined"}, "payment.process_duration"),
    ("btr_gateway_call_start", {"gateway": "stripe", "operation": "charge"}, "btr_gateway_call_complete",
     {"gateway": "stripe", "operation": "charge", "response": {"ok": True}}, "btr_gateway_call_error",
     {"gateway": "stripe", "error_message": "timeout"}, "gateway.call_duration"),
    ("btr_checkout_start", None, "btr_checkout_complete", {"order_id": "O1"}, "btr_checkout_error",
     {"step": "payment", "error_message": "declined"}, "checkout.process_duration"),
]


@pytest.mark.parametrize("start, start_args, complete, complete_args, error, error_args, metric", FAMILIES)
def test_every_family_across_separate_http_requests(monitor, api_server, api_key, start, start_args,
                                                    complete, complete_args, error, error_args, metric):
    t0 = time.time() - 10
    assert post(api_server, api_key, [action(start, start_args, ts=t0)])["rejected"] == []
    body = post(api_server, api_key, [action(complete, complete_args, ts=t0 + 2.5)])
    assert body["rejected"] == [] and body["accepted"] >= 1
    value = monitor.db.query(f"SELECT metric_value FROM metrics WHERE metric_name = '{metric}'")
    assert value == [(2500.0,)]
    post(api_server, api_key, [action(start, start_args, session="S2", ts=t0)])
    post(api_server, api_key, [action(error, error_args, session="S2", ts=t0 + 1)])
    assert monitor.db.query("SELECT count(*) FROM errors WHERE error_level = 'error'") == [(1,)]
    assert len(integrations.tracker(monitor)) == 0


def test_http_rejects_bad_actions_by_index(monitor, api_server, api_key):
    body = post(api_server, api_key, [
        action("btr_checkout_start"),
        {"kind": "action", "name": "btr_unknown"},
        action("btr_payment_process_start", {"amount": 5}),
        action("btr_checkout_step", {"step": "x"}, colour="red"),
    ])
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3]
    assert body["rejected"][0]["error"].startswith("name:")
    assert body["rejected"][1]["error"].startswith("args.type:")
    assert body["rejected"][2]["error"].startswith("colour:")
    assert body["accepted"] == 1


def test_http_retry_of_an_action_is_deduplicated(monitor, api_server, api_key):
    t0 = time.time() - 5
    post(api_server, api_key, [action("btr_payment_process_start", {"type": "card"}, ts=t0, event_id="start-1")])
    done = action("btr_payment_process_complete", {"type": "card"}, ts=t0 + 1, event_id="done-1")
    first = post(api_server, api_key, [done])
    again = post(api_server, api_key, [done])
    assert first["accepted"] == 2 and again == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert monitor.db.query("SELECT count(*), min(metric_value) FROM metrics") == [(1, 1000.0)]


def test_http_timeout_is_swept_lazily_on_the_next_action(monitor, api_server, api_key):
    monitor.config.set("btrmon_operation_timeout", 30)
    post(api_server, api_key, [action("btr_gateway_call_start", {"gateway": "g", "operation": "op"},
                                      session="gone", ts=time.time() - 120)])
    post(api_server, api_key, [action("btr_checkout_start", session="other")])
    assert monitor.flush(10)
    assert monitor.db.query("SELECT component, error_message LIKE 'OperationTimeout: gateway g:op%' FROM errors") == [
        ("gateway", True)]
    assert monitor.db.query("SELECT journey_step, drop_off FROM journey WHERE drop_off") == [("gateway_timeout", True)]
