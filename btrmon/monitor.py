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
from typing import Callable, TypeVar

from btrmon import models
from btrmon.api import MonitorAPI
from btrmon.config import Config
from btrmon.privacy import sample_bucket
from btrmon.store import Database, default_db_path
from btrmon.writer import FreshRows, QueueFull, Rows, Writer

log = logging.getLogger(__name__)
T = TypeVar("T")

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


class Monitor(MonitorAPI):
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
        wait_for_database: bool | None = None,
    ) -> None:
        self.counters = Counters()
        self._parts: dict[str, object] = {}
        self._parts_lock = threading.Lock()
        self.strict = _env_flag("BTRMON_STRICT") if strict is None else strict
        self.url, self.api_key = url, api_key
        self.db: Database | None = None
        self.writer: Writer | None = None
        self.scheduler = None
        self.spool = None
        self.started_at = time.time()
        if url:
            self.config = Config()
            self.normalizer = models.EventNormalizer("remote-validation-only")
        else:
            from btrmon import standin

            wait = _env_flag("BTRMON_WAIT_FOR_DB") if wait_for_database is None else wait_for_database
            self.db = database or standin.open_database(str(db or default_db_path()), wait)
            self.config = Config(lambda: self.db.load_options(), self._save_option)
            from btrmon.spool import Spool, default_spool_path

            self.spool = Spool(default_spool_path(self.db.path, self.config["btrmon_spool_dir"] or None))
            self.writer = Writer(self.db, max_events=self.config["btrmon_queue_max_events"], spool=self.spool)
            self.spool.start(self.writer)
            self.normalizer = models.EventNormalizer(self._session_secret())
            standin.attach(self)
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
        self._init_api()

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
    def drop_reason(self, table: str, row: tuple, policy: tuple[frozenset, int] | None = None) -> str | None:
        """Why a valid row is not stored (type disabled, sampled out), or None to keep it."""
        disabled, rate = policy or self.sampling_policy()
        if table in disabled:
            return f"{models.TABLE_KIND[table]}_disabled"
        if rate >= 100 or models.is_critical_error(table, row):
            return None
        key = row[1] if table != "health" and row[1] else row[0].replace("-", "")
        return None if sample_bucket(key) < rate else "sampled_out"

    def sampling_policy(self) -> tuple[frozenset, int]:
        """(tables whose type is switched off, sample rate %) as configured now."""
        config = self.config
        disabled = frozenset(t for t, switch in _TYPE_SWITCH.items() if not config[switch])
        return disabled, config["btr_monitor_sample_rate"]

    def prepare(self, events: list[tuple[str, dict]], now: float | None = None):
        """Validate and filter ``(kind, event)`` pairs.

        Returns ``(rows, rejected, dropped)``: rows by table, ``[(index, message)]``
        and a Counter of drop reasons. Counters are updated. When no event carried
        its own ``event_id`` the rows are ``FreshRows`` (ids made here: see ``btrmon.writer``).
        """
        rows: Rows = {}
        rejected: list[tuple[int, str]] = []
        dropped: Counter = Counter()
        now = time.time() if now is None else now
        policy = self.sampling_policy()
        keep_all = not policy[0] and policy[1] >= 100
        row_of, reason_of = self.normalizer.row, self.drop_reason
        fresh = True
        for index, (kind, event) in enumerate(events):
            try:
                table, row = row_of(kind, event, now)
            except models.EventError as exc:
                rejected.append((index, str(exc)))
                continue
            if fresh and event.get("event_id") is not None:
                fresh = False
            reason = None if keep_all else reason_of(table, row, policy)
            if reason:
                dropped[reason] += 1
            else:
                rows.setdefault(table, []).append(row)
        self.counters.add("rejected", len(rejected))
        for reason, n in dropped.items():
            self.counters.add("dropped:" + reason, n)
        return (FreshRows(rows) if fresh else rows), rejected, dropped

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
        """Queue a validated event for the remote client (``btrmon.client``)."""
        return self._client.put({"kind": kind, **event, "event_id": event_id})

    def get_dashboard_metrics(self, timeframe: str = "24h") -> dict:
        """The dashboard's numbers for '1h', '6h', '24h' or '7d' (cached; remote: over HTTP)."""
        from btrmon.queries import cached, dashboard_metrics, resolve

        resolve(timeframe)  # ValueError naming the timeframe before any I/O
        if self.db is not None:
            return cached(self, dashboard_metrics, timeframe)
        import json
        import urllib.parse
        import urllib.request

        request = urllib.request.Request(
            self.url.rstrip("/") + "/api/v1/dashboard?" + urllib.parse.urlencode({"timeframe": timeframe}),
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    # -- health, degradation (btrmon.health, btrmon.spool) -------------------------------
    def run_health_checks(self) -> list[dict]:
        """Run every built-in check now; store and return the results (the seed's method)."""
        from btrmon.health import run_health_checks

        return run_health_checks(self)

    def health_check(self, component: str, status: str, data: dict | None = None) -> bool:
        """Record a result the app reports about ``component`` (healthy, warning, critical)."""
        from btrmon.health import record_reported

        return record_reported(self, component, status, data)

    @property
    def degraded(self):
        """A ``DegradedState`` (truthy while events are spooled instead of stored, with the reason)."""
        from btrmon.spool import DegradedState

        return self.spool.state() if self.spool is not None else DegradedState(False)

    def part(self, name: str, factory: Callable[["Monitor"], T] | None = None) -> T | None:
        """The monitor's ``name`` part (alert engine, query cache...), made once by ``factory(self)``;
        without a factory, the part if it was made, else None."""
        part = self._parts.get(name)
        if part is None and factory is not None:
            with self._parts_lock:
                part = self._parts.get(name)
                if part is None:
                    part = self._parts[name] = factory(self)
        return part

    def drop_part(self, name: str):
        """Forget the part ``name`` and return it (None when it was never made)."""
        with self._parts_lock:
            return self._parts.pop(name, None)

    # -- lifecycle ------------------------------------------------------------------------
    def flush(self, timeout: float = 10) -> bool:
        """Wait until queued events are committed (or sent); False on timeout."""
        return self._flush_api(timeout)

    def start(self) -> None:
        """Start background jobs (scheduler, snapshots); only the serving process calls this."""
        if self.db is None or self.scheduler is not None:
            return
        from btrmon.scheduler import start_scheduler

        self.scheduler = start_scheduler(self)

    def close(self) -> None:
        """Flush, stop the jobs and close the file."""
        if self.scheduler is not None:
            try:
                self.scheduler.shutdown(wait=False)
            except Exception:  # noqa: BLE001
                pass
            self.scheduler = None
        engine = self.drop_part("alert_engine")
        if engine is not None:
            engine.close()  # stop deliveries waiting for a retry before the writer goes
        self._close_api()
        if getattr(self, "_reopener", None) is not None:
            self._reopener.stop()
        elif self.db is not None:
            from btrmon.standin import save_fallback

            save_fallback(self)  # settings and keys as of now, for a start while the file is held
        if self.spool is not None:
            self.spool.close()
        if self.writer is not None:
            self.writer.close()
        if self.db is not None:
            self.db.close()
        if Monitor._instance is self:
            Monitor._instance = None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
