"""Snapshots and notebook access: another process reads while this one writes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from btrmon import notebook
from btrmon.cli import CommandContext, run_argv
from btrmon.monitor import Monitor
from btrmon.snapshot import jobs, last_snapshot_age, refresh_if_changed, snapshot_dir, take_snapshot
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parent.parent

READER = """
import json, sys, duckdb
from btrmon import notebook
path = sys.argv[1]
try:
    duckdb.connect(path, read_only=True)
    live_locked = False
except duckdb.IOException:
    live_locked = True
con = notebook.connect(path)
source = con.execute("SELECT source FROM btrmon_source").fetchall()[0][0]
con.close()
frame = notebook.read("metrics", since="7d", db_path=path)
print(json.dumps({"live_locked": live_locked, "source": source, "rows": len(frame),
                  "names": sorted(set(frame["metric_name"]))}))
"""


def _metrics(n: int, start: int = 0, name: str = "request_duration") -> list[tuple[str, dict]]:
    now = time.time()
    return [("metric", {"metric_type": "performance", "metric_name": name, "metric_value": float(i),
                        "metric_unit": "ms", "session_id": f"s{i % 7}", "timestamp": now - 60 + i * 1e-4})
            for i in range(start, start + n)]


def _write(monitor, events) -> None:
    rows, rejected, _ = monitor.prepare(events)
    assert not rejected
    monitor.submit(rows).wait(30)


def _read_in_other_process(db_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", READER, str(db_path)], capture_output=True, text=True,
                          timeout=120, env=env, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_second_process_reads_snapshot_while_writer_writes(monitor):
    db_path = Path(monitor.db.path)
    _write(monitor, _metrics(500))
    meta = take_snapshot(monitor)
    assert meta["rows"]["metrics"] == 500
    stop = threading.Event()
    written = []

    def keep_writing() -> None:
        start = 10_000
        while not stop.is_set():
            _write(monitor, _metrics(200, start, name="ajax_duration"))
            written.append(200)
            start += 200

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        wait_for(lambda: written, timeout=30)
        seen = _read_in_other_process(db_path)
    finally:
        stop.set()
        writer.join(30)
    assert seen == {"live_locked": True, "source": "snapshot", "rows": 500, "names": ["request_duration"]}
    assert written, "the writer kept committing while the other process read"

    # the next snapshot carries what was written meanwhile
    take_snapshot(monitor)
    later = _read_in_other_process(db_path)
    assert later["rows"] == 500 + sum(written)
    assert later["names"] == ["ajax_duration", "request_duration"]


LOOP_READER = """
import sys
from btrmon import notebook
counts = []
for _ in range(int(sys.argv[2])):
    counts.append(len(notebook.read("metrics", since=None, db_path=sys.argv[1])))
