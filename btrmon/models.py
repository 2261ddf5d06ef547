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


def _text(event: dict, field: str, required: bool = False) -> str | None:
    value = event.get(field)
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


def _number(event: dict, field: str, required: bool = False, minimum: float | None = None) -> float | None:
    value = event.get(field)
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


def _choice(event: dict, field: str, choices: tuple[str, ...], required: bool = True) -> str | None:
    value = event.get(field)
    if value is None and not required:
        return None
    if value not in choices:
        raise EventError(field, f"must be one of {', '.join(choices)}")
    return value


def _bool(event: dict, field: str) -> bool:
    value = event.get(field, False)
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


def _json(event: dict, field: str) -> str | None:
    value = event.get(field)
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

    def row(self, kind: str, event: dict, now: float | None = None) -> tuple[str, tuple]:
        """``(table, row)`` for one event, or ``EventError`` naming the field."""
        if not isinstance(event, dict):
            raise EventError("event", "must be a JSON object")
        if kind not in KIND_TABLE:
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
        return KIND_TABLE[kind], getattr(self, "_" + kind)(event, event_id, ts)

    def session(self, event: dict) -> str | None:
        """The hashed session id of an event (None without one)."""
        sid = _text(event, "session_id")
        return self.hash_session(sid) if sid else None

    def _url(self, event: dict, field: str) -> str | None:
        value = event.get(field)
        if value is None:
            return None
        if not isinstance(value, str):
            raise EventError(field, "must be a string")
        return privacy.clean_url(value)

    def _ua(self, event: dict) -> str | None:
        return _text(event, "user_agent")

    def _metric(self, e: dict, event_id: str, ts: int) -> tuple:
        return (
            event_id, self.session(e), _text(e, "user_id"),
            _text(e, "metric_type", True), _text(e, "metric_name", True),
            _number(e, "metric_value", True), _text(e, "metric_unit"), _text(e, "component"),
            self._url(e, "request_uri"), self._ua(e), _json(e, "metadata"), ts,
        )

    def _error(self, e: dict, event_id: str, ts: int) -> tuple:
        error_type = _text(e, "error_type", True)
        message = privacy.mask_cards(_text(e, "error_message", True))
        file = _text(e, "error_file")
        line = _number(e, "error_line", minimum=0)
        if line is not None and not line.is_integer():
            raise EventError("error_line", "must be an integer")
        line = int(line) if line is not None else None
        stack = _text(e, "stack_trace")
        return (
            event_id, self.session(e), _text(e, "user_id"), error_type,
            _choice(e, "error_level", ERROR_LEVELS), message, file, line,
            privacy.mask_cards(stack) if stack else None, _text(e, "component"),
            self._url(e, "request_uri"), self._ua(e), _bool(e, "resolved"), ts,
            error_fingerprint(error_type, message, file, line),
        )

    def _journey(self, e: dict, event_id: str, ts: int) -> tuple:
        return (
            event_id, self.session(e), _text(e, "user_id"),
            _text(e, "journey_step", True), _text(e, "journey_stage", True), _json(e, "step_data"),
            _text(e, "conversion_funnel"), _bool(e, "drop_off"),
            _number(e, "duration_ms", minimum=0), self._url(e, "request_uri"),
            self._url(e, "referrer"), ts,
        )

    def _health(self, e: dict, event_id: str, ts: int) -> tuple:
        component = _text(e, "component", True)
        message = _text(e, "error_message")
        return (
            event_id, component, _text(e, "health_check") or component,
            _choice(e, "status", HEALTH_STATUSES), _number(e, "response_time_ms", minimum=0),
            privacy.mask_cards(message) if message else None, _json(e, "metadata"), ts,
        )


def is_critical_error(table: str, row: tuple) -> bool:
    """True for an errors row of level critical (never sampled away)."""
    return table == "errors" and row[4] == "critical"
