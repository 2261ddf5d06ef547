"""CSV export: one multi-section file (Excel-compatible), or a zip of one CSV per section.

A section is a header line naming it (``[metrics] Metrics (1234 rows)``), the
column headers, the rows, then a blank separator line. Files are UTF-8 with a
BOM and CRLF line ends, quoted where needed. Text cells starting with ``=``,
``+``, ``-``, ``@``, tab or CR get a leading ``'`` so a spreadsheet shows them
as text instead of running them as formulas. Rows are written one Arrow batch
at a time (pyarrow's CSV writer), never the whole table.
"""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Callable, Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

BOM = "\ufeff".encode()
EOL = "\r\n"
FORMULA_START = r"^[=+\-@\t\r]"
_WRITE_OPTIONS = pacsv.WriteOptions(include_header=False, eol=EOL, quoting_style="needed")


def neutralise(value: str) -> str:
    """A cell made safe against formula injection (a leading ``'`` when it starts with = + - @ tab CR)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _safe_column(column: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(column.type):
        return column.cast(pa.string())  # 20x faster than pc.strftime; same text with microseconds
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        risky = pc.fill_null(pc.match_substring_regex(column, FORMULA_START), False)
        if pc.any(risky).as_py():
            return pc.if_else(risky, pc.utf8_replace_slice(column, 0, 0, "'"), column)
        return column
    if pa.types.is_dictionary(column.type) or pa.types.is_null(column.type):
        return _safe_column(column.cast(pa.string()))
    return column


def safe_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``batch`` with text cells neutralised and timestamps as ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return pa.RecordBatch.from_arrays([_safe_column(c) for c in batch.columns], names=batch.schema.names)


def _line(cells: list) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=EOL).writerow([neutralise(str(c)) if c is not None else "" for c in cells])
    return buf.getvalue().encode()


def _flatten(prefix: str, value, out: list) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out.append((prefix, "" if value is None else value))


def key_value_rows(mapping: dict) -> list[tuple[str, object]]:
    """A nested dict as ``(dotted.key, value)`` rows (export info, summary)."""
    out: list = []
    _flatten("", mapping, out)
    return out


def iter_key_values(name: str, title: str, mapping: dict) -> Iterator[bytes]:
    """A section of ``key,value`` rows."""
    rows = key_value_rows(mapping)
    yield _line([f"[{name}] {title}"]) + _line(["key", "value"])
    yield b"".join(_line([k, v]) for k, v in rows) + EOL.encode()


def iter_section_rows(section, done: int = 0, progress=None, total: int = 0) -> Iterator[bytes]:
    """The rows of one section as CSV bytes (no header), one chunk per batch."""
    for batch in section.batches():
        if batch.num_rows == 0:
            continue
        buf = io.BytesIO()
        pacsv.write_csv(safe_batch(batch), buf, _WRITE_OPTIONS)
        yield buf.getvalue()
        done += batch.num_rows
        if progress:
            progress(done, total)


def iter_csv(data, progress: Callable[[int, int], None] | None = None) -> Iterator[bytes]:
    """The whole export as one multi-section CSV file, in chunks."""
    total = sum(s.count for s in data.sections.values())
    yield BOM
    yield from iter_key_values("export_info", "Export info", data.info)
    yield from iter_key_values("summary", "Executive summary", data.summary)
    done = 0
    for name, section in data.sections.items():
        yield _line([f"[{name}] {section.title} ({section.count} rows)"]) + _line(section.columns)
        yield from iter_section_rows(section, done, progress, total)
        done += section.count
        yield EOL.encode()
    if progress:
        progress(total, total)


class _ChunkSink(io.RawIOBase):
    """A write-only stream that hands out what was written since the last ``take()``."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self._chunks.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        chunk, self._chunks = b"".join(self._chunks), []
        return chunk


def iter_zip(data, progress: Callable[[int, int], None] | None = None) -> Iterator[bytes]:
    """A zip with one CSV per section (plus export_info.csv and summary.csv), streamed."""
    total = sum(s.count for s in data.sections.values())
    sink = _ChunkSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, mapping in (("export_info", data.info), ("summary", data.summary)):
            with archive.open(f"{name}.csv", "w") as member:
                member.write(BOM + _line(["key", "value"]))
                member.write(b"".join(_line([k, v]) for k, v in key_value_rows(mapping)))
            yield sink.take()
        done = 0
        for name, section in data.sections.items():
            with archive.open(f"{name}.csv", "w", force_zip64=True) as member:
                member.write(BOM + _line(section.columns))
                for chunk in iter_section_rows(section, done, progress, total):
                    member.write(chunk)
                    yield sink.take()
            done += section.count
            yield sink.take()
    yield sink.take()
    if progress:
        progress(total, total)
