"""Exports: JSON, CSV (+zip), PDF, the HTTP endpoint, the CLI, and the scheduled e-mail report."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time
import zipfile

import pandas as pd
import pytest

from btrmon.exports import iter_export
from btrmon.exports.csv_export import neutralise
from btrmon.exports.data import ExportRequest, open_export
from btrmon.exports.summary import executive_summary

NASTY = ["=HYPERLINK(\"http://evil\")", "+1+2", "-3+cmd", "@SUM(A1)", "\tlead tab", "\rcarriage"]


def _events(now: float) -> list[tuple[str, dict]]:
    events = []
    for i in range(40):  # inside the last hour
        events.append(("metric", {"metric_type": "performance", "metric_name": "request_duration",
                                  "metric_value": 100.0 + i * 10, "metric_unit": "ms", "component": "checkout",
                                  "request_uri": f"/book/{i % 4}", "session_id": f"s{i % 7}",
                                  "metadata": {"città": "Roma ☀"}, "timestamp": now - 60 * i}))
    for i, text in enumerate(NASTY):
        events.append(("metric", {"metric_type": "business", "metric_name": "note", "metric_value": i,
                                  "component": text, "timestamp": now - 30}))
    for i in range(5):  # outside the last hour (2-3 hours ago)
        events.append(("metric", {"metric_type": "performance", "metric_name": "request_duration",
                                  "metric_value": 9999.0, "timestamp": now - 7200 - 60 * i}))
    events.append(("error", {"error_type": "exception", "error_level": "critical",
                             "error_message": "Zahlung fehlgeschlagen: ☃ =1+1", "error_file": "pay.py",
                             "error_line": 42, "stack_trace": "Traceback:\n  pay.py:42\nValueError",
                             "component": "payment", "timestamp": now - 120}))
    events.append(("error", {"error_type": "php_error", "error_level": "warning", "error_message": "slow",
                             "timestamp": now - 100}))
    for s in range(6):
        stages = ["initialization", "checkout", "conversion"][: 1 + s % 3]
        for stage in stages:
            events.append(("journey", {"journey_step": stage, "journey_stage": stage, "conversion_funnel": "booking",
                                       "session_id": f"j{s}", "duration_ms": 50, "timestamp": now - 200}))
    for status in ("healthy", "healthy", "warning"):
        events.append(("health", {"component": "database", "health_check": "ping", "status": status,
                                  "response_time_ms": 4, "timestamp": now - 300}))
    return events


@pytest.fixture
def filled(monitor):
    """``monitor`` with a known mix of events, some outside the last hour."""
    rows, rejected, _ = monitor.prepare(_events(time.time()))
    assert not rejected
    monitor.submit(rows).wait(10)
    return monitor


def _export(monitor, fmt: str, **kw) -> bytes:
    with open_export(monitor, ExportRequest(**kw)) as data:
        return b"".join(iter_export(data, fmt))


def _expected_ids(monitor, table: str, start, end) -> set[str]:
    rows = monitor.db.query(f'SELECT event_id::VARCHAR FROM {table} WHERE "timestamp" >= ? AND "timestamp" < ?',
                            [start, end])
    return {r[0] for r in rows}


def test_json_holds_exactly_the_rows_of_the_timeframe(filled):
    doc = json.loads(_export(filled, "json", timeframe="1h", requested_by="alice"))
    info = doc["export_info"]
    start, end = (pd.Timestamp(info[k].rstrip("Z")).to_pydatetime() for k in ("start", "end"))
    for table in ("metrics", "errors", "journey", "health"):
        assert {r["event_id"] for r in doc[table]} == _expected_ids(filled, table, start, end)
        assert info["row_counts"][table] == len(doc[table])
    assert len(doc["metrics"]) == 46  # 40 requests + 6 notes; the 5 old rows are out
    assert info["generated_by"] == "alice" and info["timeframe"] == "1h" and info["btrmon_version"]
    assert all(r["metric_value"] != 9999.0 for r in doc["metrics"])
    row = next(r for r in doc["metrics"] if r["metadata"])
    assert row["metadata"] == {"città": "Roma ☀"}  # an object, Unicode kept
    error = next(r for r in doc["errors"] if r["error_level"] == "critical")
    assert error["stack_trace"] == "Traceback:\n  pay.py:42\nValueError"
    from btrmon.queries.journey import funnel

    booking = funnel(filled.db, (start, end), "booking")
    assert [(f["stage"], f["sessions"]) for f in doc["funnels"]] == list(zip(booking["stage"], booking["sessions"]))
    assert {f["funnel"] for f in doc["funnels"]} == {"booking"}


def test_json_is_pretty_and_keeps_unicode(filled):
    raw = _export(filled, "json", timeframe="24h")
    assert "☃".encode() in raw and b"\\u2603" not in raw
    assert raw.startswith(b'{\n  "export_info": {\n    "generated_at"')


def test_summary_matches_the_query_layer(filled):
    from btrmon.queries.errors import error_summary
    from btrmon.queries.performance import performance_summary

    doc = json.loads(_export(filled, "json", timeframe="24h"))
    start, end = (pd.Timestamp(doc["export_info"][k].rstrip("Z")).to_pydatetime() for k in ("start", "end"))
    perf, errs = performance_summary(filled.db, (start, end)), error_summary(filled.db, (start, end))
    summary = doc["summary"]
    assert summary["requests"] == perf["requests"] == 45
    assert summary["p95_response_ms"] == perf["p95_ms"]
    assert summary["avg_response_ms"] == perf["avg_ms"]
    assert summary["error_rate_pct"] == errs["error_rate_pct"] and summary["critical_errors"] == 1
    assert summary["conversion_by_funnel"]["booking"] == pytest.approx(100 * 2 / 6, abs=0.1)


def _csv_sections(raw: bytes) -> dict[str, list[list[str]]]:
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    sections: dict[str, list[list[str]]] = {}
    current = None
    for row in csv.reader(io.StringIO(text, newline="")):
        if not row:
            current = None
        elif current is None:
            current = row[0].split("]")[0].lstrip("[")
            sections[current] = []
        else:
            sections[current].append(row)
    return sections


def test_csv_multi_section_reads_back_with_csv_and_pandas(filled):
    raw = _export(filled, "csv", timeframe="1h")
    assert b"\r\n" in raw and raw.count(b"\n") == raw.count(b"\r\n") + raw.count(b"pay.py:42\nValueError") * 2
    sections = _csv_sections(raw)
    assert list(sections) == ["export_info", "summary", "metrics", "errors", "journey", "funnels", "health", "alerts", "alert_events", "deliveries"]
    doc = json.loads(_export(filled, "json", timeframe="1h"))
    for table in ("metrics", "errors", "journey", "health"):
        header, *rows = sections[table]
        assert header == list(doc[table][0].keys())
        assert {r[header.index("event_id")] for r in rows} == {r["event_id"] for r in doc[table]}
    # pandas reads one section as a table with the same rows
    text = raw.decode("utf-8-sig").replace("\r\n", "\n")
    start = text.index("[errors]")
    block = text[text.index("\n", start) + 1:text.index("\n\n", start)]
    frame = pd.read_csv(io.StringIO(block))
    assert len(frame) == len(doc["errors"])
    assert set(frame["stack_trace"].dropna()) == {"Traceback:\n  pay.py:42\nValueError"}
    assert "'Zahlung fehlgeschlagen: ☃ =1+1" not in set(frame["error_message"])  # not at the start: unchanged


def test_csv_neutralises_formula_injection(filled):
    sections = _csv_sections(_export(filled, "csv", timeframe="1h"))
    header, *rows = sections["metrics"]
    components = {r[header.index("component")] for r in rows}
    for text in NASTY:
        assert "'" + text in components and text not in components
    assert neutralise("-5") == "'-5" and neutralise("safe") == "safe"
    values = {r[header.index("metric_value")] for r in rows}
    assert "0" in values or "0.0" in values  # numbers are numbers, not neutralised text


def test_zip_has_one_csv_per_section(filled):
    archive = zipfile.ZipFile(io.BytesIO(_export(filled, "zip", timeframe="1h")))
    assert archive.namelist() == ["export_info.csv", "summary.csv", "metrics.csv", "errors.csv", "journey.csv",
                                  "funnels.csv", "health.csv", "alerts.csv",
                                  "alert_events.csv", "deliveries.csv"]
    metrics = pd.read_csv(io.BytesIO(archive.read("metrics.csv")), encoding="utf-8-sig")
    assert len(metrics) == 46


def test_filters_narrow_the_rows(filled):
    doc = json.loads(_export(filled, "json", timeframe="1h", filters={"level": "critical", "component": "payment"}))
    assert [e["error_level"] for e in doc["errors"]] == ["critical"]
    assert doc["metrics"] == [] and doc["export_info"]["filters"] == {"level": ["critical"], "component": ["payment"]}
    other = json.loads(_export(filled, "json", timeframe="1h", filters={"funnel": "quote_to_order"}))
    assert other["funnels"] == [] and other["journey"] == []
    booking = json.loads(_export(filled, "json", timeframe="1h", filters={"funnel": ["booking"]}))
    assert {f["funnel"] for f in booking["funnels"]} == {"booking"} and len(booking["journey"]) == 12
    with pytest.raises(ValueError, match="colour: unknown filter"):
        _export(filled, "json", filters={"colour": "red"})


def test_export_filter_hook_changes_the_data(filled):
    def drop_health(data, timeframe):
        data.sections.pop("health")
        data.info["audited_for"] = timeframe
        return data

    filled.hooks.add_filter("btr_monitor_export_data", drop_health)
    doc = json.loads(_export(filled, "json", timeframe="6h"))
    assert "health" not in doc and doc["export_info"]["audited_for"] == "6h"
    assert "health" not in doc["export_info"]["row_counts"]


def test_empty_timeframe_says_so(monitor):
    doc = json.loads(_export(monitor, "json", timeframe="1h"))
    assert "No data" in doc["export_info"]["note"] and doc["metrics"] == []
    assert b"No data" in _export(monitor, "csv", timeframe="1h")
    from pypdf import PdfReader

    pdf = PdfReader(io.BytesIO(_export(monitor, "pdf", timeframe="1h")))
    assert "No data was recorded" in "".join(p.extract_text() for p in pdf.pages)


def test_pdf_report(filled, tmp_path):
    from pypdf import PdfReader

    filled.config.set("btrmon_report_title", "Weekly ops review")
    filled.config.set("btrmon_brand_name", "Alpine Tours")
    raw = _export(filled, "pdf", timeframe="24h")
    reader = PdfReader(io.BytesIO(raw))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Weekly ops review" in text and "Alpine Tours" in text
    summary = json.loads(_export(filled, "json", timeframe="24h"))["summary"]
    assert f"{summary['requests']:,}" in text
    assert f"{round(summary['p95_response_ms']):,} ms" in text
    assert f"{summary['error_rate_pct']:,.2f} %" in text
    assert "Top errors" in text and "Zahlung fehlgeschlagen" in text and "Health history" in text
    assert f"page 2 of {len(reader.pages)}" in text
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 3  # response time, errors, funnel, health charts
    path = tmp_path / "r.pdf"
    path.write_bytes(raw)
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")],
                   check=True, timeout=60)
    png = next(tmp_path.glob("page*.png")).read_bytes()
    assert png.startswith(b"\x89PNG")


def test_bad_parameters_name_the_field(filled):
    with pytest.raises(ValueError, match="timeframe"):
        open_export(filled, ExportRequest(timeframe="2w"))
    with pytest.raises(ValueError, match="start"):
        open_export(filled, ExportRequest(start="yesterday"))
    with pytest.raises(ValueError, match="format"):
        with open_export(filled, ExportRequest()) as data:
            iter_export(data, "xlsx")


def test_custom_range(filled):
    from btrmon.store import utcnow
    from datetime import timedelta

    end = utcnow() - timedelta(minutes=90)
    doc = json.loads(_export(filled, "json", start=(end - timedelta(hours=2)).isoformat() + "Z", end=end.isoformat()))
    assert doc["export_info"]["timeframe"] == "custom"
    assert len(doc["metrics"]) == 5 and {m["metric_value"] for m in doc["metrics"]} == {9999.0}


def test_summary_without_data_is_none_not_crash(monitor):
    from btrmon.store import utcnow
    from datetime import timedelta

    summary = executive_summary(monitor, utcnow() - timedelta(hours=1), utcnow())
    assert summary["requests"] == 0 and summary["health"]["overall"] == "unknown"


def test_http_export_streams_with_auth(filled, api_server, api_key):
    import requests

    url = api_server.url + "/api/v1/export"
    assert requests.get(url, params={"format": "csv"}, timeout=30).status_code == 401
    auth = {"Authorization": f"Bearer {api_key}"}
    bad = requests.get(url, params={"format": "xlsx"}, headers=auth, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"].startswith("format:")
    bad = requests.get(url, params={"timeframe": "2w"}, headers=auth, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"].startswith("timeframe:")
    bad = requests.get(url, params={"colour": "red"}, headers=auth, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"].startswith("colour:")
    ok = requests.get(url, params={"format": "json", "timeframe": "1h", "level": "critical,warning"},
                      headers=auth, timeout=60)
    assert ok.status_code == 200 and ok.headers["Content-Type"].startswith("application/json")
    assert "attachment" in ok.headers["Content-Disposition"]
    doc = ok.json()
    assert len(doc["metrics"]) == 46 and len(doc["errors"]) == 2
    assert doc["export_info"]["generated_by"] == "api key test"
    csv_response = requests.get(url, params={"format": "csv", "timeframe": "1h"}, headers=auth, timeout=60)
    assert csv_response.content.startswith(b"\xef\xbb\xbf[export_info]")
    zipped = requests.get(url, params={"format": "zip", "timeframe": "1h", "sections": "metrics,errors"},
                          headers=auth, timeout=60)
    assert zipfile.ZipFile(io.BytesIO(zipped.content)).namelist() == [
        "export_info.csv", "summary.csv", "metrics.csv", "errors.csv"]
    bad = requests.get(url, params={"sections": "metrics,secrets"}, headers=auth, timeout=30)
    assert bad.status_code == 400 and bad.json()["error"].startswith("sections:")
    pdf = requests.get(url, params={"format": "pdf", "timeframe": "24h"}, headers=auth, timeout=120)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1; ``.messages`` holds what arrived."""
    import socket
    import threading

    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.messages: list = []
            self.arrived = threading.Event()

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            self.messages.append(envelope)
            self.arrived.set()
            return "250 OK"

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


