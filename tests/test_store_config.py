"""Schema migrations, the settings table and its overrides, on real DuckDB files."""

from __future__ import annotations

import duckdb
import pytest

from btrmon import schema
from btrmon.config import SETTINGS, Config, SettingError, coerce, lookup
from btrmon.monitor import Monitor
from btrmon.store import Database, DatabaseLocked


def test_old_schema_is_migrated_on_open_and_keeps_rows(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)")
    for statement in schema.MIGRATIONS[0][1]:
        con.execute(statement)
    con.execute("INSERT INTO schema_version VALUES (1, now())")
    con.execute("INSERT INTO errors (event_id, error_type, error_level, error_message, timestamp) "
                "VALUES (uuid(), 'exception', 'error', 'kept', now())")
    con.close()

    db = Database(path)
    try:
        assert db.schema_version() == schema.SCHEMA_VERSION
        columns = {r[0] for r in db.query("SELECT column_name FROM information_schema.columns "
                                          "WHERE table_name = 'errors'")}
        assert {"fingerprint", "resolved_at", "resolved_by"} <= columns
        assert "users" in db.tables()
        assert db.query("SELECT error_message FROM errors") == [("kept",)]
        assert db.migrate() == []  # idempotent
    finally:
        db.close()


def test_seed_tables_have_the_seed_columns(monitor):
    seed = {
        "metrics": "id session_id user_id metric_type metric_name metric_value metric_unit component "
                   "request_uri user_agent metadata timestamp",
        "errors": "id session_id user_id error_type error_level error_message error_file error_line "
                  "stack_trace component request_uri user_agent resolved timestamp",
        "journey": "id session_id user_id journey_step journey_stage step_data conversion_funnel drop_off "
                   "duration_ms request_uri referrer timestamp",
        "health": "id component health_check status response_time_ms error_message metadata timestamp",
    }
    for table, names in seed.items():
        rows = monitor.db.query("SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table])
        assert set(names.split()) | {"event_id"} <= {r[0] for r in rows}


def test_second_process_gets_a_clear_lock_error(monitor):
    import subprocess
    import sys

    code = ("from btrmon.store import Database, DatabaseLocked\n"
            f"try:\n    Database({monitor.db.path!r})\nexcept DatabaseLocked as e:\n    print('LOCKED', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.startswith("LOCKED") and "btrmon serve" in out


def test_seed_defaults():
    config = Config(environ={})
    assert config["btr_monitor_enabled"] is True
    for name in ("performance", "errors", "journey", "health", "dashboard"):
        assert config[f"btr_monitor_{name}"] is True
    assert config["btr_monitor_retention"] == 30
    assert config["btr_monitor_sample_rate"] == 100
    assert config["btr_monitor_cache_ttl"] == 300
    assert config["btr_alert_response_time_threshold"] == 5000
    assert config["btr_alert_error_rate_threshold"] == 5
    assert config["btr_alert_memory_threshold"] == 256


def test_env_overrides_database_overrides_default(monitor):
    monitor.config.set("btr_monitor_retention", 10)
    assert monitor.config["btr_monitor_retention"] == 10 and monitor.config.source("btr_monitor_retention") == "database"
    env = Config(monitor.db.load_options, environ={"BTRMON_BTR_MONITOR_RETENTION": "7"})
    assert env["btr_monitor_retention"] == 7 and env.source("btr_monitor_retention") == "env"
    assert Config(monitor.db.load_options, environ={})["btr_monitor_retention"] == 10  # persisted
    monitor.config.reset("btr_monitor_retention")
    assert Config(monitor.db.load_options, environ={})["btr_monitor_retention"] == 30


@pytest.mark.parametrize("name,value,message", [
    ("btr_monitor_retention", "abc", "expected int"),
    ("btr_monitor_retention", 0, ">= 1"),
    ("btr_monitor_sample_rate", 101, "<= 100"),
    ("btr_monitor_enabled", "maybe", "expected bool"),
    ("btrmon_smtp_security", "tls", "one of"),
    ("btr_alert_error_rate_threshold", "nan", "expected float"),
    ("no_such_setting", 1, "unknown setting"),
])
def test_bad_values_are_refused_naming_the_setting(monitor, name, value, message):
    with pytest.raises(SettingError) as info:
        monitor.config.set(name, value)
    assert name in str(info.value) and message in str(info.value)


def test_coerce_from_text():
    assert coerce(lookup("btr_monitor_enabled"), "off") is False
    assert coerce(lookup("btr_alert_error_rate_threshold"), "2.5") == 2.5
    assert coerce(lookup("btrmon_email_recipients"), "a@x.org, b@x.org") == ["a@x.org", "b@x.org"]
    assert coerce(lookup("btrmon_external_services"), '[{"name": "x"}]') == [{"name": "x"}]


def test_every_setting_default_passes_its_own_checks():
    for setting in SETTINGS:
        assert coerce(setting, setting.default) == setting.default, setting.name


def test_settings_survive_a_restart(tmp_path):
    path = tmp_path / "b.duckdb"
    first = Monitor(db=path)
    first.config.set("btrmon_health_interval", 60)
    secret = first.config["btrmon_session_secret"]
    first.close()
    second = Monitor(db=path)
    try:
        assert second.config["btrmon_health_interval"] == 60
        assert second.config["btrmon_session_secret"] == secret  # same session hashes after restart
    finally:
        second.close()


def test_locked_error_type_is_exported():
    assert issubclass(DatabaseLocked, RuntimeError)
