"""Live traffic over HTTP against the real API server on 127.0.0.1."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
import requests

from btrmon.cli import CommandContext, run_argv
from btrmon.simulate import SimulateError, SimulateStats, simulate
from btrmon.store import utcnow
from tests.conftest import wait_for


def _stored(monitor) -> dict[str, int]:
    return {t: monitor.db.query(f"SELECT count(*) FROM {t}")[0][0] for t in ("metrics", "errors", "journey", "health")}


def test_simulated_traffic_lands(monitor, api_server, api_key):
    lines: list[str] = []
    stats = simulate(api_server.url, api_key, rate=300, duration=2, seed=7, say=lines.append, report_every=0.5)
    assert stats.sent > 0 and stats.batches > 0
    assert stats.rejected == 0 and stats.duplicates == 0
    assert stats.accepted == stats.sent
    stored = _stored(monitor)
    assert sum(stored.values()) == stats.accepted
    assert stored["metrics"] > 0 and stored["journey"] > 0
    components = {r[0] for r in monitor.db.query("SELECT DISTINCT component FROM health")}
    assert {"database", "memory", "disk_space", "external_services"} <= components
    # stamped with the time they were sent: the real-time panels see them
    recent = utcnow() - timedelta(minutes=10)
    assert monitor.db.query('SELECT count(*) FROM metrics WHERE "timestamp" < ?', [recent])[0][0] == 0
    assert any(line.startswith("sent ") for line in lines)


def test_simulate_backs_off_on_429_and_then_delivers(monitor, api_server, api_key):
    monitor.config.set("btrmon_rate_limit_per_key", 1)  # a bucket of 2 requests, refilled 1/s
    auth = {"Authorization": f"Bearer {api_key}"}
    lines: list[str] = []
    stats = SimulateStats()
    stop = threading.Event()
    drained: list[int] = []

    def drain() -> None:  # keeps the key's bucket empty until simulate was told to wait
        while not stop.is_set() and stats.retries < 1:
            drained.append(requests.post(f"{api_server.url}/api/v1/events", json=[], headers=auth,
                                         timeout=10).status_code)

    drainer = threading.Thread(target=drain)
    drainer.start()
    wait_for(lambda: 429 in drained, timeout=30)
    runner = threading.Thread(target=simulate, args=(api_server.url, api_key),
                              kwargs={"rate": 40, "seed": 3, "stop": stop, "say": lines.append, "stats": stats})
    runner.start()
    try:
        wait_for(lambda: stats.retries >= 1 and stats.accepted > 0, timeout=60)
    finally:
        stop.set()
        runner.join(30)
        drainer.join(30)
    assert not runner.is_alive() and not drainer.is_alive()
    assert any("HTTP 429" in line for line in lines)
    assert sum(_stored(monitor).values()) == stats.accepted


def test_simulate_with_unknown_key_fails_clearly(api_server):
    with pytest.raises(SimulateError, match="401"):
        simulate(api_server.url, "not-a-key", rate=10, duration=5, say=lambda line: None)
    with pytest.raises(ValueError, match="rate"):
        simulate(api_server.url, "k", rate=0)


def test_simulate_command(monitor, api_server, api_key, tmp_path):
    out = io.StringIO()
    # simulate never opens a database: the context gets a path nobody created
    ctx = CommandContext(db_path=str(tmp_path / "unused.duckdb"), out=out)
    code = run_argv(["simulate", "--url", api_server.url, "--key", api_key, "--rate", "100",
                     "--duration", "1", "--seed", "2"], ctx)
    assert code == 0, out.getvalue()
    assert "done: sent" in out.getvalue()
    assert not (tmp_path / "unused.duckdb").exists()
    assert sum(_stored(monitor).values()) > 0
    assert run_argv(["simulate", "--url", api_server.url, "--key", "bad", "--duration", "1"], ctx) == 1
    assert "HTTP 401" in out.getvalue()
