"""The scheduler: one per database file (monitors, processes, the debug reloader); jobs recorded."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

from btrmon import scheduler
from btrmon.monitor import Monitor
from btrmon.scheduler import JobSpec
from tests.conftest import wait_for

_PROBE = "import sys; from btrmon.scheduler import acquire_lock; print(acquire_lock(sys.argv[1]) is not None)"


def _other_process_gets_lock(db_path: str) -> bool:
    out = subprocess.run([sys.executable, "-c", _PROBE, db_path], capture_output=True, text=True, timeout=60,
                         cwd=str(scheduler.__file__).rsplit("/btrmon/", 1)[0])
    assert out.returncode == 0, out.stderr
    return out.stdout.strip() == "True"


def test_one_scheduler_per_file_across_monitors_and_processes(monitor, tmp_path):
    monitor.start()
    assert monitor.scheduler is not None and monitor.scheduler.running
    second = Monitor(db=monitor.db.path)
    try:
        second.start()
        assert second.scheduler is None  # the same file: no second scheduler
    finally:
        second.close()
    assert _other_process_gets_lock(monitor.db.path) is False
    monitor.scheduler.shutdown()
    monitor.scheduler = None
    assert _other_process_gets_lock(monitor.db.path) is True  # released on shutdown


def test_jobs_use_max_instances_1_and_coalesce(monitor):
    monitor.start()
    jobs = monitor.scheduler.scheduler.get_jobs()
    assert {"health.run", "maintenance.retention", "selfmetrics.record"} <= {j.id for j in jobs}
    for job in jobs:
        assert job.max_instances == 1 and job.coalesce is True


def test_debug_reloader_parent_starts_no_scheduler(monitor, monkeypatch):
    monkeypatch.setenv("BTRMON_RELOADER", "1")
    monkeypatch.delenv("WERKZEUG_RUN_MAIN", raising=False)
    monitor.start()
    assert monitor.scheduler is None
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")  # the serving child
    monitor.start()
    assert monitor.scheduler is not None and monitor.scheduler.running


def failing_jobs(monitor) -> list[JobSpec]:
    """A provider whose job always fails (used below)."""

    def explode():
        raise RuntimeError("boom")

    return [JobSpec("test.explode", explode, seconds=3600)]


def _run_now(monitor, job_id: str) -> None:
    monitor.scheduler.scheduler.get_job(job_id).modify(next_run_time=datetime.now(timezone.utc))


def test_job_runs_durations_and_failures_are_recorded(monitor, monkeypatch):
    monkeypatch.setattr(scheduler, "JOB_PROVIDERS", [*scheduler.JOB_PROVIDERS, "tests.test_scheduler:failing_jobs"])
    monitor.start()
    _run_now(monitor, "selfmetrics.record")
    _run_now(monitor, "test.explode")
    stats = monitor.scheduler.stats
    wait_for(lambda: stats["selfmetrics.record"].runs >= 1 and stats["test.explode"].runs >= 1, timeout=60)
    assert stats["test.explode"].failures == 1 and "boom" in stats["test.explode"].last_error
    assert stats["selfmetrics.record"].failures == 0
    monitor.flush()
    expected = {("job_failures", "test.explode"), ("job_duration_ms", "selfmetrics.record")}

    def job_rows() -> set:  # stats count a run just before its self-metric is queued: poll for both
        monitor.flush()
        return set(monitor.db.query(
            "SELECT metric_name, metadata->>'job' FROM metrics WHERE component = 'btrmon' AND metric_type = 'btrmon'"
            " AND metric_name IN ('job_duration_ms', 'job_failures')"))

    wait_for(lambda: expected <= job_rows(), timeout=60)
    names = {r[0] for r in monitor.db.query("SELECT metric_name FROM metrics WHERE component = 'btrmon'")}
    assert {"events_accepted_per_minute", "queue_depth"} <= names


def test_changing_the_health_interval_reschedules_the_job(monitor):
    monitor.start()
    monitor.config.set("btrmon_health_interval", 42)
    job = monitor.scheduler.scheduler.get_job("health.run")
    assert job.trigger.interval.total_seconds() == 42
    assert monitor.scheduler.stats["health.run"].interval == 42


_RELOADER_APP = r'''
import os, sys
from werkzeug.serving import run_simple
from btrmon.scheduler import reloader_parent

os.environ["BTRMON_RELOADER"] = "1"
db = sys.argv[1]
if os.environ.get("WERKZEUG_RUN_MAIN") == "true":
    from btrmon.monitor import Monitor
    monitor = Monitor(db=db)
    monitor.start()
    print("child scheduler", monitor.scheduler is not None and monitor.scheduler.running, flush=True)
else:
    print("parent is reloader parent", reloader_parent(), flush=True)
run_simple("127.0.0.1", 0, lambda env, start: [], use_reloader=True, reloader_type="stat")
'''


def test_real_debug_reloader_runs_exactly_one_scheduler(tmp_path):
    import os
    import signal

    script = tmp_path / "app.py"
    script.write_text(_RELOADER_APP)
    root = str(scheduler.__file__).rsplit("/btrmon/", 1)[0]
    env = {**os.environ, "PYTHONPATH": root}
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path / "r.duckdb")], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, start_new_session=True)
    try:
        lines = [proc.stdout.readline().strip(), proc.stdout.readline().strip()]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    assert sorted(lines) == ["child scheduler True", "parent is reloader parent True"]
