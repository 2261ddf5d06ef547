"""Logging: ``BTRMON_LOG_LEVEL`` (default INFO) to stderr and a rotating file under the data dir.

A filter on both handlers redacts secrets from every record: ``btr_...`` API keys,
``Bearer`` tokens, and values of password/token/secret/api_key/authorization fields
(``key=value``, ``key: value`` and JSON ``"key": "value"``), also in arguments.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import sys
from pathlib import Path

from btrmon.store import default_db_path

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"
LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILE_COUNT = 5
_MARK = "_btrmon_handler"

_PATTERNS = (
    (re.compile(r"btr_[0-9a-f]{8}_[A-Za-z0-9_\-]{20,}"), "btr_***"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]+"), r"\1 ***"),
    (re.compile(r"""(?i)(["']?(?:password|passwd|pwd|secret|token|api[_-]?key|auth_token|authorization|cookie)[a-z_]*["']?\s*[:=]\s*)(["']?)[^\s"',;&}]+"""),
     r"\1\2***"),
)


def redact(text: str) -> str:
    """``text`` with API keys, bearer tokens and password/token/secret values replaced by ***."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (with its arguments merged) through ``redact``."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logged as is
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def log_path(db_path: str | None = None) -> Path:
    """``<data dir>/logs/btrmon.log`` beside the database."""
    return Path(db_path or default_db_path()).resolve().parent / "logs" / "btrmon.log"


def setup_logging(db_path: str | None = None, level: str | None = None) -> logging.Logger:
    """Configure the root logger once (idempotent): stderr + rotating file, both redacted."""
    root = logging.getLogger()
    level_name = (level or os.environ.get("BTRMON_LOG_LEVEL") or "INFO").upper()
    root.setLevel(getattr(logging, level_name, logging.INFO))
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    formatter = logging.Formatter(FORMAT)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    path = log_path(db_path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(path, maxBytes=LOG_FILE_BYTES,
                                                             backupCount=LOG_FILE_COUNT, encoding="utf-8"))
    except OSError as exc:
        print(f"btrmon: cannot write the log file {path}: {exc}", file=sys.stderr)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(RedactingFilter())
        setattr(handler, _MARK, True)
        root.addHandler(handler)
    return root
