"""``rebuild``: check every table and rebuild what is damaged or missing, losing nothing readable.

1. A file that cannot be opened at all (garbage, not a DuckDB file) is moved aside to
   ``<name>.damaged-<timestamp>`` (never deleted) and a fresh database is created.
2. Otherwise every table is checked with a full scan (``sum(hash(COLUMNS(*)))`` reads
   every column). Missing tables are re-created by re-running the migrations (they are
   idempotent). When a table cannot be read, a fresh file is built beside the old one,
   every readable row of every table is copied into it (damaged tables chunk by chunk,
   by ``rowid``), sequences are advanced past the copied ids, and the files are swapped:
   the old one is kept as ``<name>.damaged-<timestamp>``.

The file must not be open elsewhere: stop the server first (the command says so).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from btrmon import schema
from btrmon.store import Database, DatabaseLocked

CHUNK_ROWS = 2048
EXPECTED_TABLES: tuple[str, ...] = tuple(dict.fromkeys(
    name for _, statements in schema.MIGRATIONS for statement in statements
    for name in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", statement)))


@dataclass
class TableReport:
    """What the rebuild found in one table and how many rows it kept."""

    table: str
    state: str  # ok | missing | damaged
    rows: int | None = None
    saved: int | None = None
    error: str | None = None


@dataclass
class RebuildReport:
    """The outcome of a rebuild."""

    path: str
    tables: list[TableReport] = field(default_factory=list)
    moved_aside: str | None = None
    fresh: bool = False
    note: str | None = None

    @property
    def changed(self) -> bool:
        """True when anything was rebuilt or moved."""
        return self.fresh or self.moved_aside is not None or any(t.state != "ok" for t in self.tables)

    def lines(self) -> list[str]:
        """The report as printable lines."""
        out = [f"database: {self.path}"]
        for t in self.tables:
            detail = f"{t.rows} rows" if t.state == "ok" else \
                f"{t.state}; saved {t.saved} of {t.rows if t.rows is not None else '?'} rows" if t.state == "damaged" \
                else "missing; re-created empty"
            out.append(f"  {t.table:<18} {detail}" + (f" ({t.error})" if t.error and t.state == "damaged" else ""))
        if self.moved_aside:
            out.append(f"the damaged file was kept as {self.moved_aside}")
        if self.note:
            out.append(self.note)
        out.append("rebuild done: " + ("database repaired" if self.changed else "every table is intact, nothing changed"))
        return out


def _aside_name(path: Path) -> Path:
    return path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}")


def _move_aside(path: Path) -> Path:
    target = _aside_name(path)
    os.replace(path, target)
    wal = Path(str(path) + ".wal")
    if wal.exists():
        os.replace(wal, Path(str(target) + ".wal"))
    return target


def _open_raw(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseLocked(f"{path} is in use: stop the btrmon server, then run rebuild again") from exc
        raise


def _check_table(con, table: str) -> TableReport:
    try:
        rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]
    except duckdb.CatalogException:
        return TableReport(table, "missing")
    except duckdb.Error as exc:
        return TableReport(table, "damaged", error=str(exc).splitlines()[0][:160])
    try:
        con.execute(f'SELECT count(*), sum(hash(COLUMNS(*))) FROM "{table}"').fetchall()
    except duckdb.Error as exc:
        return TableReport(table, "damaged", rows=int(rows), error=str(exc).splitlines()[0][:160])
    return TableReport(table, "ok", rows=int(rows))


def rebuild(db_path: str | os.PathLike) -> RebuildReport:
    """Check and repair ``db_path``; returns the report (see the module docstring)."""
    path = Path(db_path)
    report = RebuildReport(str(path))
    if not path.exists():
        Database(path).close()
        report.fresh = True
        report.note = "no database file existed: a fresh one was created"
        return report
    try:
        con = _open_raw(path)
    except DatabaseLocked:
        raise
    except duckdb.Error as exc:
        report.moved_aside = str(_move_aside(path))
        Database(path).close()
        report.fresh = True
        report.note = (f"the file could not be opened ({str(exc).splitlines()[0][:120]}); no rows could be "
                       f"read from it; a fresh empty database was created")
        return report
    try:
        report.tables = [_check_table(con, t) for t in EXPECTED_TABLES]
    finally:
        con.close()
    if any(t.state == "damaged" for t in report.tables):
        _rebuild_into_fresh(path, report)
    elif any(t.state == "missing" for t in report.tables):
        db = Database(path)  # migrations are idempotent: re-running them re-creates missing tables
        try:
            for _, statements in schema.MIGRATIONS:
                cur = db.con.cursor()
                for statement in statements:
                    cur.execute(statement)
                cur.close()
            db.checkpoint()
        finally:
            db.close()
    return report


def _rebuild_into_fresh(path: Path, report: RebuildReport) -> None:
    fresh = path.with_name(path.name + ".rebuilding")
    for leftover in (fresh, Path(str(fresh) + ".wal")):
        leftover.unlink(missing_ok=True)
    Database(fresh).close()
    con = duckdb.connect(str(fresh))
    try:
        con.execute(f"ATTACH '{_sql_text(path)}' AS old (READ_ONLY)")
        for table in report.tables:
            if table.state == "missing":
                continue
            saved = _copy_table(con, table.table, whole=table.state == "ok")
            if table.state == "damaged":
                table.saved = saved
        _advance_sequences(con)
        con.execute("DETACH old")
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        for leftover in (fresh, Path(str(fresh) + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    con.close()
    report.moved_aside = str(_move_aside(path))
    os.replace(fresh, path)


def _sql_text(path: Path) -> str:
    return str(path).replace("'", "''")


def _columns(con, catalog: str, table: str) -> list[str]:
    rows = con.execute("SELECT column_name FROM information_schema.columns WHERE table_catalog = ? "
                       "AND table_name = ? ORDER BY ordinal_position", [catalog, table]).fetchall()
    return [r[0] for r in rows]


def _copy_table(con, table: str, whole: bool) -> int:
    """Copy ``old.table`` into ``table`` (shared columns); a damaged one chunk by chunk."""
    new_columns = set(_columns(con, con.execute("SELECT current_database()").fetchall()[0][0], table))
    cols = [c for c in _columns(con, "old", table) if c in new_columns]
    col_list = ", ".join(f'"{c}"' for c in cols)
    insert = f'INSERT INTO main."{table}" ({col_list}) SELECT {col_list} FROM old."{table}"'
    if whole:
        con.execute(insert)
        return con.execute(f'SELECT count(*) FROM main."{table}"').fetchall()[0][0]
    try:
        last = con.execute(f'SELECT max(rowid) FROM old."{table}"').fetchall()[0][0]
    except duckdb.Error:
        return 0
    for start in range(0, (last or -1) + 1, CHUNK_ROWS):
        try:
            con.execute(f"{insert} WHERE rowid BETWEEN ? AND ?", [start, start + CHUNK_ROWS - 1])
        except duckdb.Error:
            continue  # this chunk sits in a damaged block: its rows are lost
    return con.execute(f'SELECT count(*) FROM main."{table}"').fetchall()[0][0]


def _advance_sequences(con) -> None:
    """Move each id sequence past the largest copied id, so new rows do not reuse ids."""
    rows = con.execute("SELECT table_name, column_name, column_default FROM information_schema.columns "
                       "WHERE table_catalog = current_database() AND column_default LIKE 'nextval(%'").fetchall()
    for table, column, default in rows:
        sequence = re.search(r"nextval\('([^']+)'", default)
        top = con.execute(f'SELECT max("{column}") FROM main."{table}"').fetchall()[0][0]
        if sequence and top:
            con.execute(f"SELECT max(nextval('{sequence.group(1)}')) FROM range(?)", [int(top)])
