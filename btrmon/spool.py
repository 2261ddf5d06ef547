"""The fallback spool: accepted events that could not be committed, kept on disk until replayed.

When a commit fails (disk full, file read-only, damaged, locked), the writer hands
the rows to ``Spool.append``: one JSON line per table, fsynced before the ticket
resolves (so the 2xx ingestion answers is still a promise kept). A replayer thread
retries every ``interval`` seconds, and at once after any commit succeeds: it
renames the spool to ``*.replaying``, submits it in chunks through the writer
(``INSERT OR IGNORE`` on ``event_id`` stores each event once, even if a crash
replays a file twice) and deletes it. ``state()`` tells /healthz and the
dashboard whether btrmon is degraded and why.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

log = logging.getLogger(__name__)

REPLAY_CHUNK_EVENTS = 5000
REPLAY_WAIT = 60.0


@dataclass(frozen=True)
class DegradedState:
    """Whether events are being spooled instead of stored, and why. True when degraded."""

    active: bool
    reason: str | None = None
    since: float | None = None
    pending: int = 0
    spool_error: str | None = None

    def __bool__(self) -> bool:
        return self.active

    @property
    def critical(self) -> bool:
        """True when even the spool cannot be written: accepted events would be lost."""
        return self.spool_error is not None

    def as_dict(self) -> dict:
        """A JSON-friendly view (no paths, no secrets)."""
        return {"degraded": self.active, "reason": self.reason, "since": self.since,
                "pending_events": self.pending, "spool_error": self.spool_error}


def default_spool_path(db_path: str, directory: str | None = None) -> Path:
    """``<directory or data dir/spool>/<db file name>.spool.jsonl``."""
    base = Path(directory) if directory else Path(db_path).resolve().parent / "spool"
    return base / (Path(db_path).name + ".spool.jsonl")


class Spool:
    """An append-only JSON-lines file of rows waiting for the database."""

    def __init__(self, path: str | os.PathLike, interval: float = 5.0) -> None:
        self.path = Path(path)
        self.replaying = self.path.with_name(self.path.name + ".replaying")
        self.interval = interval
        self._lock = threading.Lock()
        self._pending = _count_rows(self.path) + _count_rows(self.replaying)
        self._failing_since: float | None = time.time() if self._pending else None
        self._reason: str | None = "events spooled by an earlier run" if self._pending else None
        self._spool_error: str | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.replayed = 0

    # -- called by the writer ---------------------------------------------------------
    def append(self, rows: dict[str, list[tuple]]) -> None:
        """Write ``rows`` durably (fsync) or raise."""
        lines = b"".join(orjson.dumps({"t": table, "rows": [list(r) for r in batch]}) + b"\n"
                         for table, batch in rows.items() if batch)
        count = sum(len(batch) for batch in rows.values())
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, lines)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                self._spool_error = f"spool not writable: {exc.strerror or exc}"
                raise
            self._spool_error = None
            self._pending += count
        self._ensure_thread()

    def note_failure(self, reason: str) -> None:
        """A commit failed: remember why (shown by /healthz)."""
        with self._lock:
            if self._failing_since is None:
                self._failing_since = time.time()
            self._reason = reason[:300]

    def note_success(self, _rows=None) -> None:
        """A commit succeeded: replay now if anything waits (an ``on_commit`` listener)."""
        if self._pending or self._files_left():
            self._wake.set()
        elif self._failing_since is not None:
            with self._lock:
                if not self._pending:
                    self._failing_since, self._reason = None, None

    def _files_left(self) -> bool:
        """True while a spool file waits (the pending count can drift after a failed replay; files cannot)."""
        return self.path.exists() or self.replaying.exists()

    # -- state ----------------------------------------------------------------------
    def state(self) -> DegradedState:
        """The current degraded state."""
        with self._lock:
            active = self._failing_since is not None or self._pending > 0 or self._spool_error is not None
            return DegradedState(active, self._reason, self._failing_since, self._pending, self._spool_error)

    # -- replay ---------------------------------------------------------------------
    def start(self, writer) -> None:
        """Remember the writer to replay into; the thread starts when something is pending."""
        self._writer = writer
        writer.on_commit(self.note_success)
        if self._pending:
            self._ensure_thread()

    def _ensure_thread(self) -> None:
        if getattr(self, "_writer", None) is None or self._stop.is_set():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="btrmon-spool-replay", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.replay()
            except Exception:  # noqa: BLE001 - retried on the next round
                log.exception("spool replay failed")
            with self._lock:
                if not self._pending and not self._files_left() and self._spool_error is None:
                    self._failing_since, self._reason = None, None
                    self._thread = None
                    return

    def replay(self) -> int:
        """Submit every spooled row through the writer; returns how many were committed (new)."""
        writer = self._writer
        with self._lock:
            if self.path.exists() and not self.replaying.exists():
                os.replace(self.path, self.replaying)
        if not self.replaying.exists():
            return 0
        stored = 0
        with open(self.replaying, "rb") as fh:
            lines = fh.readlines()
        index = 0
        while index < len(lines):
            chunk, events, end = {}, 0, index
            while end < len(lines) and events < REPLAY_CHUNK_EVENTS:
                try:
                    record = orjson.loads(lines[end])
                    chunk.setdefault(record["t"], []).extend(tuple(r) for r in record["rows"])
                    events += len(record["rows"])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    self._set_aside(lines[end])
                end += 1
            result = writer.submit(chunk).wait(REPLAY_WAIT) if chunk else None
            if result is not None and result.spooled:  # still failing: the writer re-spooled this chunk
                with self._lock:
                    self._pending = max(0, self._pending - events)  # append counted them again
                self._keep(lines[end:])
                break
            stored += result.accepted if result is not None else 0
            with self._lock:
                self._pending = max(0, self._pending - events)
            index = end
        self.replaying.unlink(missing_ok=True)
        self.replayed += stored
        if stored:
            log.info("spool replay stored %d events", stored)
        return stored

    def _set_aside(self, line: bytes) -> None:
        """A line that cannot be parsed (torn write) is kept in ``*.damaged``, never dropped silently."""
        log.warning("spool: a damaged line was set aside in %s.damaged", self.path.name)
        with open(str(self.path) + ".damaged", "ab") as fh:
            fh.write(line if line.endswith(b"\n") else line + b"\n")

    def _keep(self, lines: list[bytes]) -> None:
        if not lines:
            return
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, b"".join(lines))
                os.fsync(fd)
            finally:
                os.close(fd)

    def close(self) -> None:
        """Stop the replayer (what is pending stays on disk for the next start)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)


def _count_rows(path: Path) -> int:
    if not path.exists():
        return 0
    total = 0
    with open(path, "rb") as fh:
        for line in fh:
            try:
                total += len(orjson.loads(line)["rows"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                log.warning("skipping a damaged line in %s", path)
    return total
