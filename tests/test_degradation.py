"""Graceful degradation: the database cannot be written, accepted events are spooled, then replayed once.

How the failure is made real: the database lives on a small tmpfs (mounted by the
test; root is needed, otherwise the test is skipped) which is then filled up, so
DuckDB's commits really fail with "No space left on device". ``chmod`` cannot be
used (root writes anyway) and DuckDB's file lock is per process (our process holds
it), so a full disk is the honest way to make a live server's commits fail. The
spool is on another filesystem (``btrmon_spool_dir``), as it should be in production
when the data disk can fill up.
"""

from __future__ import annotations

import os
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
import requests

from btrmon.keys import create_key
from btrmon.monitor import Monitor
from btrmon.server import create_flask
from tests.conftest import wait_for


@pytest.fixture
def small_disk(tmp_path):
    """A 8 MB tmpfs mounted under tmp_path (skips without the right to mount)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(directory: Path) -> Path:
    """Fill the filesystem of ``directory`` until ENOSPC; returns the filler file."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError:
        pass
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass
    os.close(fd)
    return filler


@pytest.fixture
def degraded_setup(small_disk, tmp_path, monkeypatch, serve_wsgi):
    monkeypatch.setenv("BTRMON_SPOOL_DIR", str(tmp_path / "spool"))
    monitor = Monitor(db=small_disk / "btrmon.duckdb")
    key = create_key(monitor, "app")
    server = serve_wsgi(create_flask(monitor))
    yield monitor, server, key
    monitor.close()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _event(event_id: str) -> dict:
    return {"kind": "metric", "event_id": event_id, "metric_type": "performance",
            "metric_name": "page_load", "metric_value": 1.5, "component": "booking"}


def test_full_disk_spools_without_5xx_then_replays_each_event_once(degraded_setup, small_disk):
    monitor, server, key = degraded_setup
    url, headers = server.url + "/api/v1/events", {"Authorization": f"Bearer {key}"}
    filler = _fill(small_disk)
    sent: list[str] = []
    statuses: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        for _ in range(10):
            ids = [str(uuid.uuid4()) for _ in range(10)]
            response = requests.post(url, json=[_event(i) for i in ids], headers=headers, timeout=30)
            with lock:
                statuses.append(response.status_code)
                if response.status_code == 200 and response.json()["accepted"] == 10:
                    sent.extend(ids)

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert statuses and all(code == 200 for code in statuses), statuses
    assert len(sent) == 400
    retry = requests.post(url, json=[_event(i) for i in sent[:10]], headers=headers, timeout=30)
    assert retry.status_code == 200  # a client retry while degraded: spooled again, stored once later
    assert monitor.record_metric("performance", "python_api", 1.0, component="booking")
    monitor.flush()

    state = monitor.degraded
    assert state and "No space left" in state.reason and state.pending > 0
    # a failed commit frees its WAL pages, so a few small commits may still get through:
    # what matters is that every accepted event is either stored or spooled
    assert monitor.writer.stats.spooled_events > 0 and monitor.writer.stats.failures > 0
    # the replayer may be holding the spool renamed to *.replaying (a commit that got through woke it)
    wait_for(lambda: _size(monitor.spool.path) + _size(monitor.spool.replaying) > 0, timeout=10)
    health = requests.get(server.url + "/healthz", timeout=30)
    body = health.json()
    assert body["degraded"] is True and body["components"]["btrmon"] == "warning"
    assert body["components"]["disk_space"] == "critical" and health.status_code == 503  # the disk is full

    filler.unlink()  # space again: the replayer stores the spool on its next round
    wait_for(lambda: not monitor.degraded, timeout=60)
    stored = {r[0] for r in monitor.db.query("SELECT event_id::VARCHAR FROM metrics WHERE metric_name = 'page_load'")}
    assert stored == set(sent)  # every accepted event, once
    assert monitor.db.query("SELECT count(*) FROM metrics WHERE metric_name = 'page_load'")[0][0] == 400
    assert monitor.db.query("SELECT count(*) FROM metrics WHERE metric_name = 'python_api'")[0][0] == 1
    assert not monitor.spool.path.exists() and not monitor.spool.replaying.exists()
    assert requests.get(server.url + "/healthz", timeout=30).json()["degraded"] is False


