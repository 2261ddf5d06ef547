"""The DuckDB file: opening, migrations, options, and per-thread read cursors.

One process owns the file read-write (DuckDB's lock). Writes go through
``btrmon.writer.Writer``; reads use ``Database.cursor()``, one cursor per thread.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb
import orjson

from btrmon import schema

log = logging.getLogger(__name__)

DEFAULT_DB_PATH = "data/btrmon.duckdb"


class DatabaseLocked(RuntimeError):
    """Another process holds the DuckDB file (typically a running btrmon server)."""


class DatabaseDamaged(RuntimeError):
    """The file is not a DuckDB database, or cannot be read."""


def default_db_path() -> str:
    """``BTRMON_DB`` or ``data/btrmon.duckdb``."""
    return os.environ.get("BTRMON_DB") or DEFAULT_DB_PATH


def utcnow() -> datetime:
    """The current UTC time as a naive datetime (how the tables store time)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def connect(path: str | os.PathLike, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open ``path`` with clear errors for a held lock and a damaged file."""
    path = str(path)
    if not read_only and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        return duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise DatabaseLocked(
                f"{path} is held by another process (is `btrmon serve` running?): {text}"
            ) from exc
        raise DatabaseDamaged(f"{path} cannot be opened: {text}") from exc
    except (duckdb.SerializationException, duckdb.InternalException, duckdb.InvalidInputException) as exc:
        raise DatabaseDamaged(f"{path} cannot be opened: {exc}") from exc


class Database:
    """An open btrmon database file, migrated to ``schema.SCHEMA_VERSION``."""

    def __init__(self, path: str | os.PathLike | None = None, read_only: bool = False) -> None:
        self.path = str(path or default_db_path())
        self.read_only = read_only
        self.con = connect(self.path, read_only=read_only)
        self._local = threading.local()
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._cursors_lock = threading.Lock()
        if not read_only:
            self.migrate()

    # -- schema ---------------------------------------------------------------------
    def schema_version(self) -> int:
        """The version of the file's schema (0 for a new file)."""
        cur = self.con.cursor()
        try:
            rows = cur.execute("SELECT max(version) FROM schema_version").fetchall()
        except duckdb.CatalogException:
            return 0
        finally:
            cur.close()
        return int(rows[0][0] or 0)

    def migrate(self) -> list[int]:
        """Apply the migrations newer than the file's version; returns those applied."""
        self.con.cursor().execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        current = self.schema_version()
        applied = []
        for version, statements in schema.MIGRATIONS:
            if version <= current:
                continue
            cur = self.con.cursor()
            try:
                cur.execute("BEGIN")
                for statement in statements:
                    cur.execute(statement)
                cur.execute("INSERT INTO schema_version VALUES (?, ?)", [version, utcnow()])
                cur.execute("COMMIT")
            except Exception:
                cur.execute("ROLLBACK")
                raise
            finally:
                cur.close()
            log.info("migrated %s to schema version %d", self.path, version)
            applied.append(version)
        return applied

    def tables(self) -> set[str]:
        """Names of the tables present in the file."""
        rows = self.cursor().execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
        return {r[0] for r in rows}

    # -- reads ----------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's read cursor (DuckDB connections are not shared across threads)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self.con.cursor()
            self._local.cursor = cur
            with self._cursors_lock:
                self._cursors.append(cur)
        return cur

    def query(self, sql: str, params: list | tuple | dict | None = None) -> list[tuple]:
        """Run a read query with bound parameters; returns all rows."""
        return self.cursor().execute(sql, params or []).fetchall()

    def query_df(self, sql: str, params: list | tuple | dict | None = None):
        """Run a read query with bound parameters; returns a pandas DataFrame."""
        return self.cursor().execute(sql, params or []).df()

    # -- options ----------------------------------------------------------------------
    def load_options(self) -> dict[str, Any]:
        """Stored option overrides, name -> value."""
        rows = self.query("SELECT name, value FROM options")
        return {name: orjson.loads(value) for name, value in rows}

    def save_option_sql(self, con: duckdb.DuckDBPyConnection, name: str, value: Any | None) -> None:
        """Store (or with ``None`` delete) one option on the writer's connection ``con``."""
        if value is None:
            con.execute("DELETE FROM options WHERE name = ?", [name])
        else:
            con.execute(
                "INSERT OR REPLACE INTO options VALUES (?, ?, ?)",
                [name, orjson.dumps(value).decode(), utcnow()],
            )

    # -- lifecycle --------------------------------------------------------------------
    def checkpoint(self) -> None:
        """Fold the WAL into the main file."""
        self.con.cursor().execute("CHECKPOINT")

    def close(self) -> None:
        """Close every cursor and the connection."""
        with self._cursors_lock:
            for cur in self._cursors:
                try:
                    cur.close()
                except duckdb.Error:
                    pass
            self._cursors.clear()
        self.con.close()
