"""Event kinds, their fields, and validation into table rows.

``EventNormalizer.row(kind, event)`` checks one event (a dict of the seed's field
names) and returns ``(table, row)`` with the row in ``schema.COLUMNS`` order, or
raises ``EventError`` whose message names the field. Privacy (session hashing,
URL cleaning, scrubbing) is applied here, before anything is queued.

Limits: text fields are truncated (not rejected) to ``TEXT_LIMITS``; JSON
objects (``metadata``, ``step_data``) may nest ``MAX_DEPTH`` levels and take
``MAX_JSON_BYTES`` once serialised; timestamps may be at most 24 h ahead.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import time
import uuid
from datetime import datetime, timezone

import orjson

from btrmon import privacy
from btrmon.schema import COLUMNS

KIND_TABLE: dict[str, str] = {"metric": "metrics", "error": "errors", "journey": "journey", "health": "health"}
TABLE_KIND: dict[str, str] = {v: k for k, v in KIND_TABLE.items()}
ERROR_LEVELS: tuple[str, ...] = ("critical", "error", "warning", "notice")
HEALTH_STATUSES: tuple[str, ...] = ("healthy", "warning", "critical")
ERROR_TYPES: tuple[str, ...] = ("php_error", "exception", "wp_die", "ajax_error", "alert")
JOURNEY_STAGES: tuple[str, ...] = (
    "initialization", "shopping", "calculation", "quote_generation",
    "checkout", "payment_processing", "conversion", "fulfillment",
)
FUNNELS: tuple[str, ...] = ("booking", "quote_to_order", "payment_completion")

TEXT_LIMITS: dict[str, int] = {
    "session_id": 200, "user_id": 200, "metric_type": 100, "metric_name": 200, "metric_unit": 50,
    "component": 100, "user_agent": 500, "error_type": 100, "error_message": 4000,
    "error_file": 500, "stack_trace": 65536, "journey_step": 200, "journey_stage": 100,
    "conversion_funnel": 100, "health_check": 200,
}
URL_FIELDS = ("request_uri", "referrer")
MAX_DEPTH = 10
MAX_JSON_BYTES = 65536
MAX_FUTURE_SECONDS = 24 * 3600
_MIN_EPOCH = 946684800  # 2000-01-01: older timestamps are rejected as mistakes
_MAX_INTEGER = 2**31 - 1
_NAMESPACE = uuid.UUID("6f1b3c52-8a0e-4f57-9a55-2b1e0c7d9a10")

# Required fields per kind; every other column is optional.
REQUIRED: dict[str, tuple[str, ...]] = {
    "metric": ("metric_type", "metric_name", "metric_value"),
    "error": ("error_type", "error_level", "error_message"),
    "journey": ("journey_step", "journey_stage"),
    "health": ("component", "status"),
}
_ALLOWED = {
    kind: frozenset(COLUMNS[table]) - {"fingerprint"} | {"kind", "timestamp", "event_id"}
    for kind, table in KIND_TABLE.items()
}


class EventError(ValueError):
    """An event that cannot be stored; the message names the field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def new_event_id() -> str:
    """A random (version 4) UUID in canonical text form, made cheaply."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {c: "89ab"[int(c, 16) % 4] for c in "0123456789abcdef"}


def event_uuid(value) -> str:
    """A canonical UUID for a client event id: itself if a UUID, else a stable UUIDv5."""
    if value is None:
        return new_event_id()
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise EventError("event_id", "must be a string")
    text = str(value)
    if not text or len(text) > 200:
        raise EventError("event_id", "must be 1 to 200 characters")
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(_NAMESPACE, text))


def parse_timestamp(value, now: float) -> int:
    """ISO-8601 text or epoch seconds -> UTC epoch microseconds; None -> now."""
    if value is None:
        return int(now * 1_000_000)
    if isinstance(value, bool):
        raise EventError("timestamp", "must be ISO-8601 text or epoch seconds")
    if isinstance(value, (int, float)):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise EventError("timestamp", "must be finite")
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
        except ValueError:
            raise EventError("timestamp", f"not ISO-8601 or epoch seconds: {value[:40]!r}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        seconds = parsed.timestamp()
    else:
        raise EventError("timestamp", "must be ISO-8601 text or epoch seconds")
    if seconds > now + MAX_FUTURE_SECONDS:
        raise EventError("timestamp", "more than 24 h in the future")
    if seconds < _MIN_EPOCH:
        raise EventError("timestamp", "before 2000-01-01")
    return int(seconds * 1_000_000)


# The field helpers take the field's value (builders read each with one ``dict.get``)
# and check the common case first (a short str, a float): the ingest path calls them
# ~10 times per event, so each lookup and call saved shows in events/s.
def _text(value, field: str, required: bool = False) -> str | None:
    if type(value) is str and value and len(value) <= TEXT_LIMITS.get(field, 1000):
        return value
    if value is None:
        if required:
            raise EventError(field, "is required")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    elif not isinstance(value, str):
        raise EventError(field, "must be a string")
    if required and not value.strip():
        raise EventError(field, "must not be empty")
    limit = TEXT_LIMITS.get(field, 1000)
    return value if len(value) <= limit else value[:limit]


def _number(value, field: str, required: bool = False, minimum: float | None = None) -> float | None:
    if type(value) is float and minimum is None and math.isfinite(value):
        return value
    if value is None:
        if required:
            raise EventError(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventError(field, "must be a number")
    value = float(value)
    if not math.isfinite(value):
        raise EventError(field, "must be a finite number")
    if minimum is not None and value < minimum:
        raise EventError(field, f"must be >= {minimum:g}")
    return value


def _choice(value, field: str, choices: tuple[str, ...], required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if value not in choices:
        raise EventError(field, f"must be one of {', '.join(choices)}")
    return value


def _bool(value, field: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise EventError(field, "must be true or false")
    return value


def _depth_ok(value, depth: int) -> bool:
    if depth > MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(_depth_ok(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth_ok(v, depth + 1) for v in value)
    return True


def _json(value, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise EventError(field, "must be a JSON object")
    if not value:
        return "{}"
    if not _depth_ok(value, 1):
        raise EventError(field, f"nested deeper than {MAX_DEPTH} levels")
    try:
        text = orjson.dumps(privacy.scrub(value))
    except TypeError as exc:
        raise EventError(field, f"not serialisable: {exc}") from None
    if len(text) > MAX_JSON_BYTES:
        raise EventError(field, f"larger than {MAX_JSON_BYTES} bytes")
    return text.decode()


def error_fingerprint(error_type: str, message: str, file: str | None, line: int | None) -> str:
    """Groups repeats of one error: type + message with numbers/hex/quoted values normalised + file + line."""
    normal = re.sub(r"0x[0-9a-fA-F]+|\b[0-9a-f]{8,}\b|\d+", "N", message)
    normal = re.sub(r"'[^']*'|\"[^\"]*\"", "'S'", normal)[:500]
    raw = f"{error_type}\x1f{normal}\x1f{file or ''}\x1f{line if line is not None else ''}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


class EventNormalizer:
    """Validates events and turns them into rows, applying privacy on the way."""

    def __init__(self, session_secret: str) -> None:
        self.hash_session = privacy.SessionHasher(session_secret)
        self._hash = self.hash_session.hash  # the cache itself: one Python call less per event
        self._builders = {"metric": self._metric, "error": self._error, "journey": self._journey,
                          "health": self._health}

    def row(self, kind: str, event: dict, now: float | None = None) -> tuple[str, tuple]:
        """``(table, row)`` for one event, or ``EventError`` naming the field."""
        if not isinstance(event, dict):
            raise EventError("event", "must be a JSON object")
        build = self._builders.get(kind) if isinstance(kind, str) else None  # a list is unhashable
        if build is None:
            raise EventError("kind", f"must be one of {', '.join(KIND_TABLE)}")
        allowed = _ALLOWED[kind]
        if not allowed.issuperset(event):
            unknown = next(key for key in event if key not in allowed)
            raise EventError(str(unknown)[:60], f"unknown field for kind {kind}")
        now = time.time() if now is None else now
        client_id = event.get("event_id")
        event_id = new_event_id() if client_id is None else event_uuid(client_id)
        stamp = event.get("timestamp")
        ts = int(now * 1_000_000) if stamp is None else parse_timestamp(stamp, now)
        return KIND_TABLE[kind], build(event.get, event_id, ts)

    def session(self, event: dict) -> str | None:
        """The hashed session id of an event (None without one)."""
        return self._session(event.get("session_id"))

    def _session(self, value) -> str | None:
        sid = _text(value, "session_id")
        return self._hash(sid) if sid else None

    @staticmethod
    def _url(value, field: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise EventError(field, "must be a string")
        return privacy.clean_url(value)

    def _metric(self, get, event_id: str, ts: int) -> tuple:
        return (
            event_id, self._session(get("session_id")), _text(get("user_id"), "user_id"),
            _text(get("metric_type"), "metric_type", True), _text(get("metric_name"), "metric_name", True),
            _number(get("metric_value"), "metric_value", True), _text(get("metric_unit"), "metric_unit"),
            _text(get("component"), "component"), self._url(get("request_uri"), "request_uri"),
            _text(get("user_agent"), "user_agent"), _json(get("metadata"), "metadata"), ts,
        )

    def _error(self, get, event_id: str, ts: int) -> tuple:
        error_type = _text(get("error_type"), "error_type", True)
        message = privacy.mask_cards(_text(get("error_message"), "error_message", True))
        file = _text(get("error_file"), "error_file")
        line = _number(get("error_line"), "error_line", minimum=0)
        if line is not None and not line.is_integer():
            raise EventError("error_line", "must be an integer")
        if line is not None and line > _MAX_INTEGER:  # the column is a 32-bit INTEGER
            raise EventError("error_line", f"must be at most {_MAX_INTEGER}")
        line = int(line) if line is not None else None
        stack = _text(get("stack_trace"), "stack_trace")
        return (
            event_id, self._session(get("session_id")), _text(get("user_id"), "user_id"), error_type,
            _choice(get("error_level"), "error_level", ERROR_LEVELS), message, file, line,
            privacy.mask_cards(stack) if stack else None, _text(get("component"), "component"),
            self._url(get("request_uri"), "request_uri"), _text(get("user_agent"), "user_agent"),
            _bool(get("resolved", False), "resolved"), ts,
            error_fingerprint(error_type, message, file, line),
        )

    def _journey(self, get, event_id: str, ts: int) -> tuple:
        return (
            event_id, self._session(get("session_id")), _text(get("user_id"), "user_id"),
            _text(get("journey_step"), "journey_step", True), _text(get("journey_stage"), "journey_stage", True),
            _json(get("step_data"), "step_data"), _text(get("conversion_funnel"), "conversion_funnel"),
            _bool(get("drop_off", False), "drop_off"), _number(get("duration_ms"), "duration_ms", minimum=0),
            self._url(get("request_uri"), "request_uri"), self._url(get("referrer"), "referrer"), ts,
        )

    def _health(self, get, event_id: str, ts: int) -> tuple:
        component = _text(get("component"), "component", True)
        message = _text(get("error_message"), "error_message")
        return (
            event_id, component, _text(get("health_check"), "health_check") or component,
            _choice(get("status"), "status", HEALTH_STATUSES),
            _number(get("response_time_ms"), "response_time_ms", minimum=0),
            privacy.mask_cards(message) if message else None, _json(get("metadata"), "metadata"), ts,
        )


def is_critical_error(table: str, row: tuple) -> bool:
    """True for an errors row of level critical (never sampled away)."""
    return table == "errors" and row[4] == "critical"