def test_scheduled_report_arrives_by_email_with_the_pdf(filled, smtp_server):
    import email
    from email import policy

    from btrmon.exports.scheduled import jobs

    config = filled.config
    config.set("btrmon_smtp_host", "127.0.0.1")
    config.set("btrmon_smtp_port", smtp_server.port)
    config.set("btrmon_smtp_security", "none")
    config.set("btrmon_report_recipients", ["ops@example.com", "boss@example.com"])
    config.set("btrmon_report_formats", ["pdf", "csv"])
    config.set("btrmon_report_schedule", "daily")
    from btrmon.scheduler import collect_jobs

    assert {"report_daily", "report_weekly"} <= {spec.id for spec in collect_jobs(filled)}
    specs = {spec.id: spec for spec in jobs(filled)}
    assert specs["report_daily"].cron == {"hour": 6, "minute": 0}
    specs["report_weekly"].func()  # not the selected schedule: sends nothing
    specs["report_daily"].func()
    assert smtp_server.arrived.wait(30)
    assert len(smtp_server.messages) == 1
    envelope = smtp_server.messages[0]
    assert sorted(envelope.rcpt_tos) == ["boss@example.com", "ops@example.com"]
    message = email.message_from_bytes(envelope.content, policy=policy.default)
    assert "daily monitoring report" in message["Subject"]
    parts = {part.get_filename(): part for part in message.iter_attachments()}
    pdf_name = next(name for name in parts if name.endswith(".pdf"))
    assert pdf_name.startswith("btrmon-24h-")
    pdf = parts[pdf_name].get_content()
    assert pdf.startswith(b"%PDF")
    from pypdf import PdfReader

    assert "Executive summary" in PdfReader(io.BytesIO(pdf)).pages[1].extract_text()
    csv_name = next(name for name in parts if name.endswith(".csv"))
    assert parts[csv_name].get_payload(decode=True).startswith(b"\xef\xbb\xbf[export_info]")
    assert "Requests: 45" in message.get_body(("plain",)).get_content()