def test_file_held_by_another_process_at_start_serves_degraded_then_replays(tmp_path, serve_wsgi):
    """A second process holds the DuckDB file when the server starts: it starts on a stand-in,
    accepts and spools, and replays once the file is released."""
    import subprocess
    import sys

    path = tmp_path / "held.duckdb"
    first = Monitor(db=path)
    key = create_key(first, "app")
    create_flask(first)  # a previous server run: the cookie secret and the fallback copy exist
    first.close()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb,sys; c=duckdb.connect(sys.argv[1]); "
                               "print('held', flush=True); sys.stdin.read(); c.close()", str(path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monitor = Monitor(db=path, wait_for_database=True)
    except BaseException:
        holder.kill()
        raise
    try:
        assert monitor.degraded and "held by another process" in monitor.degraded.reason
        server = serve_wsgi(create_flask(monitor))
        url, headers = server.url + "/api/v1/events", {"Authorization": f"Bearer {key}"}
        sent = [str(uuid.uuid4()) for _ in range(120)]
        statuses: list[tuple[int, int]] = []

        def client(batches: list[list[str]]) -> None:  # clients post concurrently while the file is held
            for ids in batches:
                response = requests.post(url, json=[_event(i) for i in ids], headers=headers, timeout=30)
                statuses.append((response.status_code, response.json().get("accepted", 0)))

        batches = [sent[i:i + 10] for i in range(0, 120, 10)]
        threads = [threading.Thread(target=client, args=(batches[n::4],)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert sorted(statuses) == [(200, 10)] * 12  # no 5xx: every event accepted (spooled)
        assert requests.post(url, json=[_event(sent[0])], headers=headers, timeout=30).status_code == 200  # a retry
        health = requests.get(server.url + "/healthz", timeout=30)
        assert health.status_code == 503 and health.json()["components"]["database"] == "critical"
        assert monitor.degraded.pending >= 120

        holder.stdin.close()  # the other process lets go of the file
        holder.wait(30)
        wait_for(lambda: not monitor.degraded, timeout=60)
        stored = {r[0] for r in monitor.db.query("SELECT event_id::VARCHAR FROM metrics")}
        assert stored == set(sent)
        more = str(uuid.uuid4())
        assert requests.post(url, json=[_event(more)], headers=headers, timeout=30).json()["accepted"] == 1
        assert monitor.db.query("SELECT count(*) FROM metrics")[0][0] == 121  # each event once
        assert monitor.writer.stats.spooled_events >= 121 and not monitor.spool.path.exists()
    finally:
        monitor.close()
        if holder.poll() is None:
            holder.kill()


def test_spool_left_by_a_crashed_run_is_replayed_at_the_next_start(tmp_path):
    """Events spooled by a run that died before replaying are stored by the next start, once;
    a torn last line (crash mid-write) is set aside, not lost silently and not fatal."""
    path = tmp_path / "crash.duckdb"
    first = Monitor(db=path)
    ids = [str(uuid.uuid4()) for _ in range(5)]
    rows, rejected, _ = first.prepare([("metric", {k: v for k, v in _event(i).items() if k != "kind"}) for i in ids])
    assert not rejected
    first.spool.append(rows)
    first.spool.append(rows)  # spooled twice (a retried request): still stored once
    spool_path = first.spool.path
    first.spool.close()  # the replayer never ran: as if the process had died here
    first.writer.close()
    first.db.close()
    with open(spool_path, "ab") as fh:
        fh.write(b'{"t": "metrics", "rows": [["torn')
    second = Monitor(db=path)
    try:
        wait_for(lambda: not second.degraded, timeout=60)
        stored = {r[0] for r in second.db.query("SELECT event_id::VARCHAR FROM metrics")}
        assert stored == set(ids)
        assert not spool_path.exists()
        assert Path(str(spool_path) + ".damaged").read_bytes().startswith(b'{"t": "metrics", "rows": [["torn')
    finally:
        second.close()
