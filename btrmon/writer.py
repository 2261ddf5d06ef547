"""The one writer: a bounded queue drained by one thread, group commit.

Everything waiting in the queue when the thread wakes is inserted in one
transaction, so concurrent requests share a commit. ``submit`` returns a
``Ticket`` that resolves once the rows are committed (or spooled, when the
database cannot be written and a spool is configured): that is when ingestion
answers 2xx. ``offer`` is the fire-and-forget variant the Python API uses.
Other writes (options, keys, resolving errors...) run through ``execute`` so
the file only ever has one writer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable

import duckdb
import pyarrow as pa

from btrmon.inserts import SMALL_BATCH, insert_fresh, insert_rows, to_arrow

log = logging.getLogger(__name__)

Rows = dict[str, list[tuple]]  # table -> rows in schema.COLUMNS order

class FreshRows(dict):
    """Rows (``Rows``) whose event ids this server has just generated (random UUIDv4).

    They need no duplicate check within a group (no ``_merge``), so the submitting
    thread can turn big ones into Arrow before queueing (see ``_prebuilt_arrow``).
    Should an id be stored all the same (the same object submitted twice), the
    primary key refuses it and the writer redoes the group with the checking path
    (see ``Writer._write``). Rows with client ids stay a plain dict.
    """


class QueueFull(Exception):
    """The writer queue holds its maximum number of events; retry later."""


@dataclass
class WriteResult:
    """What happened to one submission: stored, already stored, or spooled."""

    accepted: int = 0
    duplicates: int = 0
    spooled: bool = False


@dataclass
class Ticket:
    """A submission waiting for its commit."""

    rows: Rows
    count: int
    done: threading.Event = field(default_factory=threading.Event)
    result: WriteResult | None = None
    error: BaseException | None = None
    arrow: dict[str, pa.Table] | None = None  # ``rows`` as Arrow, for big FreshRows (see ``submit``)

    def wait(self, timeout: float | None = None) -> WriteResult:
        """Block until committed; raises the commit error or TimeoutError."""
        if not self.done.wait(timeout):
            raise TimeoutError("the writer did not commit in time")
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@dataclass
class WriterStats:
    """Counters the writer keeps for /api/v1/stats and self-monitoring."""

    commits: int = 0
    rows_committed: int = 0
    duplicates: int = 0
    failures: int = 0
    spooled_events: int = 0
    last_commit_at: float | None = None
    last_commit_ms: float = 0.0
    max_commit_ms: float = 0.0
    sum_commit_ms: float = 0.0


class Writer:
    """Owns the write connection; drains the queue in one thread with group commit."""

    def __init__(self, db, max_events: int = 200_000, spool=None, max_batch: int = 50_000) -> None:
        self.db = db
        self.max_events = max_events
        self.max_batch = max_batch
        self.spool = spool
        self.stats = WriterStats()
        self.commit_seq = 0  # bumped after each commit; caches key on it
        self._queue: deque = deque()
        self._queued_events = 0
        self._cond = threading.Condition()
        self._closing = False
        self._con = db.con.cursor()
        self._con_lock = threading.Lock()  # held while the thread uses _con; ``reattach`` swaps it
        self._listeners: list[Callable[[Rows], None]] = []
        self._thread = threading.Thread(target=self._loop, name="btrmon-writer", daemon=True)
        self._thread.start()

    # -- producers --------------------------------------------------------------------
    @property
    def queue_depth(self) -> int:
        """Events waiting to be committed."""
        return self._queued_events

    @property
    def alive(self) -> bool:
        """True while the writer thread runs."""
        return self._thread.is_alive()

    def submit(self, rows: Rows) -> Ticket:
        """Queue rows for the next commit; raises QueueFull when over the bound."""
        count = sum(len(r) for r in rows.values())
        ticket = Ticket(rows, count, arrow=_prebuilt_arrow(rows, count))
        with self._cond:
            if self._closing:
                raise QueueFull("the writer is shutting down")
            if self._queued_events + count > self.max_events and self._queued_events > 0:
                raise QueueFull(f"writer queue full ({self._queued_events} events waiting)")
            self._queue.append(ticket)
            self._queued_events += count
            self._cond.notify()
        return ticket

    def offer(self, rows: Rows) -> bool:
        """Queue rows without waiting for the commit; False when the queue is full."""
        try:
            self.submit(rows)
            return True
        except QueueFull:
            return False

    def execute(self, fn: Callable[[duckdb.DuckDBPyConnection], Any]) -> Future:
        """Run ``fn(con)`` in the writer thread inside one transaction; returns a Future."""
        future: Future = Future()
        with self._cond:
            self._queue.append((fn, future))
            self._cond.notify()
        return future

    def call(self, fn: Callable[[duckdb.DuckDBPyConnection], Any], timeout: float = 30) -> Any:
        """``execute`` and wait for the result."""
        return self.execute(fn).result(timeout)

    def on_commit(self, listener: Callable[[Rows], None]) -> None:
        """Call ``listener(rows)`` after each commit with the rows newly stored."""
        self._listeners.append(listener)

    def flush(self, timeout: float = 10) -> bool:
        """Wait until everything queued so far is committed; False on timeout."""
        try:
            self.execute(lambda con: None).result(timeout)
            return True
        except Exception:
            return False

    def close(self, timeout: float = 10) -> None:
        """Commit what is queued, then stop the thread."""
        self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)
        try:
            self._con.close()
        except duckdb.Error:
            pass

    # -- the writer thread -----------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue and self._closing:
                    return
                items = self._take()
            tickets = [i for i in items if isinstance(i, Ticket)]
            with self._con_lock:
                if tickets:
                    self._commit(tickets)
                for item in items:
                    if not isinstance(item, Ticket):
                        self._run_op(*item)

    def reattach(self, db) -> None:
        """Write to ``db`` from now on (the real file, once a stand-in can be replaced)."""
        with self._con_lock:
            old, self.db, self._con = self._con, db, db.con.cursor()
        try:
            old.close()
        except duckdb.Error:
            pass

    def _take(self) -> list:
        items, events = [], 0
        while self._queue and events < self.max_batch:
            item = self._queue.popleft()
            if isinstance(item, Ticket):
                events += item.count
                self._queued_events -= item.count
            items.append(item)
        return items

    def _run_op(self, fn, future: Future) -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            _check_writable(self.db)
            self._con.execute("BEGIN")
            result = fn(self._con)
            self._con.execute("COMMIT")
            self.commit_seq += 1
            future.set_result(result)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            try:
                self._con.execute("ROLLBACK")
            except duckdb.Error:
                pass
            future.set_exception(exc)

    def _commit(self, tickets: list[Ticket]) -> None:
        started = time.perf_counter()
        try:
            fresh, checked, merged, owners, inserted = self._write(tickets)
        except Exception as exc:  # noqa: BLE001 - the database cannot be written
            self.stats.failures += 1
            log.warning("commit failed (%s); %s", exc, "spooling" if self.spool else "answering 503")
            self._fail_over(tickets, exc)
            return
        elapsed = (time.perf_counter() - started) * 1000
        stored = {t: [row for row in rows if row[0] in inserted[t]] for t, rows in merged.items()}
        for ticket in fresh:
            for table, rows in ticket.rows.items():
                stored.setdefault(table, []).extend(rows)
        self._record_commit(elapsed, sum(len(v) for v in stored.values()))
        for ticket in fresh:
            ticket.result = WriteResult(accepted=ticket.count)
            ticket.done.set()
        for ticket in checked:
            ids = owners[id(ticket)]
            accepted = sum(1 for table, eid in ids if inserted[table].pop(eid, None) is not None)
            ticket.result = WriteResult(accepted=accepted, duplicates=len(ids) - accepted)
            self.stats.duplicates += ticket.result.duplicates
            ticket.done.set()
        for listener in self._listeners:
            try:
                listener(stored)
            except Exception:  # noqa: BLE001 - a listener never stops the writer
                log.exception("commit listener failed")

    def _write(self, tickets: list[Ticket]):
        """Insert a group in one transaction, optimistically first.

        Event ids are nearly always new, so the group is first written with plain
        INSERTs: DuckDB runs ``INSERT OR IGNORE`` as a MERGE that joins the batch with
        every stored event id, measured 1.5x (empty table) to 2.4x (1M rows) the CPU of
        a plain INSERT per 1,000 rows. When the primary key refuses an id (a retried
        event) the transaction is rolled back and the group redone with the checking
        path, so ``accepted``/``duplicates`` stay exact.

        Returns ``(fresh tickets, checked tickets, merged checked rows, owners, inserted ids)``.
        """
        fresh = [t for t in tickets if isinstance(t.rows, FreshRows)]
        checked = [t for t in tickets if not isinstance(t.rows, FreshRows)]
        merged, owners = _merge(checked)
        try:
            self._insert(merged, _concat(fresh), checked=False)
            every = {table: dict.fromkeys((row[0] for row in rows), True) for table, rows in merged.items()}
            return fresh, checked, merged, owners, every
        except duckdb.ConstraintException:
            pass  # an id is stored already (or a NOT NULL failed: the checking path raises it again)
        merged, owners = _merge(tickets)
        return [], tickets, merged, owners, self._insert(merged, {}, checked=True)

    def _insert(self, merged: Rows, fresh: dict[str, list], checked: bool) -> dict[str, dict[str, bool]]:
        """Insert ``merged`` (skipping stored ids when ``checked``) and ``fresh`` in one transaction.

        Returns, when ``checked``, the event ids actually inserted per table of ``merged``.
        """
        _check_writable(self.db)
        con = self._con
        inserted: dict[str, dict[str, bool]] = {}
        # A single INSERT commits atomically by itself (autocommit): BEGIN and COMMIT would
        # be two more calls into DuckDB, measured ~1 ms CPU per commit of a few rows.
        explicit = len(merged) + len(fresh) > 1
        if explicit:
            con.execute("BEGIN")
        try:
            for table, rows in merged.items():
                inserted[table] = {r[0]: True for r in insert_rows(con, table, rows, checked)}
            for table, pieces in fresh.items():
                insert_fresh(con, table, pieces)
            if explicit:
                con.execute("COMMIT")
        except Exception:
            if explicit:
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass
            raise
        return inserted

    def _fail_over(self, tickets: list[Ticket], exc: Exception) -> None:
        spool_error: BaseException | None = None
        if self.spool is not None:
            self.spool.note_failure(f"{type(exc).__name__}: {exc}")
            try:  # one durable append (one fsync) for the whole group
                self.spool.append(_merge(tickets)[0])
            except Exception as err:  # noqa: BLE001 - the tickets get the error: 503, nothing lost silently
                spool_error = err
        for ticket in tickets:
            if self.spool is not None and spool_error is None:
                ticket.result = WriteResult(accepted=ticket.count, spooled=True)
                self.stats.spooled_events += ticket.count
            else:
                ticket.error = spool_error or exc
            ticket.done.set()

    def _record_commit(self, elapsed_ms: float, rows: int) -> None:
        s = self.stats
        s.commits += 1
        s.rows_committed += rows
        s.last_commit_at = time.time()
        s.last_commit_ms = elapsed_ms
        s.sum_commit_ms += elapsed_ms
        s.max_commit_ms = max(s.max_commit_ms, elapsed_ms)
        self.commit_seq += 1


def _check_writable(db) -> None:
    """A stand-in database (the file is held elsewhere, see ``btrmon.standin``) takes no writes."""
    unavailable = getattr(db, "unavailable", None)
    if unavailable:
        raise unavailable()


def _merge(tickets: list[Ticket]) -> tuple[Rows, dict[int, list[tuple[str, str]]]]:
    """One row list per table, each event_id once; and each ticket's (table, event_id)s."""
    merged: Rows = {}
    seen: set[tuple[str, str]] = set()
    owners: dict[int, list[tuple[str, str]]] = {}
    for ticket in tickets:
        ids = owners.setdefault(id(ticket), [])
        for table, rows in ticket.rows.items():
            out = merged.setdefault(table, [])
            for row in rows:
                key = (table, row[0])
                ids.append(key)
                if key not in seen:
                    seen.add(key)
                    out.append(row)
    return {t: r for t, r in merged.items() if r}, owners


def _prebuilt_arrow(rows: Rows, count: int) -> dict[str, pa.Table] | None:
    """Big ``FreshRows`` as Arrow tables, built in the submitting (request) thread.

    Converting is GIL-bound Python work; done here it overlaps the writer thread's
    DuckDB work instead of adding to the one serial commit path (``_to_arrow`` was
    about 60 % of the writer thread's GIL time in bench/ingest.py, batches of 1,000).
    """
    if count <= SMALL_BATCH or not isinstance(rows, FreshRows):
        return None
    try:
        return {table: to_arrow(table, table_rows) for table, table_rows in rows.items() if table_rows}
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None  # the writer converts the rows again and handles the failure as for any commit


def _concat(tickets: list[Ticket]) -> dict[str, list]:
    """Per table, the pieces of fresh ``tickets``: prebuilt Arrow tables and row lists."""
    out: dict[str, list] = {}
    for ticket in tickets:
        for table, rows in (ticket.arrow or ticket.rows).items():
            if len(rows):
                out.setdefault(table, []).append(rows)
    return out
