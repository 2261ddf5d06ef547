"""``Monitor``: the one owner object (store, writer, config, hooks, scheduler).

Embedded (``Monitor(db=path)``): events are validated, scrubbed, sampled and handed
to the writer of a local DuckDB file; the server and the app itself use this.
Remote (``Monitor(url=..., api_key=...)``): events are sent to a btrmon server.
The public Python API (the seed's "Metodi API Pubblici") is the same for both.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections import Counter

from btrmon import models
from btrmon.config import Config
from btrmon.store import Database, default_db_path
from btrmon.writer import QueueFull, Rows, Writer

log = logging.getLogger(__name__)

_TYPE_SWITCH = {
    "metrics": "btr_monitor_performance",
    "errors": "btr_monitor_errors",
    "journey": "btr_monitor_journey",
    "health": "btr_monitor_health",
}


class Counters:
    """Thread-safe named counters (accepted, rejected, dropped:<reason>...)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter = Counter()

    def add(self, name: str, n: int = 1) -> None:
        """Add ``n`` to counter ``name``."""
        if n:
            with self._lock:
                self._counts[name] += n

    def get(self, name: str) -> int:
        """The value of counter ``name``."""
        return self._counts.get(name, 0)

    def snapshot(self) -> dict[str, int]:
        """A copy of every counter."""
        with self._lock:
            return dict(self._counts)


class Monitor:
    """Owns the database, the writer, the settings, the hooks and the scheduler."""

    _instance: "Monitor | None" = None
    _instance_lock = threading.Lock()

    def __init__(
        self,
        db: str | os.PathLike | None = None,
        url: str | None = None,
        api_key: str | None = None,
        strict: bool | None = None,
        database: Database | None = None,
    ) -> None:
        self.counters = Counters()
        self.strict = _env_flag("BTRMON_STRICT") if strict is None else strict
        self.url, self.api_key = url, api_key
        self.db: Database | None = None
        self.writer: Writer | None = None
        self.scheduler = None
        self.started_at = time.time()
        if url:
            self.config = Config()
            self.normalizer = models.EventNormalizer("remote-validation-only")
        else:
            self.db = database or Database(db or default_db_path())
            self.config = Config(self.db.load_options, self._save_option)
            self.writer = Writer(self.db, max_events=self.config["btrmon_queue_max_events"])
            self.normalizer = models.EventNormalizer(self._session_secret())
        self._init_extensions()

    # -- construction helpers ----------------------------------------------------------
    @classmethod
    def get_instance(cls) -> "Monitor":
        """The process-wide monitor: ``BTRMON_URL``+``BTRMON_API_KEY`` (remote) or ``BTRMON_DB``."""
        with cls._instance_lock:
            if cls._instance is None:
                url = os.environ.get("BTRMON_URL")
                if url:
                    cls._instance = cls(url=url, api_key=os.environ.get("BTRMON_API_KEY"))
                else:
                    cls._instance = cls(db=default_db_path())
            return cls._instance

    def _init_extensions(self) -> None:
        """Hook point for the parts built on the core (hooks, client, integrations)."""

    def _save_option(self, name: str, value) -> None:
        assert self.writer is not None and self.db is not None
        self.writer.call(lambda con: self.db.save_option_sql(con, name, value))

    def _session_secret(self) -> str:
        secret = self.config["btrmon_session_secret"]
        if not secret:
            secret = secrets.token_hex(32)
            self.config.set("btrmon_session_secret", secret)
        return secret

    @property
    def embedded(self) -> bool:
        """True when this monitor writes a local database file."""
        return self.db is not None

    @property
    def enabled(self) -> bool:
        """The master switch ``btr_monitor_enabled`` (emergency disable)."""
        return bool(self.config["btr_monitor_enabled"])

    # -- the ingestion core (HTTP and Python API share it) -------------------------------
    def drop_reason(self, table: str, row: tuple) -> str | None:
        """Why a valid row is not stored (type disabled, sampled out), or None to keep it."""
        if not self.config[_TYPE_SWITCH[table]]:
            return f"{models.TABLE_KIND[table]}_disabled"
        rate = self.config["btr_monitor_sample_rate"]
        if rate >= 100 or models.is_critical_error(table, row):
            return None
        from btrmon.privacy import sample_bucket

        key = row[1] if table != "health" and row[1] else row[0].replace("-", "")
        return None if sample_bucket(key) < rate else "sampled_out"

    def prepare(self, events: list[tuple[str, dict]], now: float | None = None):
        """Validate and filter ``(kind, event)`` pairs.

        Returns ``(rows, rejected, dropped)``: rows by table, ``[(index, message)]``
        and a Counter of drop reasons. Counters are updated.
        """
        rows: Rows = {}
        rejected: list[tuple[int, str]] = []
        dropped: Counter = Counter()
        now = time.time() if now is None else now
        row_of, reason_of = self.normalizer.row, self.drop_reason
        for index, (kind, event) in enumerate(events):
            try:
                table, row = row_of(kind, event, now)
            except models.EventError as exc:
                rejected.append((index, str(exc)))
                continue
            reason = reason_of(table, row)
            if reason:
                dropped[reason] += 1
            else:
                rows.setdefault(table, []).append(row)
        self.counters.add("rejected", len(rejected))
        for reason, n in dropped.items():
            self.counters.add("dropped:" + reason, n)
        return rows, rejected, dropped

    def submit(self, rows: Rows):
        """Hand rows to the writer; returns a Ticket. Raises QueueFull."""
        assert self.writer is not None, "submit needs an embedded monitor"
        try:
            return self.writer.submit(rows)
        except QueueFull:
            self.counters.add("dropped:queue_full", sum(len(r) for r in rows.values()))
            raise

    def enqueue(self, kind: str, event: dict) -> bool:
        """Validate one event and queue it without waiting; never raises unless strict."""
        if not self.enabled:
            return False
        try:
            table, row = self.normalizer.row(kind, event)
        except models.EventError as exc:
            self.counters.add("rejected")
            if self.strict:
                raise ValueError(str(exc)) from None
            log.warning("btrmon: %s event rejected: %s", kind, exc)
            return False
        reason = self.drop_reason(table, row)
        if reason:
            self.counters.add("dropped:" + reason)
            return False
        if self.writer is None:
            return self._send_remote(kind, event, row[0])
        if self.writer.offer({table: [row]}):
            self.counters.add("queued")
            return True
        self.counters.add("dropped:queue_full")
        return False

    def _send_remote(self, kind: str, event: dict, event_id: str) -> bool:
        """Queue an event for the remote client (added by the Python API issue)."""
        raise NotImplementedError

    # -- lifecycle ------------------------------------------------------------------------
    def flush(self, timeout: float = 10) -> bool:
        """Wait until queued events are committed (or sent); False on timeout."""
        return self.writer.flush(timeout) if self.writer is not None else True

    def start(self) -> None:
        """Start background jobs (scheduler, snapshots); only the serving process calls this."""

    def close(self) -> None:
        """Flush, stop the jobs and close the file."""
        if self.scheduler is not None:
            try:
                self.scheduler.shutdown(wait=False)
            except Exception:  # noqa: BLE001
                pass
            self.scheduler = None
        if self.writer is not None:
            self.writer.close()
        if self.db is not None:
            self.db.close()
        if Monitor._instance is self:
            Monitor._instance = None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
