"""Remote mode: ``Monitor(url=..., api_key=...)`` sends events to a btrmon server.

A bounded in-memory queue (``btrmon_client_queue_max`` events, counting the batch
in flight) is drained by one daemon thread that POSTs batches of up to
``btrmon_client_batch_size`` events, gzip-compressed, to ``{url}/api/v1/events``
with ``Authorization: Bearer <key>``. Each event carries its ``event_id`` (fixed
when it was queued), so a retry of a batch the server already stored is answered
as duplicates, never stored twice.

Retries: connection errors, timeouts, 429 and 5xx are retried with exponential
backoff (0.5 s doubling up to ``btrmon_client_max_backoff``, half of it random
jitter) or after the server's ``Retry-After``. A batch still failing after
``btrmon_client_give_up_seconds`` (default 600 s = 10 min) is dropped and counted
(``dropped:remote_gave_up``). A 413 (body over the server's ``btrmon_max_body_bytes``)
splits the batch in halves, each sent on its own (a single event still too large is
dropped). Any other 4xx (bad key, bad body) is not retried:
counted as ``dropped:remote_http_<status>`` and logged. Events the server rejects
one by one are counted as ``remote_rejected`` and logged. A full queue drops new
events (``dropped:remote_queue_full``). Nothing here ever raises into the app.
"""

from __future__ import annotations

import gzip
import logging
import random
import threading
import time
from collections import deque
from email.utils import parsedate_to_datetime

import orjson
import requests

from btrmon.pump import after_fork_in_child

log = logging.getLogger(__name__)

BASE_BACKOFF = 0.5
SPLIT = -2.0  # ``_attempt``: send the batch again as two halves


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or HTTP date); None if absent/bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


def backoff_delay(attempt: int, cap: float) -> float:
    """Exponential backoff with jitter: half of ``min(cap, 0.5 * 2**attempt)`` fixed, half random."""
    ceiling = min(cap, BASE_BACKOFF * (2 ** min(attempt, 30)))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


class RemoteClient:
    """The bounded queue and sender thread of a remote ``Monitor``."""

    def __init__(self, monitor) -> None:
        self.monitor = monitor
        self.endpoint = monitor.url.rstrip("/") + "/api/v1/events"
        self.config, self.counters = monitor.config, monitor.counters
        self._queue: deque = deque()
        self._in_flight = 0
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._session = requests.Session()
        self._thread = threading.Thread(target=self._loop, name="btrmon-sender", daemon=True)
        self._thread.start()
        after_fork_in_child(self._restart_in_child)

    def _restart_in_child(self) -> None:
        """In a forked child: an empty queue, its own connections and sender thread."""
        self._queue, self._in_flight = deque(), 0
        self._cond = threading.Condition()
        self._session = requests.Session()  # never share the parent's sockets
        if not self._stop.is_set():
            self._thread = threading.Thread(target=self._loop, name="btrmon-sender", daemon=True)
            self._thread.start()

    @property
    def depth(self) -> int:
        """Events waiting or in flight."""
        return len(self._queue) + self._in_flight

    def put(self, event: dict) -> bool:
        """Queue one validated event (with ``kind`` and ``event_id``); False when full."""
        return self.put_many([event]) == 1

    def put_many(self, events: list[dict]) -> int:
        """Queue validated events together (one batch if they fit); returns how many were taken."""
        with self._cond:
            room = 0 if self._stop.is_set() else self.config["btrmon_client_queue_max"] - self.depth
            taken = events[:max(0, room)]
            self._queue.extend(taken)
            if taken:
                self._cond.notify_all()
        self.counters.add("dropped:remote_queue_full", len(events) - len(taken))
        return len(taken)

    def flush(self, timeout: float) -> bool:
        """Wait until every queued event was delivered or given up; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.depth:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return False
                self._cond.wait(remaining)
        return True

    def close(self, timeout: float = 10) -> None:
        """Try to deliver what is queued within ``timeout``; count the rest as lost; stop."""
        self.flush(timeout)
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            if self._queue:
                self.counters.add("dropped:remote_closed", len(self._queue))
                self._queue.clear()
        self._session.close()

    # -- the sender thread ----------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop.is_set():
                    self._cond.wait()
                if self._stop.is_set():
                    return
                size = self.config["btrmon_client_batch_size"]
                batch = [self._queue.popleft() for _ in range(min(size, len(self._queue)))]
                self._in_flight = len(batch)
            try:
                self._deliver(batch)
            except Exception:  # noqa: BLE001 - the sender must survive anything
                log.exception("btrmon: sending %d events failed", len(batch))
                self.counters.add("dropped:internal_error", len(batch))
            finally:
                with self._cond:
                    self._in_flight = 0
                    self._cond.notify_all()

    def _deliver(self, batch: list[dict]) -> None:
        body = gzip.compress(orjson.dumps(batch), compresslevel=1)
        headers = {"Authorization": f"Bearer {self.monitor.api_key}", "Content-Type": "application/json",
                   "Content-Encoding": "gzip"}
        first_try, attempt = time.monotonic(), 0
        while True:
            wait = self._attempt(batch, body, headers)
            if wait is None:
                return
            if wait == SPLIT:  # 413: the body is over the server's limit; each half goes on its own
                half = len(batch) // 2
                self._deliver(batch[:half])
                self._deliver(batch[half:])
                return
            attempt += 1
            self.counters.add("remote_retries")
            elapsed = time.monotonic() - first_try
            give_up = self.config["btrmon_client_give_up_seconds"]
            if elapsed >= give_up:
                log.error("btrmon: giving up on %d events after %.0f s of failures", len(batch), elapsed)
                self.counters.add("dropped:remote_gave_up", len(batch))
                return
            delay = wait if wait >= 0 else backoff_delay(attempt, self.config["btrmon_client_max_backoff"])
            if self._stop.wait(min(delay, give_up - elapsed)):
                self.counters.add("dropped:remote_closed", len(batch))
                return

    def _attempt(self, batch: list[dict], body: bytes, headers: dict) -> float | None:
        """Send once. None: done (delivered or not retryable); SPLIT; else seconds to wait (-1 = backoff)."""
        timeout = self.config["btrmon_client_timeout"]
        try:
            response = self._session.post(self.endpoint, data=body, headers=headers, timeout=(timeout, timeout))
        except requests.RequestException as exc:
            log.debug("btrmon: server unreachable: %s", exc)
            return -1
        status = response.status_code
        if status == 200:
            self._count_answer(batch, response)
            return None
        if status == 413 and len(batch) > 1:
            return SPLIT
        if status == 429 or status >= 500:
            after = retry_after_seconds(response.headers.get("Retry-After"))
            return -1 if after is None else after
        log.error("btrmon: server answered %d, %d events dropped: %s", status, len(batch), response.text[:300])
        self.counters.add(f"dropped:remote_http_{status}", len(batch))
        return None

    def _count_answer(self, batch: list[dict], response) -> None:
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        self.counters.add("remote_accepted", int(answer.get("accepted", 0)))
        self.counters.add("remote_duplicates", int(answer.get("duplicates", 0)))
        for item in answer.get("rejected", []) or []:
            self.counters.add("remote_rejected")
            log.warning("btrmon: server rejected event %s: %s", item.get("index"), item.get("error"))
        for reason, n in (answer.get("dropped") or {}).items():
            self.counters.add(f"remote_dropped:{reason}", int(n))
