"""Logging: level from BTRMON_LOG_LEVEL, a rotating file under the data dir, secrets redacted."""

from __future__ import annotations

import logging

import pytest

from btrmon.logs import log_path, redact, setup_logging

SECRET_KEY = "btr_0123abcd_" + "S" * 43


@pytest.fixture
def restore_root_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_redact_covers_keys_tokens_and_passwords():
    text = redact(f"key={SECRET_KEY} Authorization: Bearer abc.def-ghi password=hunter2 "
                  '{"smtp_password": "s3cret", "auth_token": "t0k"} user=alice')
    for secret in (SECRET_KEY, "abc.def-ghi", "hunter2", "s3cret", "t0k"):
        assert secret not in text
    assert "user=alice" in text


def test_setup_logging_writes_a_redacted_file(tmp_path, monkeypatch, capsys, restore_root_logging):
    monkeypatch.setenv("BTRMON_LOG_LEVEL", "debug")
    db = str(tmp_path / "data" / "btrmon.duckdb")
    setup_logging(db)
    assert logging.getLogger().level == logging.DEBUG
    log = logging.getLogger("btrmon.test")
    log.debug("client sent %s with password=%s", SECRET_KEY, "hunter2")
    try:
        raise ValueError(f"bad key {SECRET_KEY}")
    except ValueError:
        log.exception("failure")
    for handler in logging.getLogger().handlers:
        handler.flush()
    content = log_path(db).read_text()
    assert "client sent btr_*** with password=***" in content and "failure" in content
    assert SECRET_KEY not in content and "hunter2" not in content
    assert SECRET_KEY not in capsys.readouterr().err
    setup_logging(db)  # idempotent: no duplicated handlers
    marked = [h for h in logging.getLogger().handlers if getattr(h, "_btrmon_handler", False)]
    assert len(marked) == 2
