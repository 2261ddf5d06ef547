"""Live traffic over HTTP so the real-time dashboard moves.

``simulate(url, key, rate)`` keeps posting the demo's visitors (the same session
walker as ``btrmon.demo``) to ``POST {url}/api/v1/events`` as JSON arrays, about
``rate`` events per second, stamped with the time they are sent, plus a health
check of every component every 30 s. Every event carries its own ``event_id``, so
a batch retried after a timeout is stored once. On 429/503 it waits for
``Retry-After``; on connection errors it backs off up to 10 s. It runs until
``duration`` seconds pass or ``stop`` is set (the command stops on Ctrl-C).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Callable

import requests

from btrmon.demo import Timeline, health_events, session_events

HEALTH_EVERY_S = 30.0
MAX_BACKOFF_S = 10.0


class SimulateError(RuntimeError):
    """The server refused the traffic for good (bad key, bad request)."""


@dataclass
class SimulateStats:
    """What was sent and what the server answered."""

    sent: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    retries: int = 0


class TrafficSource:
    """An endless stream of visitor events in walk order, stamped when taken."""

    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        self.pending: deque = deque()
        self.next_health = 0.0

    def take(self, n: int, now: float) -> list[dict]:
        """The next ``n`` visitor events (plus due health checks) as API events."""
        while len(self.pending) < n:
            tl = Timeline(now - 60, now)
            self.pending.extend(session_events(self.rng, now, tl))
        batch = [self.pending.popleft() for _ in range(n)]
        if now >= self.next_health:
            batch += health_events(self.rng, Timeline(now - 2, now), every_s=2)
            self.next_health = now + HEALTH_EVERY_S
        return [{**event, "kind": kind, "timestamp": now, "event_id": str(uuid.uuid4())} for kind, event in batch]


def post_batch(session: requests.Session, url: str, key: str, events: list[dict], stop: threading.Event,
               stats: SimulateStats, say: Callable[[str], None]) -> bool:
    """POST one batch until the server takes it; False when ``stop`` was set first."""
    backoff = 0.5
    while not stop.is_set():
        try:
            response = session.post(f"{url}/api/v1/events", json=events, timeout=30,
                                    headers={"Authorization": f"Bearer {key}"})
        except requests.RequestException as exc:
            say(f"server unreachable ({exc.__class__.__name__}); retrying in {backoff:.1f} s")
            stats.retries += 1
            stop.wait(backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2)
            continue
        if response.status_code in (429, 503):
            wait = _retry_after(response.headers.get("Retry-After"), backoff)
            say(f"server busy (HTTP {response.status_code}); waiting {wait:.1f} s")
            stats.retries += 1
            stop.wait(wait)
            backoff = min(MAX_BACKOFF_S, backoff * 2)
            continue
        if response.status_code != 200:
            raise SimulateError(f"HTTP {response.status_code} from {url}: {response.text[:300]}")
        answer = response.json()
        stats.batches += 1
        stats.sent += len(events)
        stats.accepted += int(answer.get("accepted", 0))
        stats.duplicates += int(answer.get("duplicates", 0))
        stats.rejected += len(answer.get("rejected", []))
        return True
    return False


def _retry_after(header: str | None, default: float) -> float:
    try:
        return min(60.0, max(0.1, float(header)))
    except (TypeError, ValueError):
        return default


def simulate(url: str, key: str, rate: float = 50.0, duration: float | None = None, seed: int | None = None,
             stop: threading.Event | None = None, say: Callable[[str], None] = print,
             report_every: float = 5.0, stats: SimulateStats | None = None) -> SimulateStats:
    """Post live traffic to ``url`` at about ``rate`` events/s until ``duration`` s or ``stop``."""
    if rate <= 0:
        raise ValueError("rate must be > 0 events per second")
    if not key:
        raise ValueError("key: an ingest API key is required (python -m btrmon keys create)")
    url = url.rstrip("/")
    stop = stop or threading.Event()
    stats = stats if stats is not None else SimulateStats()
    source = TrafficSource(seed)
    tick = 1.0 if rate >= 1 else 1.0 / rate
    started = last_report = time.monotonic()
    owed = 0.0
    with requests.Session() as session:
        while not stop.is_set():
            now = time.monotonic()
            if duration is not None and now - started >= duration:
                break
            owed += rate * tick
            count, owed = int(owed), owed - int(owed)
            if count and not post_batch(session, url, key, source.take(count, time.time()), stop, stats, say):
                break
            if now - last_report >= report_every:
                elapsed = now - started
                say(f"sent {stats.sent} events in {elapsed:.0f} s ({stats.sent / elapsed:.0f}/s): "
                    f"accepted {stats.accepted}, duplicates {stats.duplicates}, rejected {stats.rejected}")
                last_report = now
            next_tick = started + (int((time.monotonic() - started) / tick) + 1) * tick
            if duration is not None:
                next_tick = min(next_tick, started + duration)
            stop.wait(max(0.0, next_tick - time.monotonic()))
    return stats
