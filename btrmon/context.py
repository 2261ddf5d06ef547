"""Request/session context carried by contextvars (threads and asyncio tasks alike).

A web app sets ``session_id``, ``user_id``, ``request_uri`` and ``user_agent`` once
per request (the WSGI middleware does it for you) and every ``Monitor`` call made
inside picks them up; fields given explicitly to a call win over the context.

    with monitor.context(session_id=sid, user_id=uid):
        monitor.record_metric("performance", "render", 12.5, "ms")

The context value is an immutable-by-convention dict: it is replaced, never
mutated, so a queued event can keep a reference to it at no copying cost.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

FIELDS: tuple[str, ...] = ("session_id", "user_id", "request_uri", "user_agent")
# Which context fields each event kind accepts (health rows have none of them).
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "metric": FIELDS,
    "error": FIELDS,
    "journey": ("session_id", "user_id", "request_uri"),
    "health": (),
}

_EMPTY: dict = {}
_current: ContextVar[dict] = ContextVar("btrmon_context", default=_EMPTY)


def check_fields(fields: dict) -> dict:
    """``fields`` checked (ValueError naming a bad field) with integer ids as strings."""
    for key, value in fields.items():
        if key not in FIELDS:
            raise ValueError(f"{key}: unknown context field (one of {', '.join(FIELDS)})")
        if value is not None and not isinstance(value, (str, int)):
            raise ValueError(f"{key}: must be a string")
    return {k: (str(v) if isinstance(v, int) else v) for k, v in fields.items()}


def current() -> dict:
    """The context of the running thread/task (do not mutate it)."""
    return _current.get()


def set_context(**fields) -> None:
    """Merge ``fields`` into the current context until it is cleared (None removes a field)."""
    merged = {**_current.get(), **check_fields(fields)}
    _current.set({k: v for k, v in merged.items() if v is not None})


def clear_context() -> None:
    """Forget every context field of the running thread/task."""
    _current.set(_EMPTY)


@contextmanager
def context(**fields) -> Iterator[dict]:
    """Merge ``fields`` into the context for the ``with`` block, then restore the previous one."""
    merged = {**_current.get(), **check_fields(fields)}
    token = _current.set({k: v for k, v in merged.items() if v is not None})
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def apply(kind: str, event: dict, ctx: dict) -> dict:
    """``event`` with the context fields its kind accepts filled in where missing."""
    if not ctx:
        return event
    for key in KIND_FIELDS.get(kind, ()):
        if event.get(key) is None and key in ctx:
            event[key] = ctx[key]
    return event
