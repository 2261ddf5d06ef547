"""Automatic instrumentation on real servers: WSGI middleware, Flask, DB-API, logging, excepthooks."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import flask
import pytest
import requests

from btrmon import Monitor
from btrmon.instrument.dbapi import connect, strip_literals
from btrmon.instrument.logs import install_excepthooks, install_logging
from btrmon.instrument.wsgi import BtrmonMiddleware, instrument_flask, rss_bytes
from tests.conftest import wait_for


class Boom(Exception):
    """The app's own exception."""


def make_app(monitor):
    def app(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/boom":
            raise Boom("kaput")
        monitor.record_metric("business", "inside_request", 1)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]
    return app


def requests_done(m: Monitor, n: int) -> None:
    """Wait until ``n`` requests are recorded: servers close the response after the client has it."""
    def count():
        m.flush(10)
        return m.db.query("SELECT count(*) FROM metrics WHERE metric_name = 'request_duration'")[0][0] >= n
    wait_for(count, timeout=30)


def metrics(m: Monitor, n: int = 1) -> list[tuple]:
    requests_done(m, n)
    return m.db.query("SELECT metric_name, metric_unit, request_uri, user_agent FROM metrics ORDER BY metric_name")


def test_plain_wsgi_app_records_request_metrics_and_context(monitor, serve_wsgi):
    server = serve_wsgi(BtrmonMiddleware(make_app(monitor), monitor))
    response = requests.get(f"{server.url}/pacchetti/?page=2", headers={"User-Agent": "pytest-UA"}, timeout=10)
    assert response.text == "hello"
    got = metrics(monitor)
    assert [r[0] for r in got] == ["inside_request", "memory_growth", "peak_memory", "request_duration"]
    assert {r[2] for r in got} == {"/pacchetti/?page=2"} and {r[3] for r in got} == {"pytest-UA"}
    assert dict((r[0], r[1]) for r in got)["peak_memory"] == "MB"
    peak = monitor.db.query("SELECT metric_value FROM metrics WHERE metric_name = 'peak_memory'")[0][0]
    assert 1 < peak < 100_000 and rss_bytes() > 0


def test_unhandled_exception_recorded_and_reraised_unchanged(monitor, serve_wsgi):
    middleware = BtrmonMiddleware(make_app(monitor), monitor)
    with pytest.raises(Boom) as raised:
        middleware({"PATH_INFO": "/boom", "REQUEST_METHOD": "GET"}, lambda *a: None)
    assert str(raised.value) == "kaput"
    server = serve_wsgi(middleware)
    assert requests.get(f"{server.url}/boom", timeout=10).status_code == 500
    requests_done(monitor, 2)
    rows = monitor.db.query("SELECT error_type, error_level, error_message, stack_trace, request_uri FROM errors")
    assert len(rows) == 2
    for error_type, level, message, stack, uri in rows:
        assert (error_type, level, message, uri) == ("exception", "critical", "Boom: kaput", "/boom")
        assert 'raise Boom("kaput")' in stack
    assert monitor.db.query("SELECT count(*) FROM metrics WHERE metric_name = 'request_duration'") == [(2,)]


@pytest.mark.parametrize("headers", [{"X-Requested-With": "XMLHttpRequest"}, {"X-Btrmon-Ajax": "1"}])
def test_ajax_requests(monitor, serve_wsgi, headers):
    server = serve_wsgi(BtrmonMiddleware(make_app(monitor), monitor))
    requests.get(f"{server.url}/ok", headers=headers, timeout=10)
    assert requests.get(f"{server.url}/boom", headers=headers, timeout=10).status_code == 500
    requests_done(monitor, 2)
    assert monitor.db.query("SELECT count(*) FROM metrics WHERE metric_name = 'ajax_duration'") == [(2,)]
    assert monitor.db.query("SELECT error_type FROM errors") == [("ajax_error",)]


