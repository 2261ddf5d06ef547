"""Ingest API keys: created once and shown once, stored hashed, checked in constant time.

A key reads ``btr_<key_id>_<secret>``. The table keeps ``key_id`` and the SHA-256
of the whole key (keys are 256-bit random, so a fast hash is enough: there is
nothing to brute-force). A request presents it as ``Authorization: Bearer <key>``
or ``X-API-Key: <key>``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass

from btrmon.store import utcnow

_PREFIX = "btr_"
TOUCH_EVERY_S = 60.0  # ``last_used_at`` is written at most this often per key
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiKey:
    """A stored key (never the key itself)."""

    key_id: str
    name: str
    key_hash: str
    revoked: bool


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(monitor, name: str = "default") -> str:
    """Create a key called ``name``; returns the key (the only time it is shown)."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValueError("name: must be 1 to 100 characters")
    key_id = secrets.token_hex(4)
    key = f"{_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    monitor.writer.call(
        lambda con: con.execute(
            "INSERT INTO api_keys (key_id, name, key_hash, created_at) VALUES (?, ?, ?, ?)",
            [key_id, name, _hash(key), utcnow()],
        )
    )
    _cache(monitor).clear()
    return key


def list_keys(monitor) -> list[dict]:
    """Every key: id, name, created, revoked, last used."""
    rows = monitor.db.query(
        "SELECT key_id, name, created_at, revoked_at, last_used_at FROM api_keys ORDER BY created_at"
    )
    cols = ("key_id", "name", "created_at", "revoked_at", "last_used_at")
    return [dict(zip(cols, r)) for r in rows]


def revoke_key(monitor, key_id_or_name: str) -> int:
    """Revoke keys by id or name; returns how many were revoked."""

    def revoke(con) -> int:
        rows = con.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE (key_id = ? OR name = ?) AND revoked_at IS NULL "
            "RETURNING key_id",
            [utcnow(), key_id_or_name, key_id_or_name],
        ).fetchall()
        return len(rows)

    count = monitor.writer.call(revoke)
    _cache(monitor).clear()
    return count


class _KeyCache:
    """key_id -> ApiKey, loaded from the table on a miss, cleared on any change."""

    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}
        self._touched: dict[str, float] = {}  # key_id -> monotonic time last_used_at was written
        self._lock = threading.Lock()

    def due_touch(self, key_id: str) -> bool:
        """True (and remembered) when ``last_used_at`` of ``key_id`` should be written now."""
        now = time.monotonic()
        with self._lock:
            if now - self._touched.get(key_id, float("-inf")) < TOUCH_EVERY_S:
                return False
            self._touched[key_id] = now
            return True

    def clear(self) -> None:
        with self._lock:
            self._keys.clear()

    def get(self, monitor, key_id: str) -> ApiKey | None:
        key = self._keys.get(key_id)
        if key is None:
            rows = monitor.db.query(
                "SELECT key_id, name, key_hash, revoked_at IS NOT NULL FROM api_keys WHERE key_id = ?",
                [key_id],
            )
            if not rows:
                return None
            key = ApiKey(*rows[0])
            with self._lock:
                self._keys[key_id] = key
        return key


def _cache(monitor) -> _KeyCache:
    return monitor.part("api_key_cache", lambda _monitor: _KeyCache())


def presented_key(headers) -> str | None:
    """The key a request presents in ``Authorization: Bearer`` or ``X-API-Key``."""
    auth = headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return headers.get("X-API-Key") or None


def verify(monitor, key: str | None) -> str | None:
    """The name of the key if it is valid and not revoked, else None (constant-time compare)."""
    if not key or not key.startswith(_PREFIX) or len(key) > 200:
        return None
    key_id = key[len(_PREFIX):].split("_", 1)[0]
    stored = _cache(monitor).get(monitor, key_id)
    if stored is None:
        hmac.compare_digest(_hash(key), _hash("x"))  # same work for unknown ids
        return None
    if not hmac.compare_digest(_hash(key), stored.key_hash) or stored.revoked:
        return None
    _touch(monitor, key_id)
    return stored.name


def _touch(monitor, key_id: str) -> None:
    """Record that the key was used (queued to the writer, never waited for; once a minute per key)."""
    writer = getattr(monitor, "writer", None)
    if writer is None or not _cache(monitor).due_touch(key_id):
        return
    try:
        writer.execute(lambda con: con.execute("UPDATE api_keys SET last_used_at = ? WHERE key_id = ?",
                                               [utcnow(), key_id]))
    except Exception:  # noqa: BLE001 - bookkeeping never fails a request
        log.exception("btrmon: recording the use of key %s failed", key_id)


def authenticate(monitor, request) -> str | None:
    """The key name of a Flask request, or None when the key is missing or wrong."""
    return verify(monitor, presented_key(request.headers))


def has_keys(monitor) -> bool:
    """True when at least one usable key exists."""
    return bool(monitor.db.query("SELECT 1 FROM api_keys WHERE revoked_at IS NULL LIMIT 1"))
