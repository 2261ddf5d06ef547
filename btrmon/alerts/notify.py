"""Delivery of notifications in background threads, with retries and dead letters.

``Notifier.notify`` records one pending delivery per channel and target, then hands
each to a small thread pool, so evaluation never waits for a slow receiver. Failed
attempts that may succeed later (429, 5xx, timeouts, connection errors) are retried
with exponential backoff and jitter (5 s x 1.5 up to 30 s, giving up after 5 minutes
by default); the delivery id is the idempotency key sent on every attempt. A delivery
that gives up becomes a dead letter that "send again" (``resend``) retries.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass

import orjson

from btrmon.alerts import store
from btrmon.alerts.channels import Channel, DeliveryError, Notification, channels
from btrmon.queries import alerts as q
from btrmon.store import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between attempts: ``base`` x ``factor`` per attempt, at most ``cap``, until ``deadline``."""

    base: float = 5.0
    factor: float = 1.5
    cap: float = 30.0
    deadline: float = 300.0
    jitter: float = 0.2

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), with jitter."""
        raw = min(self.cap, self.base * self.factor ** (attempt - 1))
        return max(0.0, raw * random.uniform(1 - self.jitter, 1 + self.jitter))


class Notifier:
    """Sends notifications through the configured channels without blocking the caller."""

    def __init__(self, monitor, policy: RetryPolicy | None = None, workers: int = 4) -> None:
        self.monitor = monitor
        self.policy = policy or RetryPolicy()
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._jobs: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._pending: set[Future] = set()
        self._lock = threading.Lock()

    # -- entry points -------------------------------------------------------------------
    def notify(self, notification: Notification, channel_names: tuple[str, ...]) -> list[str]:
        """Queue ``notification`` on each named channel that is configured and accepts it."""
        available = channels(self.monitor)
        ids = []
        for name in dict.fromkeys(channel_names):
            channel = available.get(name)
            if channel is None or not channel.configured(self.monitor.config) or not channel.accepts(notification):
                continue
            for target in channel.targets(self.monitor.config):
                ids.append(self._queue(channel, target, notification))
        return ids

    def send_test(self, channel_name: str) -> list[str]:
        """Queue a test notification on one channel; ``ValueError`` if unknown or not configured."""
        channel = channels(self.monitor).get(channel_name)
        if channel is None:
            raise ValueError(f"channel: unknown channel {channel_name!r}")
        if not channel.configured(self.monitor.config):
            raise ValueError(f"channel: {channel_name} is not configured (see its settings)")
        notification = Notification(
            event="test", rule_id="test", rule_name="Test notification", severity="critical",
            message="This is a test notification from btrmon.", at=utcnow().isoformat(timespec="seconds") + "Z",
            dashboard_url=self.monitor.config.get("btrmon_dashboard_url"))
        return [self._queue(channel, t, notification) for t in channel.targets(self.monitor.config)]

    def send_to(self, channel_name: str, target: str, notification: Notification) -> str | None:
        """Queue ``notification`` to an explicit target of a channel (emergency webhooks)."""
        channel = channels(self.monitor).get(channel_name)
        return self._queue(channel, target, notification) if channel is not None else None

    def resend(self, delivery_id: str) -> None:
        """"Send again": retry a dead letter (same idempotency key)."""
        row = q.get_delivery(self.monitor.db, delivery_id)
        if row is None:
            raise ValueError(f"delivery: unknown delivery {delivery_id!r}")
        if row["status"] == "delivered":
            raise ValueError(f"delivery: {delivery_id} was already delivered")
        if row["status"] != "dead":
            raise ValueError(f"delivery: {delivery_id} is still being tried ({row['status']})")
        channel = channels(self.monitor).get(row["channel"])
        if channel is None:
            raise ValueError(f"delivery: channel {row['channel']!r} no longer exists")
        if not store.requeue_delivery(self.monitor.writer, delivery_id, utcnow()):
            raise ValueError(f"delivery: {delivery_id} is already being sent again")
        payload = orjson.loads(row["payload"])
        self._submit(channel, row["target"], Notification.from_dict(payload), delivery_id, row["attempts"])

    def wait_idle(self, timeout: float = 10) -> bool:
        """Wait until every queued delivery finished (tests and shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                pending[0].result(remaining)
            except Exception:  # noqa: BLE001 - failures are stored, not raised
                pass

    def close(self) -> None:
        """Stop retrying (waiting deliveries end as they are) and stop the threads."""
        self._stop.set()
        for _ in self._threads:
            self._jobs.put(None)

    # -- the delivery threads ------------------------------------------------------------
    def _queue(self, channel: Channel, target: str, notification: Notification) -> str:
        delivery_id = str(uuid.uuid4())
        store.create_delivery(self.monitor.writer, delivery_id, notification.alert_id, notification.event,
                              channel.name, target, notification.to_dict(), utcnow())
        self._submit(channel, target, notification, delivery_id, 0)
        return delivery_id

    def _submit(self, channel: Channel, target: str, notification: Notification, delivery_id: str,
                previous_attempts: int) -> None:
        future: Future = Future()
        with self._lock:
            self._pending.add(future)
            # daemon threads: a delivery waiting for its next retry never holds up process exit
            while len(self._threads) < self._workers:
                thread = threading.Thread(target=self._work, name="btrmon-notify", daemon=True)
                thread.start()
                self._threads.append(thread)
        future.add_done_callback(self._done)
        self._jobs.put((future, (channel, target, notification, delivery_id, previous_attempts)))

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            future, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._deliver(*args))
            except BaseException as exc:  # noqa: BLE001 - kept on the future
                log.exception("btrmon: delivery thread failed")
                future.set_exception(exc)

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def _deliver(self, channel: Channel, target: str, notification: Notification, delivery_id: str,
                 attempt: int) -> str:
        started = time.monotonic()
        tries = 0
        while True:
            attempt += 1
            tries += 1
            try:
                status = channel.send(notification, target, delivery_id, self.monitor.config)
            except DeliveryError as exc:
                wait = self.policy.delay(tries)
                give_up = (not exc.retryable or self._stop.is_set()
                           or time.monotonic() - started + wait > self.policy.deadline)
                outcome = "dead" if give_up else "pending"
                store.record_attempt(self.monitor.writer, delivery_id, attempt, utcnow(), False, exc.status,
                                     str(exc), outcome)
                if give_up:
                    log.warning("btrmon: %s delivery %s gave up: %s", channel.name, delivery_id, exc)
                    self.monitor.counters.add("alerts:dead_letters")
                    return outcome
                self._stop.wait(wait)
                continue
            except Exception as exc:  # noqa: BLE001 - a broken channel must not kill the thread
                log.exception("btrmon: channel %s failed", channel.name)
                store.record_attempt(self.monitor.writer, delivery_id, attempt, utcnow(), False, None,
                                     f"{exc.__class__.__name__}: {exc}", "dead")
                return "dead"
            store.record_attempt(self.monitor.writer, delivery_id, attempt, utcnow(), True, status, None, "delivered")
            return "delivered"
