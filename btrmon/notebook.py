"""Notebook access: the four event tables from another process, without the live lock.

``connect()`` returns an in-memory DuckDB connection with views ``metrics``,
``errors``, ``journey`` and ``health``: over the main file attached read-only when
no process holds it, else over the newest snapshot (``<db dir>/snapshot/``,
refreshed by the running server). The view ``btrmon_source`` says which one.
A snapshot connection reads the generation that was newest when it connected
(kept ``btrmon.snapshot.KEEP_SECONDS`` after a newer one): connect again for newer data.
``read("metrics", since="24h")`` returns a pandas DataFrame and closes its
connection, so it never keeps a server from starting.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb

from btrmon.schema import EVENT_TABLES
from btrmon.snapshot import current_files, read_meta, snapshot_dir
from btrmon.store import default_db_path

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _attach_live(con: duckdb.DuckDBPyConnection, path: Path) -> bool:
    """Attach the main file read-only; False when another process holds its lock."""
    try:
        con.execute(f"ATTACH {_quote(path)} AS live (READ_ONLY)")
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return False
        raise
    return True


def connect(db_path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the event tables as views (live file read-only, else snapshot)."""
    path = Path(db_path or default_db_path()).resolve()
    con = duckdb.connect(":memory:")
    try:
        if path.exists() and _attach_live(con, path):
            for table in EVENT_TABLES:
                con.execute(f"CREATE VIEW {table} AS SELECT * FROM live.main.{table}")
            con.execute(f"CREATE VIEW btrmon_source AS SELECT 'database' AS source, {_quote(path)} AS path, "
                        "NULL::TIMESTAMP AS taken_at")
            return con
        directory = snapshot_dir(path)
        meta = read_meta(path) or {}
        files = current_files(meta)  # the newest generation: files never rewritten while read
        missing = [t for t in EVENT_TABLES if not (directory / files[t]).exists()]
        if missing:
            reason = "is held by another process" if path.exists() else "does not exist"
            raise FileNotFoundError(
                f"{path} {reason} and no snapshot is in {directory} (missing {', '.join(missing)}); "
                "run `python -m btrmon snapshot`")
        for table in EVENT_TABLES:
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet({_quote(directory / files[table])})")
        taken = meta.get("taken_at")
        taken_sql = f"make_timestamp({int(taken * 1_000_000)})" if taken else "NULL::TIMESTAMP"
        con.execute(f"CREATE VIEW btrmon_source AS SELECT 'snapshot' AS source, {_quote(directory)} AS path, "
                    f"{taken_sql} AS taken_at")
        return con
    except BaseException:
        con.close()
        raise


def since_cutoff(since, now: datetime | None = None) -> datetime | None:
    """The naive-UTC start of ``since``: '15m', '1h', '6h', '24h', '7d', '2w', hours as a number, or a datetime."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    if since is None:
        return None
    if isinstance(since, datetime):
        return since.astimezone(timezone.utc).replace(tzinfo=None) if since.tzinfo else since
    if isinstance(since, timedelta):
        return now - since
    if isinstance(since, (int, float)) and not isinstance(since, bool):
        if since < 0:
            raise ValueError("since: must not be negative")
        return now - timedelta(hours=float(since))
    if isinstance(since, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*", since.lower())
        if match:
            return now - timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    raise ValueError(f"since: {since!r} is not a period like '1h', '6h', '24h', '7d', a number of hours or a datetime")


def read(table: str, since="24h", db_path: str | os.PathLike | None = None):
    """Rows of ``table`` newer than ``since`` (None = all), oldest first, as a pandas DataFrame."""
    if table not in EVENT_TABLES:
        raise ValueError(f"table: must be one of {', '.join(EVENT_TABLES)}")
    cutoff = since_cutoff(since)
    con = connect(db_path)
    try:
        if cutoff is None:
            return con.execute(f'SELECT * FROM {table} ORDER BY "timestamp"').df()
        return con.execute(f'SELECT * FROM {table} WHERE "timestamp" >= ? ORDER BY "timestamp"', [cutoff]).df()
    finally:
        con.close()
