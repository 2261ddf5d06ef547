"""``python -m btrmon``: keys and config, on the file and through a running server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from btrmon import keys
from btrmon.monitor import Monitor
from btrmon.server import create_flask, write_control_file
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parent.parent


def btrmon(*args: str, db: Path) -> subprocess.CompletedProcess:
    """Run the CLI in a subprocess (a separate process, like a user's shell)."""
    return subprocess.run([sys.executable, "-m", "btrmon", *args, "--db", str(db)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_keys_create_prints_the_key_alone_on_the_last_line(tmp_path):
    db = tmp_path / "b.duckdb"
    created = btrmon("keys", "create", "--name", "shop", db=db)
    assert created.returncode == 0
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("btr_") and " " not in key
    listing = btrmon("keys", "list", db=db)
    assert "shop" in listing.stdout and key not in listing.stdout
    monitor = Monitor(db=db)
    try:
        assert keys.verify(monitor, key) == "shop"
        stored = monitor.db.query("SELECT key_hash FROM api_keys")[0][0]
        assert key not in stored  # hashed
    finally:
        monitor.close()
    assert btrmon("keys", "revoke", "shop", db=db).returncode == 0
    assert "revoked" in btrmon("keys", "list", db=db).stdout


def test_config_set_checks_types_and_get_reads_back(tmp_path):
    db = tmp_path / "b.duckdb"
    bad = btrmon("config", "set", "btr_monitor_sample_rate", "lots", db=db)
    assert bad.returncode == 2 and "btr_monitor_sample_rate: expected int" in bad.stdout + bad.stderr
    assert btrmon("config", "set", "btr_monitor_sample_rate", "25", db=db).returncode == 0
    assert btrmon("config", "get", "btr_monitor_sample_rate", db=db).stdout.strip() == "25"
    listing = btrmon("config", "list", db=db).stdout
    assert "btr_monitor_sample_rate" in listing and "[database]" in listing
    assert "btrmon_session_secret" in listing and "********" in listing  # secrets masked


def test_commands_go_through_the_server_that_holds_the_file(monitor, serve_wsgi):
    server = serve_wsgi(create_flask(monitor))
    write_control_file(monitor, server.url)
    db = Path(monitor.db.path)
    changed = btrmon("config", "set", "btr_monitor_retention", "12", db=db)
    assert changed.returncode == 0, changed.stderr
    assert monitor.config["btr_monitor_retention"] == 12  # the live server's settings changed
    created = btrmon("keys", "create", "--name", "live", db=db)
    assert keys.verify(monitor, created.stdout.strip().splitlines()[-1]) == "live"


def test_keys_revoked_through_the_server_are_refused_at_once(monitor, serve_wsgi, api_key):
    import requests

    server = serve_wsgi(create_flask(monitor))
    write_control_file(monitor, server.url)
    event = [{"kind": "metric", "metric_type": "performance", "metric_name": "request_duration", "metric_value": 12}]
    post = lambda: requests.post(server.url + "/api/v1/events", json=event,  # noqa: E731
                                 headers={"Authorization": f"Bearer {api_key}"}, timeout=30)
    assert post().status_code == 200  # the server now has the key in its cache
    wait_for(lambda: keys.list_keys(monitor)[0]["last_used_at"] is not None)  # recorded in the background
    revoked = btrmon("keys", "revoke", "test", db=Path(monitor.db.path))
    assert revoked.returncode == 0 and "revoked 1 key" in revoked.stdout, revoked.stderr
    assert post().status_code == 401
    assert "revoked" in btrmon("keys", "list", db=Path(monitor.db.path)).stdout


def test_admin_cli_endpoint_needs_the_control_file_token(monitor, serve_wsgi):
    import requests

    server = serve_wsgi(create_flask(monitor))
    token = write_control_file(monitor, server.url) and monitor.admin_token
    url = server.url + "/api/v1/admin/cli"
    argv = {"argv": ["config", "set", "btr_monitor_retention", "3"]}
    for headers in ({}, {"X-Admin-Token": "wrong"}):
        answer = requests.post(url, json=argv, headers=headers, timeout=30)
        assert answer.status_code == 403 and "admin token" in answer.json()["error"]
    assert monitor.config["btr_monitor_retention"] == 30  # nothing ran
    bad = requests.post(url, json={"argv": "config list"}, headers={"X-Admin-Token": token}, timeout=30)
    assert bad.status_code == 400 and "argv" in bad.json()["error"]
    ok = requests.post(url, json=argv, headers={"X-Admin-Token": token}, timeout=30).json()
    assert ok["exit_code"] == 0 and monitor.config["btr_monitor_retention"] == 3


def test_config_get_and_set_refuse_unknown_names_and_out_of_range_values(tmp_path):
    db = tmp_path / "b.duckdb"
    unknown = btrmon("config", "get", "btr_no_such_setting", db=db)
    assert unknown.returncode == 2 and "btr_no_such_setting" in unknown.stdout + unknown.stderr
    low = btrmon("config", "set", "btr_monitor_retention", "0", db=db)
    assert low.returncode == 2 and "btr_monitor_retention" in low.stdout + low.stderr
    assert btrmon("config", "get", "btr_monitor_retention", db=db).stdout.strip() == "30"


def test_readme_settings_table_matches_the_code():
    from btrmon.commands.config import settings_markdown

    assert settings_markdown() in (ROOT / "README.md").read_text()


def test_init_sets_up_an_empty_database_once(tmp_path):
    """What `make run` does before serving: demo data, first key, first admin; then nothing."""
    import os

    from btrmon import users

    db = tmp_path / "b.duckdb"
    env = {**os.environ, "BTRMON_ADMIN_PASSWORD": "first-admin-pass"}
    run = lambda: subprocess.run([sys.executable, "-m", "btrmon", "init", "--db", str(db), "--days", "0.1",  # noqa: E731
                                  "--sessions", "30"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    first = run()
    assert first.returncode == 0, first.stderr
    key = next(line.strip() for line in first.stdout.splitlines() if line.strip().startswith("btr_"))
    assert "demo rows:" in first.stdout and "first-admin-pass" in first.stdout
    second = run()
    assert second.returncode == 0 and "btr_" not in second.stdout and "password" not in second.stdout
    monitor = Monitor(db=db)
    try:
        assert keys.verify(monitor, key) == "default"
        assert users.authenticate(monitor, "admin", "first-admin-pass")["role"] == "admin"
        assert monitor.db.query("SELECT count(*) FROM metrics")[0][0] > 0
        assert len(keys.list_keys(monitor)) == 1
    finally:
        monitor.close()
