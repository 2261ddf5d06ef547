"""Snapshots for notebooks: the four event tables as Parquet, written next to the database.

DuckDB lets one process hold the live file, so while the server runs notebooks
read ``<db dir>/snapshot/`` instead. The server refreshes it every
``btrmon_snapshot_interval`` seconds (skipped when nothing was committed since the
last one) and on ``python -m btrmon snapshot``. The four tables are copied in one
read transaction, so they are consistent with each other.

A Parquet file is never rewritten in place: DuckDB opens a file several times per
query, and a file replaced in between reads as garbage ("don't know what type",
"Invalid data"). Each snapshot is a new *generation* ``<table>.<generation>.parquet``;
``_meta.json`` (replaced atomically) names the newest one, and ``notebook.connect``
binds its views to those files. Generations are removed ``KEEP_SECONDS`` after they
were written, once newer ones exist. ``<table>.parquet`` is a hard link to the newest
generation, swapped with ``os.replace``, for tools that open a file once (pandas, pyarrow).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path

from btrmon.schema import EVENT_TABLES

log = logging.getLogger(__name__)

META_FILE = "_meta.json"
KEEP_SECONDS = 300  # how long a superseded generation stays readable (queries in flight, open connections)
KEEP_GENERATIONS = 2  # the newest generations always kept


def snapshot_dir(db_path: str | os.PathLike) -> Path:
    """Where the snapshot of the database at ``db_path`` lives: ``<db dir>/snapshot/``."""
    return Path(db_path).resolve().parent / "snapshot"


def take_snapshot(monitor, progress=None) -> dict:
    """Write every event table of ``monitor``'s database as a new generation; returns the metadata written."""
    directory = snapshot_dir(monitor.db.path)
    directory.mkdir(parents=True, exist_ok=True)
    started = time.time()
    generation = str(time.time_ns())
    seq = monitor.writer.commit_seq if monitor.writer is not None else None
    cursor = monitor.db.con.cursor()
    rows: dict[str, int] = {}
    files = {table: f"{table}.{generation}.parquet" for table in EVENT_TABLES}  # names from the schema only
    tmp = {table: directory / f"{table}.{generation}.tmp" for table in EVENT_TABLES}
    try:
        cursor.execute("BEGIN TRANSACTION")  # one consistent view of the four tables
        for done, table in enumerate(EVENT_TABLES):
            cursor.execute(f"COPY (SELECT * FROM {table}) TO '{_sql_path(tmp[table])}' "
                           "(FORMAT parquet, COMPRESSION zstd)")
            rows[table] = cursor.execute(f"SELECT count(*) FROM read_parquet('{_sql_path(tmp[table])}')").fetchall()[0][0]
            if progress:
                progress(done + 1, len(EVENT_TABLES), "snapshot tables")
        cursor.execute("COMMIT")
        for table in EVENT_TABLES:
            os.replace(tmp[table], directory / files[table])
    finally:
        cursor.close()
        for path in tmp.values():
            path.unlink(missing_ok=True)  # left over only when the copy failed
    meta = {"taken_at": started, "finished_at": time.time(), "commit_seq": seq, "rows": rows,
            "database": str(Path(monitor.db.path).resolve()), "generation": generation, "files": files}
    _write_json(directory / META_FILE, meta)  # from here on readers use the new generation
    for table in EVENT_TABLES:
        _link(directory / files[table], directory / f"{table}.parquet")
    _remove_old_generations(directory, generation)
    return meta


def _link(target: Path, stable: Path) -> None:
    """Point ``stable`` at ``target`` atomically (a hard link; a copy where links are refused)."""
    tmp = stable.with_name(f"{target.name}.link")  # unique per generation: concurrent snapshots never share it
    tmp.unlink(missing_ok=True)
    try:
        os.link(target, tmp)
    except OSError:
        import shutil

        shutil.copyfile(target, tmp)
    os.replace(tmp, stable)


def _remove_old_generations(directory: Path, current: str) -> None:
    """Delete generations older than ``KEEP_SECONDS`` beyond the newest ``KEEP_GENERATIONS``."""
    generations: dict[str, list[Path]] = {}
    for path in directory.glob("*.*.parquet"):
        generation = path.name.split(".")[-2]
        if generation.isdigit():
            generations.setdefault(generation, []).append(path)
    newest = sorted(generations, key=int)[-KEEP_GENERATIONS:] + [current]
    cutoff = time.time() - KEEP_SECONDS
    for generation, paths in generations.items():
        if generation in newest:
            continue
        for path in paths:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                pass  # already gone (another snapshot cleaned it)


def read_meta(db_path: str | os.PathLike) -> dict | None:
    """The metadata of the last snapshot of ``db_path`` (None when there is none)."""
    try:
        return json.loads((snapshot_dir(db_path) / META_FILE).read_text())
    except (OSError, ValueError):
        return None


def current_files(meta: dict) -> dict[str, str]:
    """File name of each table in the generation ``meta`` names (``<table>.parquet`` for old snapshots)."""
    files = meta.get("files") or {}
    return {table: files.get(table, f"{table}.parquet") for table in EVENT_TABLES}


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
    ) and all((snapshot_dir(monitor.db.path) / name).exists() for name in current_files(meta).values()):
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
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, path)
