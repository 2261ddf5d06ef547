"""JSON export: the complete structure, pretty-printed, Unicode kept, streamed in chunks.

Layout: ``{"export_info": {...}, "summary": {...}, "<section>": [rows...], ...}``.
Each record batch is serialised on its own by orjson (the table is never whole
in memory); JSON columns (metadata, step_data) are embedded as objects.
"""

from __future__ import annotations

from typing import Callable, Iterator

import orjson

SLICE_ROWS = 5_000  # rows turned into Python objects at once (bounds memory)
_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _default(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def _nested(obj, depth: int = 1) -> bytes:
    """``obj`` pretty-printed for a place ``depth`` levels deep."""
    return orjson.dumps(obj, default=_default, option=_OPTIONS).replace(b"\n", b"\n" + b"  " * depth)


def _batch_rows(batch, json_columns: frozenset[str]) -> list[dict]:
    rows = batch.to_pylist()
    if json_columns:
        for row in rows:
            for column in json_columns:
                value = row.get(column)
                if value is not None:
                    row[column] = orjson.Fragment(value)
    return rows


def iter_section(section, done: int = 0, progress: Callable[[int, int], None] | None = None,
                 total: int = 0) -> Iterator[bytes]:
    """The JSON array of one section at depth 1 (``[ ... ]``), in chunks."""
    first = True
    for batch in section.batches():
        for offset in range(0, batch.num_rows, SLICE_ROWS):
            piece = batch.slice(offset, SLICE_ROWS)
            body = orjson.dumps(_batch_rows(piece, section.json_columns), default=_default, option=_OPTIONS)
            body = body[2:-2]  # strip "[\n" and "\n]": rows at indent 2
            yield (b"[\n    " if first else b",\n    ") + body.replace(b"\n", b"\n  ")
            first = False
            done += piece.num_rows
            if progress:
                progress(done, total)
    yield b"[]" if first else b"\n  ]"


def iter_json(data, progress: Callable[[int, int], None] | None = None) -> Iterator[bytes]:
    """The whole export as pretty JSON bytes, in chunks."""
    total = sum(s.count for s in data.sections.values())
    yield b'{\n  "export_info": ' + _nested(data.info)
    yield b',\n  "summary": ' + _nested(data.summary)
    done = 0
    for name, section in data.sections.items():
        yield b",\n  " + orjson.dumps(name) + b": "
        yield from iter_section(section, done, progress, total)
        done += section.count
    yield b"\n}\n"
    if progress:
        progress(total, total)
