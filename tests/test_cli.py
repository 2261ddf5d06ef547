"""``python -m btrmon``: keys and config, on the file and through a running server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from btrmon import keys
from btrmon.monitor import Monitor
from btrmon.server import create_flask, write_control_file

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


def test_readme_settings_table_matches_the_code():
    from btrmon.commands.config import settings_markdown

    assert settings_markdown() in (ROOT / "README.md").read_text()