def _browser():
    from playwright.sync_api import sync_playwright

    manager = sync_playwright().start()
    browser = manager.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"])
    return manager, browser


def test_exports_page_downloads_a_csv_with_progress(filled, app_server, tmp_path):
    from btrmon import users

    users.create_user(filled, "ana", "correct horse battery", "admin")
    manager, browser = _browser()
    try:
        page = browser.new_page(accept_downloads=True)
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(app_server.url + "/login?next=/exports")
        page.fill("#username", "ana")
        page.fill("#password", "correct horse battery")
        page.click("#login-button")
        page.wait_for_selector("#exp-generate", timeout=30000)
        page.get_by_text("CSV (one file, sections)").click()
        with page.expect_download(timeout=60000) as info:
            page.click("#exp-generate")
        download = info.value
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        assert path.name.endswith(".csv") and path.read_bytes().startswith(b"\xef\xbb\xbf[export_info]")
        sections = _csv_sections(path.read_bytes())
        assert ["generated_by", "dashboard ana"] in sections["export_info"]
        assert len(sections["metrics"]) == 1 + 45 + 6  # header + every metric of the last 24 h
        page.wait_for_selector(".export-done", timeout=30000)
        # a bad custom range is reported by field name, no download
        page.click("#exp-timeframe")
        page.get_by_text("custom", exact=True).click()
        page.click("#exp-generate")
        page.wait_for_selector(".export-error", timeout=30000)
        assert "start" in page.inner_text(".export-error")
        assert not errors, errors
    finally:
        browser.close()
        manager.stop()


