"""HTTP ingestion: ``POST /api/v1/events`` (and per-kind routes), ``GET /api/v1/stats``.

Auth, limits, parsing and the answer live here; validation is ``Monitor.prepare``
and storage is the writer. A 200 is sent only after the writer committed the
events (or spooled them, when the database cannot be written).

Statuses: 200 ``{"accepted", "duplicates", "rejected": [{"index", "error"}], "dropped"}``;
400 malformed JSON or not a list of objects; 401 missing/unknown key; 413 body over
``btrmon_max_body_bytes`` (also after gzip); 415 not JSON; 429 per-key rate limit;
503 queue full, commit timeout or monitoring disabled. 429 and 503 carry Retry-After.
"""

from __future__ import annotations

import threading
import time
import zlib

import flask
import orjson

from btrmon import keys
from btrmon.integrations import expand_action
from btrmon.models import EventError
from btrmon.server import current_monitor
from btrmon.writer import QueueFull

blueprint = flask.Blueprint("ingest", __name__)

KIND_ROUTES = {"metrics": "metric", "errors": "error", "journey": "journey", "health": "health"}
COMMIT_TIMEOUT = 30.0


def _error(status: int, message: str, retry_after: int | None = None):
    response = flask.jsonify({"error": message, "status": status})
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


class _RateLimiter:
    """Token bucket per key: ``rate`` requests/s with a burst of 2 s worth."""

    def __init__(self) -> None:
        self._buckets: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: str, rate: int) -> float:
        """0 when the request may go ahead, else seconds to wait."""
        if rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (2.0 * rate, now))
            tokens = min(2.0 * rate, tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[key] = [tokens, now]
                return (1 - tokens) / rate
            self._buckets[key] = [tokens - 1, now]
            return 0.0


def _limiter(monitor) -> _RateLimiter:
    limiter = getattr(monitor, "_rate_limiter", None)
    if limiter is None:
        limiter = monitor._rate_limiter = _RateLimiter()
    return limiter


def _read_body(limit: int) -> bytes:
    """The request body, gunzipped when sent with Content-Encoding: gzip; ValueError if too big."""
    request = flask.request
    if request.content_length is not None and request.content_length > limit:
        raise OverflowError
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise OverflowError
    encoding = request.headers.get("Content-Encoding", "identity").lower()
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise LookupError(encoding)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    body = inflater.decompress(raw, limit + 1)
    if len(body) > limit or inflater.unconsumed_tail:
        raise OverflowError
    return body


def _parse_events(body: bytes) -> list:
    """The list of events of a body: a JSON array or ``{"events": [...]}``."""
    data = orjson.loads(body)
    if isinstance(data, dict) and "events" in data:
        data = data["events"]
    if not isinstance(data, list):
        raise TypeError("body must be a JSON array of events or {\"events\": [...]}")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise TypeError(f"events[{index}] is not a JSON object")
    return data


def _expand(monitor, events: list, kind: str | None, now: float):
    """``(pairs, origin, rejected)``: (kind, event) pairs, the index each came from, early errors."""
    pairs, origin, rejected = [], [], []
    for index, event in enumerate(events):
        event_kind = kind or event.get("kind")
        if kind and event.get("kind") not in (None, kind):
            rejected.append((index, f"kind: must be {kind} on this route"))
            continue
        if event_kind == "action":
            try:
                expanded = expand_action(monitor, event, now)
            except EventError as exc:
                rejected.append((index, str(exc)))
                continue
            pairs.extend(expanded)
            origin.extend([index] * len(expanded))
            continue
        if event_kind is None:
            rejected.append((index, "kind: is required (metric, error, journey, health or action)"))
            continue
        pairs.append((event_kind, event))
        origin.append(index)
    return pairs, origin, rejected


@blueprint.post("/api/v1/events")
def post_events():
    """Store a batch of events of any kind."""
    return _ingest(None)


@blueprint.post("/api/v1/<any(metrics, errors, journey, health):route>")
def post_kind(route: str):
    """Store a batch of events of the kind the route names."""
    return _ingest(KIND_ROUTES[route])


def _ingest(kind: str | None):
    monitor = current_monitor()
    key_name = keys.authenticate(monitor, flask.request)
    if key_name is None:
        return _error(401, "missing or unknown API key (Authorization: Bearer <key> or X-API-Key)")
    if not monitor.enabled:
        return _error(503, "monitoring is disabled (btr_monitor_enabled is false); "
                           "enable it with `python -m btrmon enable`", retry_after=60)
    wait = _limiter(monitor).retry_after(key_name, monitor.config["btrmon_rate_limit_per_key"])
    if wait:
        monitor.counters.add("rate_limited")
        return _error(429, f"rate limit of key {key_name!r} exceeded", retry_after=max(1, round(wait)))
    if flask.request.mimetype != "application/json":
        return _error(415, "Content-Type must be application/json")
    limit = monitor.config["btrmon_max_body_bytes"]
    try:
        events = _parse_events(_read_body(limit))
    except OverflowError:
        return _error(413, f"body larger than {limit} bytes (after decompression)")
    except LookupError as exc:
        return _error(415, f"Content-Encoding {exc.args[0]!r} not supported (use gzip or none)")
    except (orjson.JSONDecodeError, zlib.error, UnicodeDecodeError) as exc:
        return _error(400, f"malformed body: {exc}")
    except TypeError as exc:
        return _error(400, str(exc))
    now = time.time()
    pairs, origin, early = _expand(monitor, events, kind, now)
    rows, rejected, dropped = monitor.prepare(pairs, now)
    rejected = sorted(early + [(origin[i], message) for i, message in rejected])
    monitor.counters.add("rejected", len(early))
    result = None
    if rows:
        try:
            result = monitor.submit(rows).wait(COMMIT_TIMEOUT)
        except QueueFull as exc:
            return _error(503, f"{exc}; retry later", retry_after=1)
        except TimeoutError:
            return _error(503, "the database did not commit in time; retry (retries are deduplicated)",
                          retry_after=5)
        except Exception as exc:  # noqa: BLE001 - the store failed and nothing was spooled
            return _error(503, f"events not stored: {type(exc).__name__}; retry later", retry_after=5)
        monitor.counters.add("accepted", result.accepted)
        monitor.counters.add("duplicates", result.duplicates)
    body = {
        "accepted": result.accepted if result else 0,
        "duplicates": result.duplicates if result else 0,
        "rejected": [{"index": i, "error": message} for i, message in rejected],
    }
    if dropped:
        body["dropped"] = dict(dropped)
    return flask.Response(orjson.dumps(body), mimetype="application/json")


@blueprint.get("/api/v1/stats")
def stats():
    """Ingestion counters, queue depth and commit latency."""
    monitor = current_monitor()
    if keys.authenticate(monitor, flask.request) is None:
        return _error(401, "missing or unknown API key (Authorization: Bearer <key> or X-API-Key)")
    counters = monitor.counters.snapshot()
    writer = monitor.writer
    s = writer.stats
    return flask.jsonify({
        "accepted": counters.get("accepted", 0),
        "rejected": counters.get("rejected", 0),
        "duplicates": counters.get("duplicates", 0),
        "rate_limited": counters.get("rate_limited", 0),
        "dropped": {k.split(":", 1)[1]: v for k, v in counters.items() if k.startswith("dropped:")},
        "queue_depth": writer.queue_depth,
        "commits": s.commits,
        "rows_committed": s.rows_committed,
        "commit_latency_ms": {
            "last": round(s.last_commit_ms, 3),
            "avg": round(s.sum_commit_ms / s.commits, 3) if s.commits else None,
            "max": round(s.max_commit_ms, 3),
        },
        "last_commit_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s.last_commit_at)) if s.last_commit_at else None,
        "spooled_events": s.spooled_events,
        "commit_failures": s.failures,
    })
