"""Starting while another process holds the database file: serve degraded, spool, then switch.

Every time a monitor opens its file it saves ``<db>.fallback.json`` (mode 0600): the
``options`` and ``api_keys`` rows (key *hashes*, never keys). When the file is held by
another process at start and the caller asked to wait (``Monitor(wait_for_database=True)``
or ``BTRMON_WAIT_FOR_DB=1``), the monitor runs on a ``StandInDatabase``: an in-memory
database with the schema and those rows, so settings and API keys work, ingestion
authenticates and accepts; the writer refuses to write to it, so every accepted
event goes to the spool. A ``Reopener`` thread retries the real file every few
seconds; once it opens, the writer is re-attached, settings are reloaded and the
spool is replayed (each event once).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import orjson

from btrmon.store import Database, DatabaseDamaged, DatabaseLocked

log = logging.getLogger(__name__)

REOPEN_INTERVAL = 2.0


def fallback_path(db_path: str) -> Path:
    """``<db>.fallback.json`` beside the database file."""
    return Path(str(db_path) + ".fallback.json")


def save_fallback(monitor) -> None:
    """Write the options and API key rows the stand-in needs (atomic, 0600). Never raises."""
    try:
        options = monitor.db.query("SELECT name, value::VARCHAR, updated_at::VARCHAR FROM options")
        keys = monitor.db.query("SELECT key_id, name, key_hash, created_at::VARCHAR, revoked_at::VARCHAR, "
                                "last_used_at::VARCHAR FROM api_keys")
        path = fallback_path(monitor.db.path)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(orjson.dumps({"options": options, "api_keys": keys}))
        os.replace(tmp, path)
    except Exception as exc:  # noqa: BLE001 - a missing fallback only matters on a later locked start
        log.warning("could not save the database fallback copy: %s", exc)


class StandInDatabase(Database):
    """An in-memory database with the schema plus the saved options and API keys; never written."""

    def __init__(self, path: str, fallback: dict, reason: str) -> None:
        super().__init__(":memory:")
        self.path = str(path)
        self.stand_in = True
        self.reason = reason
        cur = self.con.cursor()
        for row in fallback.get("options", []):
            cur.execute("INSERT INTO options VALUES (?, ?::JSON, ?::TIMESTAMP)", row)
        for row in fallback.get("api_keys", []):
            cur.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?::TIMESTAMP, ?::TIMESTAMP, ?::TIMESTAMP)", row)
        cur.close()

    def unavailable(self) -> Exception:
        """The error every write gets (the writer spools the events)."""
        return DatabaseLocked(self.reason)

    def checkpoint(self) -> None:
        """Nothing to fold in."""


def open_database(path: str, wait: bool) -> Database:
    """The real database, or (``wait`` and a fallback copy exists) a stand-in while it is held."""
    try:
        return Database(path)
    except DatabaseLocked as exc:
        fallback = fallback_path(path)
        if not wait or not fallback.exists():
            raise
        log.warning("%s is held by another process: serving degraded (events are spooled) until it "
                    "can be opened", path)
        return StandInDatabase(path, orjson.loads(fallback.read_bytes()), f"{path} is held by another process: {exc}")


def attach(monitor) -> None:
    """After construction: save the fallback copy, or start waiting for the real file."""
    if getattr(monitor.db, "stand_in", False):
        monitor.spool.note_failure(monitor.db.reason)
        monitor._reopener = Reopener(monitor)
    else:
        save_fallback(monitor)


class Reopener:
    """Retries the real file every ``REOPEN_INTERVAL`` seconds and switches the monitor to it."""

    def __init__(self, monitor, interval: float = REOPEN_INTERVAL) -> None:
        self.monitor = monitor
        self.interval = interval
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="btrmon-reopen", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        monitor = self.monitor
        while not self._stop.wait(self.interval):
            try:
                real = Database(monitor.db.path)
            except (DatabaseLocked, DatabaseDamaged):
                continue
            if self._stop.is_set():
                real.close()
                return
            stand_in = monitor.db
            monitor.writer.reattach(real)
            monitor.db = real
            monitor.config.reload()
            stand_in.close()
            save_fallback(monitor)
            log.info("%s opened: leaving degraded mode, replaying the spool", real.path)
            monitor.spool.note_success()
            return

    def stop(self) -> None:
        """Stop retrying."""
        self._stop.set()
        if self.thread is not threading.current_thread():
            self.thread.join(5)
