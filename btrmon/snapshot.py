"""Snapshots for notebooks: one Parquet file per event table, replaced atomically.

DuckDB lets one process hold the live file, so while the server runs notebooks
read ``<db dir>/snapshot/<table>.parquet`` instead. The server refreshes them every
``btrmon_snapshot_interval`` seconds (skipped when nothing was committed since the
last one) and on ``python -m btrmon snapshot``. The four tables are copied in one
read transaction, so they are consistent with each other. Each file is written to
``<table>.tmp.parquet`` and moved over the old one with ``os.replace``: a reader
sees the old or the new file, never half of one. ``_meta.json`` records when.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from btrmon.schema import EVENT_TABLES

log = logging.getLogger(__name__)

META_FILE = "_meta.json"


def snapshot_dir(db_path: str | os.PathLike) -> Path:
    """Where the snapshot of the database at ``db_path`` lives: ``<db dir>/snapshot/``."""
    return Path(db_path).resolve().parent / "snapshot"


def take_snapshot(monitor, progress=None) -> dict:
    """Write every event table of ``monitor``'s database as Parquet; returns the metadata written."""
    directory = snapshot_dir(monitor.db.path)
    directory.mkdir(parents=True, exist_ok=True)
    started = time.time()
    seq = monitor.writer.commit_seq if monitor.writer is not None else None
    cursor = monitor.db.con.cursor()
    rows: dict[str, int] = {}
    try:
        cursor.execute("BEGIN TRANSACTION")  # one consistent view of the four tables
        for done, table in enumerate(EVENT_TABLES):
            tmp = directory / f"{table}.tmp.parquet"
            cursor.execute(f"COPY (SELECT * FROM {table}) TO '{_sql_path(tmp)}' "
                           "(FORMAT parquet, COMPRESSION zstd)")
            rows[table] = cursor.execute(f"SELECT count(*) FROM '{_sql_path(tmp)}'").fetchall()[0][0]
            os.replace(tmp, directory / f"{table}.parquet")
            if progress:
                progress(done + 1, len(EVENT_TABLES), "snapshot tables")
        cursor.execute("COMMIT")
    finally:
        cursor.close()
    meta = {"taken_at": started, "finished_at": time.time(), "commit_seq": seq, "rows": rows,
            "database": str(Path(monitor.db.path).resolve())}
    _write_json(directory / META_FILE, meta)
    return meta


def read_meta(db_path: str | os.PathLike) -> dict | None:
    """The metadata of the last snapshot of ``db_path`` (None when there is none)."""
    try:
        return json.loads((snapshot_dir(db_path) / META_FILE).read_text())
    except (OSError, ValueError):
        return None


def last_snapshot_age(db_path: str | os.PathLike) -> float | None:
    """Seconds since the last snapshot of ``db_path`` was taken, or None if never."""
    meta = read_meta(db_path)
    if not meta or "taken_at" not in meta:
        return None
    return max(0.0, time.time() - float(meta["taken_at"]))


def refresh_if_changed(monitor) -> bool:
    """The periodic job: take a snapshot unless nothing was committed since the last one."""
    meta = read_meta(monitor.db.path)
    seq = monitor.writer.commit_seq if monitor.writer is not None else None
    if meta and seq is not None and meta.get("commit_seq") == seq and meta.get("database") == str(
        Path(monitor.db.path).resolve()
    ) and all((snapshot_dir(monitor.db.path) / f"{t}.parquet").exists() for t in EVENT_TABLES):
        return False
    try:
        take_snapshot(monitor)
    except Exception:  # noqa: BLE001 - a failed snapshot never stops the server
        log.exception("snapshot of %s failed", monitor.db.path)
        return False
    return True


def jobs(monitor) -> list:
    """The periodic snapshot job (every ``btrmon_snapshot_interval`` s; none when 0)."""
    from btrmon.scheduler import JobSpec

    interval = monitor.config["btrmon_snapshot_interval"]
    if not interval or monitor.db is None:
        return []
    return [JobSpec(id="snapshot", func=lambda: refresh_if_changed(monitor), seconds=float(interval))]


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)
