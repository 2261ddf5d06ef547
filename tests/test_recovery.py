"""``rebuild``: truncated file, garbage file, missing table, intact file, file in use."""

from __future__ import annotations

import io
import os
from pathlib import Path

import duckdb
import pytest

from btrmon.cli import CommandContext, run_argv
from btrmon.monitor import Monitor
from btrmon.recovery import rebuild


def _make_db(path: Path, metrics: int = 20000) -> None:
    m = Monitor(db=path)
    try:
        rows, _, _ = m.prepare([("metric", {"metric_type": "t", "metric_name": "n", "metric_value": i})
                                for i in range(metrics)])
        m.submit(rows).wait(60)
        from btrmon.keys import create_key

        create_key(m, "app")
    finally:
        m.close()


def _cli_rebuild(path: Path) -> tuple[int, str]:
    out = io.StringIO()
    return run_argv(["rebuild", "--db", str(path)], CommandContext(db_path=str(path), out=out)), out.getvalue()


def _asides(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name + ".damaged-") and not p.name.endswith(".wal"))


def test_intact_database_is_left_alone(tmp_path):
    path = tmp_path / "ok.duckdb"
    _make_db(path, 100)
    code, text = _cli_rebuild(path)
    assert code == 0 and "nothing changed" in text and "metrics" in text
    assert _asides(path) == []


def test_missing_table_is_recreated_and_data_kept(tmp_path):
    path = tmp_path / "missing.duckdb"
    _make_db(path, 100)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE health")
    con.close()
    code, text = _cli_rebuild(path)
    assert code == 0 and "health" in text and "missing; re-created empty" in text
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM health").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM metrics").fetchall() == [(100,)]
    finally:
        con.close()
    assert _asides(path) == []


def test_truncated_database_keeps_readable_tables_and_moves_the_file_aside(tmp_path):
    path = tmp_path / "truncated.duckdb"
    _make_db(path)
    original = path.read_bytes()
    os.truncate(path, len(original) // 2)
    code, text = _cli_rebuild(path)
    assert code == 0 and "damaged" in text and "kept as" in text
    [aside] = _asides(path)
    assert aside.stat().st_size == len(original) // 2  # kept byte for byte, never deleted
    m = Monitor(db=path)  # the rebuilt file opens, migrates and takes writes
    try:
        assert m.db.query("SELECT count(*) FROM metrics")[0][0] == 20000  # readable table copied whole
        assert m.db.query("SELECT count(*) FROM api_keys")[0][0] == 1
        before = m.db.query("SELECT max(id) FROM metrics")[0][0]
        rows, _, _ = m.prepare([("metric", {"metric_type": "t", "metric_name": "new", "metric_value": 1})])
        m.submit(rows).wait(10)
        assert m.db.query("SELECT id FROM metrics WHERE metric_name = 'new'")[0][0] > before
    finally:
        m.close()


@pytest.mark.parametrize("content", [b"", os.urandom(64 * 1024)], ids=["short", "garbage"])
def test_unreadable_file_is_moved_aside_and_a_fresh_database_created(tmp_path, content):
    path = tmp_path / "garbage.duckdb"
    path.write_bytes(b"this is not duckdb" + content)
    report = rebuild(path)
    assert report.fresh and report.moved_aside
    assert Path(report.moved_aside).read_bytes() == b"this is not duckdb" + content
    assert "could not be opened" in "\n".join(report.lines())
    m = Monitor(db=path)
    try:
        assert m.db.query("SELECT count(*) FROM metrics") == [(0,)]
    finally:
        m.close()


def test_rebuild_refuses_a_file_in_use_elsewhere(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "busy.duckdb"
    _make_db(path, 10)
    holder = subprocess.Popen([sys.executable, "-c",
                               "import duckdb,sys; c=duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()",
                               str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, text = _cli_rebuild(path)
        assert code == 2 and "stop the btrmon server" in text
        assert _asides(path) == []
    finally:
        holder.stdin.close()
        holder.wait(30)
