"""The real server as a subprocess, killed with SIGKILL under load: nothing acknowledged is lost."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import duckdb
import orjson
import requests

from btrmon.keys import create_key
from btrmon.monitor import Monitor
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db: Path, port: int, key: str) -> subprocess.Popen:
    """``python -m btrmon serve`` in a subprocess, returned once it answers."""
    env = {**os.environ, "BTRMON_LOG_LEVEL": "WARNING", "BTRMON_SNAPSHOT_INTERVAL": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "btrmon", "serve", "--db", str(db), "--port", str(port), "--threads", "8"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )

    def ready() -> bool:
        assert proc.poll() is None, proc.stderr.read().decode()
        try:
            return requests.get(f"http://127.0.0.1:{port}/api/v1/stats", headers={"X-API-Key": key},
                                timeout=2).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(ready, timeout=60, interval=0.1)
    return proc


def test_sigkill_mid_load_loses_no_acknowledged_event(tmp_path):
    db = tmp_path / "btrmon.duckdb"
    setup = Monitor(db=db)
    key = create_key(setup, "durability")
    setup.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/v1/events"
    server = start_server(db, port, key)

    acked: list[str] = []
    unacked: list[list[dict]] = []
    lock = threading.Lock()
    enough = threading.Event()
    stop = threading.Event()

    def client(n: int) -> None:
        session = requests.Session()
        while not stop.is_set():
            batch = [{"kind": "metric", "metric_type": "performance", "metric_name": "request_duration",
                      "metric_value": float(i), "event_id": str(uuid.uuid4()), "session_id": f"c{n}"}
                     for i in range(50)]
            try:
                response = session.post(url, data=orjson.dumps(batch), timeout=10,
                                        headers={"Content-Type": "application/json", "X-API-Key": key})
            except requests.RequestException:
                with lock:
                    unacked.append(batch)
                return
            with lock:
                if response.status_code == 200 and response.json()["accepted"] == 50:
                    acked.extend(e["event_id"] for e in batch)
                    if len(acked) >= 3000:
                        enough.set()
                else:
                    unacked.append(batch)

    clients = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for t in clients:
        t.start()
    assert enough.wait(120), "clients did not get 3000 events acknowledged"
    server.send_signal(signal.SIGKILL)  # mid-load: requests are in flight
    server.wait(10)
    stop.set()
    for t in clients:
        t.join(30)

    # Restart: the WAL replays; a retried in-flight batch is stored once.
    server = start_server(db, port, key)
    try:
        for batch in unacked:
            answer = requests.post(url, data=orjson.dumps(batch), timeout=30,
                                   headers={"Content-Type": "application/json", "X-API-Key": key}).json()
            assert answer["accepted"] + answer["duplicates"] == 50
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)

    con = duckdb.connect(str(db), read_only=True)
    stored = dict(con.execute("SELECT event_id::VARCHAR, count(*) FROM metrics GROUP BY ALL").fetchall())
    con.close()
    assert len(acked) >= 3000
    assert all(stored.get(event_id) == 1 for event_id in acked)
    retried = [e["event_id"] for batch in unacked for e in batch]
    assert all(stored.get(event_id) == 1 for event_id in retried)
    assert len(stored) == len(set(acked) | set(retried))