def test_streamed_body_is_timed_until_closed_and_sees_the_context(monitor, serve_wsgi):
    def streaming(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body():
            yield b"part1"
            monitor.record_metric("business", "during_body", 1)
            yield b"part2"
        return body()

    server = serve_wsgi(BtrmonMiddleware(streaming, monitor, session_id=lambda env: env.get("HTTP_X_SESSION")))
    assert requests.get(f"{server.url}/s", headers={"X-Session": "abc"}, timeout=10).text == "part1part2"
    requests_done(monitor, 1)
    rows = monitor.db.query("SELECT request_uri, session_id IS NOT NULL FROM metrics WHERE metric_name = 'during_body'")
    assert rows == [("/s", True)]


def test_flask_app(monitor, serve_wsgi):
    app = flask.Flask("shop")

    @app.get("/cart")
    def cart():
        monitor.record_metric("business", "cart_view", 1)
        return "cart"

    @app.get("/fail")
    def fail():
        raise Boom("view failed")

    server = serve_wsgi(instrument_flask(app, monitor, component="shop"))
    assert requests.get(f"{server.url}/cart", timeout=10).text == "cart"
    assert requests.get(f"{server.url}/fail", headers={"X-Requested-With": "XMLHttpRequest"}, timeout=10).status_code == 500
    got = metrics(monitor, 2)
    assert [r[0] for r in got].count("request_duration") == 2 and ("cart_view", None, "/cart", got[0][3]) in got
    errors = monitor.db.query("SELECT error_type, error_level, error_message, component, stack_trace FROM errors")
    assert errors[0][:4] == ("ajax_error", "critical", "Boom: view failed", "shop")
    assert 'raise Boom("view failed")' in errors[0][4]


def test_failing_session_lookup_never_breaks_the_request(monitor, serve_wsgi):
    def broken_lookup(environ):
        raise KeyError("no session cookie")

    server = serve_wsgi(BtrmonMiddleware(make_app(monitor), monitor, session_id=broken_lookup))
    assert requests.get(f"{server.url}/ok", timeout=10).text == "hello"
    requests_done(monitor, 1)


def test_app_unaffected_when_monitor_database_fails(tmp_path, serve_wsgi):
    lenient = Monitor(db=tmp_path / "broken.duckdb", strict=False)
    try:
        lenient.writer._con.close()
        server = serve_wsgi(BtrmonMiddleware(make_app(lenient), lenient))
        for _ in range(5):
            assert requests.get(f"{server.url}/ok", timeout=10).text == "hello"
    finally:
        lenient.close()


# -- slow queries ---------------------------------------------------------------------------
def test_strip_literals():
    sql = "SELECT * FROM users2 WHERE name = 'o''brien' AND id IN (1, 2, 3) AND score > -4.5e3 LIMIT 10"
    assert strip_literals(sql) == "SELECT * FROM users2 WHERE name = ? AND id IN (?) AND score > ? LIMIT ?"
    mysql = r"SELECT 'it\'s secret' FROM t WHERE p = $1 AND col_2 = x'ff' -- token 42"
    assert strip_literals(mysql) == "SELECT ? FROM t WHERE p = $1 AND col_2 = ?"
    assert strip_literals(r"SELECT 'C:\' AS dir") == "SELECT ? AS dir"  # standard SQL: \ is no escape
    postgres = "SELECT $$dollar secret$$, $q$x$q$ /* user 'bob' */ FROM t WHERE a = E'esc'"
    assert strip_literals(postgres) == "SELECT ?, ? FROM t WHERE a = ?"


def test_dbapi_wrapper_on_sqlite(monitor, tmp_path):
    con = connect(sqlite3.connect(tmp_path / "app.db"), monitor, threshold_ms=0)
    con.execute("CREATE TABLE t (name TEXT, n INTEGER)")
    con.executemany("INSERT INTO t VALUES (?, ?)", [("a", 1), ("b", 2)])
    cur = con.cursor()
    assert cur.execute("SELECT n FROM t WHERE name = 'b' AND n > 1").fetchall() == [(2,)]
    with pytest.raises(sqlite3.OperationalError):
        cur.execute("SELECT * FROM missing_table")
    con.commit()
    monitor.flush(10)
    rows = monitor.db.query("SELECT metric_name, component, metadata->>'statement' FROM metrics ORDER BY timestamp")
    assert [r[2] for r in rows] == ["CREATE TABLE t (name TEXT, n INTEGER)", "INSERT INTO t VALUES (?, ?)",
                                    "SELECT n FROM t WHERE name = ? AND n > ?", "SELECT * FROM missing_table"]
    assert {(r[0], r[1]) for r in rows} == {("slow_query", "database")}


def test_dbapi_threshold_comes_from_settings(monitor, tmp_path):
    con = connect(sqlite3.connect(tmp_path / "app.db"), monitor)
    con.execute("SELECT 1")  # far below the default 100 ms
    monitor.config.set("btrmon_slow_query_ms", 0)
    con.execute("SELECT 2")
    monitor.flush(10)
    assert monitor.db.query("SELECT metadata->>'statement' FROM metrics") == [("SELECT ?",)]


def test_sqlalchemy_listener(monitor):
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from btrmon.instrument.sqlalchemy import instrument_engine

    engine = sqlalchemy.create_engine("sqlite://")
    instrument_engine(engine, monitor, threshold_ms=0)
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text("SELECT 'secret' AS s, 42 AS n")).fetchall()
        with pytest.raises(sqlalchemy.exc.OperationalError):  # the driver's error reaches the app unchanged
            conn.execute(sqlalchemy.text("SELECT * FROM missing WHERE pin = '1234'"))
    monitor.flush(10)
    statements = {r[0] for r in monitor.db.query("SELECT metadata->>'statement' FROM metrics")}
    assert {"SELECT ? AS s, ? AS n", "SELECT * FROM missing WHERE pin = ?"} <= statements
    assert not any("secret" in s or "1234" in s for s in statements)


