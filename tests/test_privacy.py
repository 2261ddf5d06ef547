"""Secrets in metadata, URLs and text never reach the DuckDB file."""

from __future__ import annotations

import orjson
import requests

from btrmon import privacy

CARD = "4111 1111 1111 1111"
SECRETS = ["hunter2-password", "tok-abc123secret", "sk_live_zzz", "cookie-value-xyz", "Bearer-qqq-auth"]


def test_secrets_never_reach_the_file(api_server, api_key, monitor):
    events = [
        {"kind": "metric", "metric_type": "performance", "metric_name": "request_duration", "metric_value": 1,
         "request_uri": f"/pay?token={SECRETS[1]}&amount=10&api_key={SECRETS[2]}",
         "metadata": {"password": SECRETS[0], "nested": {"Authorization": SECRETS[4]},
                      "list": [{"cookie": SECRETS[3]}], "note": f"card {CARD}"}},
        {"kind": "error", "error_type": "exception", "error_level": "error",
         "error_message": f"charge failed for card {CARD.replace(' ', '')}", "stack_trace": f"at pay({CARD})",
         "request_uri": f"/checkout?session_id=abc&password={SECRETS[0]}"},
        {"kind": "journey", "journey_step": "pay", "journey_stage": "payment_processing",
         "step_data": {"card_number": CARD, "secret": SECRETS[1]}, "referrer": f"https://x.org/?auth={SECRETS[4]}",
         "session_id": "raw-session-id-123"},
        {"kind": "health", "component": "gateway", "status": "healthy", "metadata": {"api-key": SECRETS[2]}},
    ]
    answer = requests.post(api_server.url + "/api/v1/events", data=orjson.dumps(events), timeout=30,
                           headers={"Content-Type": "application/json", "X-API-Key": api_key}).json()
    assert answer["accepted"] == 4
    monitor.writer.call(lambda con: con.execute("CHECKPOINT"))
    raw = open(monitor.db.path, "rb").read()
    wal = monitor.db.path + ".wal"
    import os

    if os.path.exists(wal):
        raw += open(wal, "rb").read()
    for secret in SECRETS + [CARD, CARD.replace(" ", ""), "raw-session-id-123"]:
        assert secret.encode() not in raw, secret
    uri = monitor.db.query("SELECT request_uri FROM metrics")[0][0]
    assert uri == "/pay?token=[redacted]&amount=10&api_key=[redacted]"
    message = monitor.db.query("SELECT error_message FROM errors")[0][0]
    assert message == "charge failed for card ************1111"
    metadata = orjson.loads(monitor.db.query("SELECT metadata FROM metrics")[0][0])
    assert metadata["password"] == privacy.REDACTED and metadata["nested"]["Authorization"] == privacy.REDACTED
    assert metadata["note"] == "card ************1111"


def test_urls_are_truncated_to_the_documented_length():
    assert len(privacy.clean_url("/x/" + "a" * 2000)) == privacy.MAX_URL_LENGTH
    assert privacy.clean_url("/plain/path") == "/plain/path"
    assert privacy.clean_url("/p?lang=it&page=2") == "/p?lang=it&page=2"


def test_card_masking_needs_a_valid_luhn_number():
    assert privacy.mask_cards("order 1234567890123 shipped") == "order 1234567890123 shipped"
    assert privacy.mask_cards("card 5500-0000-0000-0004 used") == "card ************0004 used"


def test_session_hash_is_stable_and_keyed():
    a, b = privacy.SessionHasher("one"), privacy.SessionHasher("two")
    assert a("s") == a("s") and a("s") != b("s") and len(a("s")) == 32
