"""Background exports for the dashboard: run in a thread, report progress, hand over a file.

``export_jobs(monitor).start(request, fmt)`` returns a job id at once; the page
polls ``status(job_id)`` (done/total/state) and, when finished, sends the file.
Files go to a temporary directory and are deleted when taken or after
``KEEP_SECONDS``. At most ``MAX_RUNNING`` exports run at once per monitor.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field

from btrmon.exports import filename, write_export
from btrmon.exports.data import ExportRequest, open_export

log = logging.getLogger(__name__)

MAX_RUNNING = 2
KEEP_SECONDS = 3600


@dataclass
class ExportJob:
    """One background export and its progress."""

    id: str
    fmt: str
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    path: str = ""
    filename: str = ""
    size: int = 0
    error: str = ""
    note: str = ""
    started: float = field(default_factory=time.time)

    def as_dict(self) -> dict:
        """What the page needs to show (no file path)."""
        return {"id": self.id, "fmt": self.fmt, "state": self.state, "done": self.done, "total": self.total,
                "filename": self.filename, "size": self.size, "error": self.error, "note": self.note}


class ExportJobs:
    """The background exports of one monitor."""

    def __init__(self, monitor) -> None:
        self.monitor = monitor
        self.directory = tempfile.mkdtemp(prefix="btrmon-exports-")
        self._jobs: dict[str, ExportJob] = {}
        self._lock = threading.Lock()
        atexit.register(self.close)

    def start(self, request: ExportRequest, fmt: str) -> str:
        """Validate ``request`` (ValueError names the field) and start the export; returns the job id."""
        self._expire()
        with self._lock:
            if sum(j.state == "running" for j in self._jobs.values()) >= MAX_RUNNING:
                raise ValueError(f"exports: {MAX_RUNNING} exports are already running; try again when one ends")
        data = open_export(self.monitor, request)  # bad input fails here, in the caller
        job = ExportJob(id=secrets.token_urlsafe(12), fmt=fmt)
        job.filename = filename(data, fmt)
        job.path = os.path.join(self.directory, job.id + "-" + job.filename)
        job.note = data.info.get("note", "")
        with self._lock:
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, data), name=f"btrmon-export-{job.id}", daemon=True).start()
        return job.id

    def _run(self, job: ExportJob, data) -> None:
        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        try:
            with data, open(job.path, "wb") as out:
                job.size = write_export(data, job.fmt, out, progress)
            job.done = job.total = max(job.total, 1)
            job.state = "done"
        except Exception as exc:  # noqa: BLE001 - shown on the page, logged
            log.exception("background export %s failed", job.id)
            job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"

    def status(self, job_id: str) -> dict | None:
        """The job's progress as a dict, or None when unknown."""
        job = self._jobs.get(job_id)
        return job.as_dict() if job else None

    def file_of(self, job_id: str) -> tuple[str, str] | None:
        """``(path, download name)`` of a finished job, or None."""
        job = self._jobs.get(job_id)
        return (job.path, job.filename) if job and job.state == "done" else None

    def forget(self, job_id: str) -> None:
        """Drop a job and delete its file."""
        with self._lock:
            job = self._jobs.pop(job_id, None)
        if job and job.path:
            try:
                os.unlink(job.path)
            except OSError:
                pass

    def _expire(self) -> None:
        cutoff = time.time() - KEEP_SECONDS
        for job_id in [j.id for j in list(self._jobs.values()) if j.started < cutoff and j.state != "running"]:
            self.forget(job_id)

    def close(self) -> None:
        """Delete every file."""
        shutil.rmtree(self.directory, ignore_errors=True)


def export_jobs(monitor) -> ExportJobs:
    """The monitor's background export registry (created on first use)."""
    return monitor.part("export_jobs", ExportJobs)