# -- logging and excepthooks ------------------------------------------------------------------
def test_logging_handler_maps_levels(monitor):
    logger = logging.getLogger("shop.payments")
    handler = install_logging(monitor, logger)
    try:
        logger.info("not recorded")
        logger.warning("gateway slow: %d ms", 900)
        logger.critical("gateway down")
        try:
            {}["missing"]
        except KeyError:
            logger.exception("lookup failed")
        logging.getLogger("btrmon.test").error("ignored: btrmon's own logs never loop back")
        on_own_thread = threading.Thread(target=lambda: logger.error("ignored: logged on a btrmon thread"),
                                         name="btrmon-sender")
        on_own_thread.start()
        on_own_thread.join()
    finally:
        logger.removeHandler(handler)
    monitor.flush(10)
    rows = monitor.db.query("SELECT error_type, error_level, error_message, component, stack_trace IS NOT NULL "
                            "FROM errors ORDER BY timestamp")
    assert rows == [("php_error", "warning", "gateway slow: 900 ms", "shop.payments", False),
                    ("php_error", "critical", "gateway down", "shop.payments", False),
                    ("exception", "error", "lookup failed", "shop.payments", True)]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_threading_excepthook(monitor):
    uninstall = install_excepthooks(monitor, component="worker")
    try:
        thread = threading.Thread(target=lambda: 1 / 0)
        thread.start()
        thread.join()
    finally:
        uninstall()
    monitor.flush(10)
    assert monitor.db.query("SELECT error_type, error_level, error_message, component FROM errors") == [
        ("exception", "critical", "ZeroDivisionError: division by zero", "worker")]


def test_sys_excepthook_records_fatal_error(tmp_path):
    db = tmp_path / "fatal.duckdb"
    code = (f"from btrmon import Monitor\nfrom btrmon.instrument.logs import install_excepthooks\n"
            f"m = Monitor(db={str(db)!r})\ninstall_excepthooks(m)\nraise RuntimeError('fatal boot failure')\n")
    done = subprocess.run([sys.executable, "-c", code], timeout=120, capture_output=True,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 1 and b"fatal boot failure" in done.stderr  # the default hook still ran
    m = Monitor(db=db)
    try:
        assert m.db.query("SELECT error_type, error_level, error_message FROM errors") == [
            ("wp_die", "critical", "RuntimeError: fatal boot failure")]
    finally:
        m.close()