def test_cli_export_writes_files_with_progress(tmp_path):
    import sys
    from pathlib import Path

    from btrmon.monitor import Monitor

    db = tmp_path / "cli.duckdb"
    m = Monitor(db=db)
    rows, _, _ = m.prepare(_events(time.time()))
    m.submit(rows).wait(10)
    m.close()
    root = Path(__file__).resolve().parent.parent

    def run(*args):
        return subprocess.run([sys.executable, "-m", "btrmon", "export", *args, "--db", str(db)], cwd=root,
                              capture_output=True, text=True, timeout=180)

    out = tmp_path / "data.csv"
    done = run("--format", "csv", "--timeframe", "1h", "--level", "critical", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("rows 68/68 (100%)") == 1 and f"wrote {out}" in done.stdout
    sections = _csv_sections(out.read_bytes())
    assert len(sections["errors"]) == 2  # header + the one critical error
    report = tmp_path / "report.pdf"
    done = run("--format", "pdf", "--timeframe", "7d", "-o", str(report))
    assert done.returncode == 0, done.stderr
    assert report.read_bytes().startswith(b"%PDF") and "report 4/4 (100%)" in done.stdout
    bad = run("--format", "pdf", "--timeframe", "2w", "-o", str(tmp_path / "x.pdf"))
    assert bad.returncode == 2 and "timeframe" in bad.stderr and not (tmp_path / "x.pdf").exists()


def test_panel_export_helpers_neutralise_and_keep_unicode():
    from btrmon.dashboard.export_button import frame_to_csv, frame_to_json

    df = pd.DataFrame({"request_uri": ["=cmd|' /C calc'!A0", "/città"], "p95_ms": [1.5, None],
                       "last_seen": pd.to_datetime(["2026-01-01 10:00:00", "2026-01-02 11:30:00"])})
    raw = frame_to_csv(df)
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    back = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    assert list(back["request_uri"]) == ["'=cmd|' /C calc'!A0", "/città"]
    assert list(back.columns) == ["request_uri", "p95_ms", "last_seen"]
    records = json.loads(frame_to_json(df))
    assert records[1] == {"request_uri": "/città", "p95_ms": None, "last_seen": "2026-01-02T11:30:00+00:00"}
    assert frame_to_csv(df.iloc[0:0]).startswith(b"\xef\xbb\xbf\"request_uri\"")


def test_small_batches_give_the_same_rows(filled):
    """Chunk boundaries (many batches, JSON slices) change nothing in the output."""
    from btrmon.exports import json_export

    whole = json.loads(_export(filled, "json", timeframe="1h"))
    with open_export(filled, ExportRequest(timeframe="1h"), batch_rows=7) as data:
        chunks = list(iter_export(data, "json"))
    original, json_export.SLICE_ROWS = json_export.SLICE_ROWS, 3
    try:
        with open_export(filled, ExportRequest(timeframe="1h"), batch_rows=7) as data:
            sliced = json.loads(b"".join(iter_export(data, "json")))
    finally:
        json_export.SLICE_ROWS = original
    assert len(chunks) > 10
    chunked = json.loads(b"".join(chunks))
    for table in ("metrics", "errors", "journey", "health"):
        assert chunked[table] == whole[table] == sliced[table]
    with open_export(filled, ExportRequest(timeframe="1h"), batch_rows=5) as data:
        small = _csv_sections(b"".join(iter_export(data, "csv")))
    assert small["metrics"] == _csv_sections(_export(filled, "csv", timeframe="1h"))["metrics"]


def test_export_is_a_snapshot_while_the_writer_commits(filled):
    """Rows committed after the export opened are not half-included: counts and rows agree."""
    with open_export(filled, ExportRequest(timeframe="1h")) as data:
        before = data.info["row_counts"]["metrics"]
        rows, _, _ = filled.prepare([("metric", {"metric_type": "performance", "metric_name": "request_duration",
                                                 "metric_value": 1.0, "timestamp": time.time() - 5})
                                     for _ in range(20)])
        filled.submit(rows).wait(10)
        doc = json.loads(b"".join(iter_export(data, "json")))
    assert len(doc["metrics"]) == before == doc["export_info"]["row_counts"]["metrics"]
    assert len(json.loads(_export(filled, "json", timeframe="1h"))["metrics"]) == before + 20


def test_cli_export_goes_through_the_running_server(filled, serve_wsgi, tmp_path):
    import sys
    from pathlib import Path

    from btrmon.server import create_flask, write_control_file

    server = serve_wsgi(create_flask(filled))
    write_control_file(filled, server.url)
    root = Path(__file__).resolve().parent.parent

    def run(*args):
        return subprocess.run([sys.executable, "-m", "btrmon", "export", *args, "--db", filled.db.path],
                              cwd=root, capture_output=True, text=True, timeout=180)

    target = tmp_path / "live.json"
    done = run("--format", "json", "--timeframe", "1h", "-o", str(target))
    assert done.returncode == 0, done.stderr + done.stdout
    assert len(json.loads(target.read_bytes())["metrics"]) == 46  # written by the server from the live file
    relative = run("--format", "json", "-o", "relative.json")
    assert relative.returncode != 0 and "absolute path" in relative.stdout + relative.stderr


def test_alert_state_changes_and_delivery_attempts_are_exported(filled):
    from datetime import timedelta

    from btrmon.store import utcnow

    now = utcnow()
    old = now - timedelta(days=3)

    def record(con):
        for at, actor in ((now, "ops@example.org"), (old, "too-old")):
            con.execute("INSERT INTO alert_events (alert_id, rule_id, occurred_at, event, from_state, to_state, "
                        "severity, actor, comment) VALUES (1, 'payment_failures', ?, 'acknowledged', 'firing', "
                        "'acknowledged', 'critical', ?, 'on it')", [at, actor])
        con.execute("INSERT INTO deliveries (delivery_id, alert_id, event, channel, target, status, attempts, "
                    "payload, created_at, updated_at) VALUES ('d1', 1, 'fired', 'webhook', 'https://hooks.example', "
                    "'delivered', 2, '{}', ?, ?)", [now, now])
        for attempt, ok, status in ((1, False, 500), (2, True, 200)):
            con.execute("INSERT INTO delivery_attempts (delivery_id, attempt, attempted_at, ok, status) "
                        "VALUES ('d1', ?, ?, ?, ?)", [attempt, now, ok, status])

    filled.writer.call(record)
    doc = json.loads(_export(filled, "json", timeframe="24h"))
    assert [(e["actor"], e["comment"]) for e in doc["alert_events"]] == [("ops@example.org", "on it")]
    assert [(d["attempt"], d["ok"], d["http_status"]) for d in doc["deliveries"]] == [(1, False, 500), (2, True, 200)]
    assert doc["export_info"]["row_counts"]["deliveries"] == 2
    text = _export(filled, "csv", timeframe="24h").decode("utf-8-sig")
    assert "Alert state changes and acknowledgements" in text and "Notification delivery attempts" in text