print(" ".join(map(str, counts)))
"""


def test_reads_in_another_process_while_the_snapshot_is_refreshed(monitor):
    db_path = Path(monitor.db.path)
    _write(monitor, _metrics(100))
    taken = [take_snapshot(monitor)["rows"]["metrics"]]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    reader = subprocess.Popen([sys.executable, "-c", LOOP_READER, str(db_path), "40"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
    try:
        start = 1000
        while reader.poll() is None:  # keep writing and replacing the snapshot while it reads
            _write(monitor, _metrics(50, start))
            start += 50
            taken.append(take_snapshot(monitor)["rows"]["metrics"])
        out, err = reader.communicate(timeout=120)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait(30)
    assert reader.returncode == 0, err
    counts = [int(c) for c in out.split()]
    assert len(counts) == 40 and counts == sorted(counts)  # never a half-written or older file
    assert set(counts) <= set(taken)


def test_connect_falls_back_to_read_only_file_when_no_process_holds_it(tmp_path):
    path = tmp_path / "closed.duckdb"
    m = Monitor(db=path)
    try:
        _write(m, _metrics(30))
        take_snapshot(m)
        _write(m, _metrics(12, 100))  # newer than the snapshot
    finally:
        m.close()
    con = notebook.connect(path)
    try:
        assert con.execute("SELECT source FROM btrmon_source").fetchall()[0][0] == "database"
        assert con.execute("SELECT count(*) FROM metrics").fetchall()[0][0] == 42
        assert con.execute("SELECT count(*) FROM errors").fetchall()[0][0] == 0
    finally:
        con.close()
    # read() closes its connection: the file can be opened read-write again right away
    assert len(notebook.read("metrics", since="1h", db_path=path)) == 42
    Monitor(db=path).close()


def test_connect_without_database_or_snapshot_explains(tmp_path):
    with pytest.raises(FileNotFoundError, match="no snapshot"):
        notebook.connect(tmp_path / "missing.duckdb")
    with pytest.raises(ValueError, match="table"):
        notebook.read("users", db_path=tmp_path / "missing.duckdb")


def test_since_periods():
    now = datetime(2026, 1, 2, 12, 0, 0)
    assert notebook.since_cutoff("1h", now) == now - timedelta(hours=1)
    assert notebook.since_cutoff("6h", now) == now - timedelta(hours=6)
    assert notebook.since_cutoff("24h", now) == now - timedelta(hours=24)
    assert notebook.since_cutoff("7d", now) == now - timedelta(days=7)
    assert notebook.since_cutoff(3, now) == now - timedelta(hours=3)
    assert notebook.since_cutoff(None, now) is None
    aware = datetime(2026, 1, 2, 13, 0, tzinfo=timezone(timedelta(hours=1)))
    assert notebook.since_cutoff(aware, now) == datetime(2026, 1, 2, 12, 0)
    for bad in ("yesterday", "-1h", True, -2):
        with pytest.raises(ValueError, match="since"):
            notebook.since_cutoff(bad, now)


def test_read_filters_by_since(tmp_path):
    path = tmp_path / "since.duckdb"
    m = Monitor(db=path)
    try:
        now = time.time()
        _write(m, [("metric", {"metric_type": "performance", "metric_name": "request_duration",
                               "metric_value": 1.0, "timestamp": now - hours * 3600})
                   for hours in (0.5, 3, 12, 48, 150)])
    finally:
        m.close()
    assert [len(notebook.read("metrics", since=s, db_path=path)) for s in ("1h", "6h", "24h", "7d", None)] == [1, 2, 3, 5, 5]


def test_periodic_job_skips_unchanged_data_and_records_age(monitor):
    assert last_snapshot_age(monitor.db.path) is None
    (job,) = jobs(monitor)
    assert job.id == "snapshot" and job.seconds == 60
    _write(monitor, _metrics(5))
    assert job.func() is True
    age = last_snapshot_age(monitor.db.path)
    assert age is not None and 0 <= age < 60
    assert refresh_if_changed(monitor) is False  # nothing committed since
    _write(monitor, _metrics(5, 50))
    assert refresh_if_changed(monitor) is True
    assert json.loads((snapshot_dir(monitor.db.path) / "_meta.json").read_text())["rows"]["metrics"] == 10
    assert not list(snapshot_dir(monitor.db.path).glob("*.tmp*"))
    monitor.config.set("btrmon_snapshot_interval", 0)
    assert jobs(monitor) == []


def test_snapshot_command_runs_on_the_live_monitor(monitor):
    _write(monitor, _metrics(7))
    out = io.StringIO()
    ctx = CommandContext(db_path=monitor.db.path, out=out, monitor_factory=lambda: monitor, forwarded=True)
    assert run_argv(["snapshot"], ctx) == 0
    assert "metrics 7" in out.getvalue()
    assert (snapshot_dir(monitor.db.path) / "metrics.parquet").exists()


def test_generations_are_kept_a_while_then_removed(monitor, monkeypatch):
    import pandas as pd

    import btrmon.snapshot as snapshot

    directory = snapshot_dir(monitor.db.path)
    for start in range(0, 40, 10):
        _write(monitor, _metrics(10, start))
        take_snapshot(monitor)
    assert len(list(directory.glob("metrics.*.parquet"))) == 4  # younger than KEEP_SECONDS: all kept
    monkeypatch.setattr(snapshot, "KEEP_SECONDS", 0)
    meta = take_snapshot(monitor)
    kept = sorted(p.name for p in directory.glob("metrics.*.parquet"))
    assert len(kept) == snapshot.KEEP_GENERATIONS and meta["files"]["metrics"] in kept
    # the stable name is the newest generation, for tools that open a file once
    assert len(pd.read_parquet(directory / "metrics.parquet")) == meta["rows"]["metrics"] == 40
