"""How rows become INSERT statements: typed Arrow tables, or bound VALUES for a few rows.

Used by the writer thread only. ``checked`` inserts skip event ids already stored
(``INSERT OR IGNORE ... RETURNING``, which DuckDB runs as a merge against every stored
id) and return the ids they stored; plain inserts are cheaper and let the primary key
refuse a duplicate (the writer then redoes the group checked).
"""

from __future__ import annotations

import functools

import duckdb
import pyarrow as pa

from btrmon.schema import COLUMNS

_FLOAT = {"metric_value", "duration_ms", "response_time_ms"}
_BOOL = {"resolved", "drop_off"}
_JSON = {"metadata", "step_data"}


def _arrow_type(column: str) -> pa.DataType:
    if column in _FLOAT:
        return pa.float64()
    if column in _BOOL:
        return pa.bool_()
    if column == "error_line":
        return pa.int64()
    if column == "timestamp":
        # Epoch microseconds read as an Arrow timestamp: no per-row make_timestamp in SQL.
        return pa.timestamp("us")
    return pa.string()


def _select_expr(column: str) -> str:
    if column == "event_id":
        return "event_id::UUID"
    if column in _JSON:
        return f"{column}::JSON"
    return f'"{column}"'


def _param_expr(column: str) -> str:
    """A bound parameter with the same cast as ``_select_expr``."""
    if column == "event_id":
        return "?::UUID"
    if column == "timestamp":
        return "make_timestamp(?)"
    return "?::JSON" if column in _JSON else "?"


def _quoted(column: str) -> str:
    return '"' + column + '"'


_SCHEMAS = {t: pa.schema([(c, _arrow_type(c)) for c in cols]) for t, cols in COLUMNS.items()}


def _arrow_insert(table: str, checked: bool) -> str:
    """INSERT ... SELECT from the registered Arrow table ``batch``.

    ``checked`` skips stored event ids and returns the ids actually inserted;
    unchecked is a plain INSERT for ids that cannot be stored yet (see ``FreshRows``).
    """
    cols = COLUMNS[table]
    head = f"INSERT {'OR IGNORE ' if checked else ''}INTO {table} ({', '.join(map(_quoted, cols))}) "
    select = f"SELECT {', '.join(_select_expr(c) for c in cols)} FROM batch"
    return head + select + (" RETURNING event_id::VARCHAR" if checked else "")


CHECKED_INSERTS = {t: _arrow_insert(t, checked=True) for t in COLUMNS}
_PLAIN_INSERTS = {t: _arrow_insert(t, checked=False) for t in COLUMNS}


# Up to this many rows, bound VALUES beat registering an Arrow table (its scan set-up
# costs milliseconds); above it Arrow wins. Measured in bench/ingest.py's single-event case.
SMALL_BATCH = 8


@functools.lru_cache(maxsize=128)
def _values_insert(table: str, count: int, checked: bool = True) -> str:
    """INSERT ... VALUES with ``count`` rows of bound parameters, same casts as the Arrow path."""
    cols = COLUMNS[table]
    one = "(" + ", ".join(_param_expr(c) for c in cols) + ")"
    return (f"INSERT {'OR IGNORE ' if checked else ''}INTO {table} ({', '.join(map(_quoted, cols))}) VALUES "
            + ", ".join([one] * count) + (" RETURNING event_id::VARCHAR" if checked else ""))


def insert_fresh(con: duckdb.DuckDBPyConnection, table: str, pieces: list) -> None:
    """Insert ``FreshRows`` pieces (Arrow tables and row lists) with one plain INSERT."""
    tables = [piece for piece in pieces if isinstance(piece, pa.Table)]
    loose = [row for piece in pieces if isinstance(piece, list) for row in piece]
    if not tables:
        insert_rows(con, table, loose, checked=False)  # few rows: bound VALUES, else Arrow
        return
    if loose:
        tables.append(to_arrow(table, loose))
    insert_arrow(con, table, pa.concat_tables(tables) if len(tables) > 1 else tables[0], checked=False)


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple], checked: bool) -> list:
    """Insert ``rows`` into ``table``; with ``checked``, skip stored ids and return the inserted ones."""
    if not rows:
        return []
    if len(rows) <= SMALL_BATCH:
        params = [value for row in rows for value in row]
        cursor = con.execute(_values_insert(table, len(rows), checked), params)
        return cursor.fetchall() if checked else []
    return insert_arrow(con, table, to_arrow(table, rows), checked)


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, batch: pa.Table, checked: bool) -> list:
    """Insert an Arrow table of rows; with ``checked``, skip stored ids and return the inserted ones."""
    con.register("batch", batch)
    try:
        cursor = con.execute((CHECKED_INSERTS if checked else _PLAIN_INSERTS)[table])
        return cursor.fetchall() if checked else []
    finally:
        try:
            con.unregister("batch")
        except duckdb.Error:
            # The statement failed and aborted the transaction (which also refuses the
            # unregister): keep the statement's error; the next register replaces the view.
            pass


def to_arrow(table: str, rows: list[tuple]) -> pa.Table:
    """Rows (tuples in COLUMNS order) as a typed Arrow table."""
    schema = _SCHEMAS[table]
    columns = list(zip(*rows))
    return pa.Table.from_arrays(
        [pa.array(col, type=schema.field(i).type) for i, col in enumerate(columns)], schema=schema
    )
