"""Shared fixtures: real DuckDB files in tmp_path, a real server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from typing import Callable

import pytest
from werkzeug.serving import make_server

from btrmon.monitor import Monitor


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02):
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes (then fail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        time.sleep(interval)  # polling interval of a deadline loop, not synchronisation


@pytest.fixture
def monitor(tmp_path):
    """An embedded Monitor on a fresh DuckDB file, strict (bad arguments raise)."""
    m = Monitor(db=tmp_path / "btrmon.duckdb", strict=True)
    yield m
    m.close()


class LiveServer:
    """A WSGI app served by werkzeug on 127.0.0.1 in a thread (``port`` 0: a free one; give a
    port to serve again where a stopped server was)."""

    def __init__(self, wsgi_app, port: int = 0) -> None:
        self.httpd = make_server("127.0.0.1", port, wsgi_app, threaded=True)
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop serving, free the port and wait for the thread."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def serve_wsgi():
    """Factory: ``serve_wsgi(app) -> LiveServer``; stopped at teardown."""
    servers: list[LiveServer] = []

    def start(wsgi_app) -> LiveServer:
        server = LiveServer(wsgi_app)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def api_server(monitor, serve_wsgi):
    """The Flask API of ``monitor`` on 127.0.0.1 (no dashboard)."""
    from btrmon.server import create_flask

    return serve_wsgi(create_flask(monitor))


@pytest.fixture
def app_server(monitor, serve_wsgi):
    """The whole app (API + Dash dashboard) of ``monitor`` on 127.0.0.1."""
    from btrmon.server import create_app

    return serve_wsgi(create_app(monitor).server)


@pytest.fixture
def api_key(monitor) -> str:
    """A fresh ingest API key of ``monitor``."""
    from btrmon.keys import create_key

    return create_key(monitor, "test")


@pytest.fixture(autouse=True)
def hook_failures():
    """Fails the test when a hook callback failed (btrmon.hooks swallows such failures).

    A test that expects failures asks for this fixture, checks the list and clears it.
    """
    from btrmon import hooks

    failures: list[tuple[str, object, BaseException]] = []
    observer = lambda name, fn, exc: failures.append((name, fn, exc))  # noqa: E731
    hooks.FAILURE_OBSERVERS.append(observer)
    yield failures
    hooks.FAILURE_OBSERVERS.remove(observer)
    if failures:
        name, fn, exc = failures[0]
        pytest.fail(f"{len(failures)} hook callback failure(s); first: {name} -> {fn!r}: {exc!r}")
