"""The alert engine: rules (``rules``), evaluation and lifecycle (``engine``), escalation,
the 7-day preview, stored history (``store`` + ``btrmon.queries.alerts``) and channels."""

from __future__ import annotations

import logging
from typing import Any, Callable

log = logging.getLogger(__name__)


def apply_filter(monitor, name: str, value: Any, valid: Callable[[Any], bool], expected: str) -> Any:
    """``value`` through the hook filter ``name``; a result failing ``valid`` is logged and ignored."""
    hooks = getattr(monitor, "hooks", None)
    if hooks is None:
        return value
    filtered = hooks.apply_filters(name, value)
    if valid(filtered):
        return filtered
    log.warning("%s filter returned %r, not %s: ignored", name, type(filtered), expected)
    return value
