"""Exports and reports: JSON, CSV (and a zip of CSVs), PDF, scheduled e-mail reports.

``data.open_export`` assembles what is exported (through the query layer); the
format modules stream it: ``json_export.iter_json``, ``csv_export.iter_csv`` /
``iter_zip``, ``pdf_report.build_pdf``. ``write_export`` picks one by name.
"""

from __future__ import annotations

from typing import BinaryIO, Callable, Iterator

FORMATS: dict[str, tuple[str, str]] = {
    "json": ("application/json", "json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "zip": ("application/zip", "zip"),
    "pdf": ("application/pdf", "pdf"),
}


def iter_export(data, fmt: str, progress: Callable[[int, int], None] | None = None) -> Iterator[bytes]:
    """The bytes of ``data`` (an ``ExportData``) in format ``fmt``, in chunks."""
    if fmt == "json":
        from btrmon.exports.json_export import iter_json

        return iter_json(data, progress)
    if fmt == "csv":
        from btrmon.exports.csv_export import iter_csv

        return iter_csv(data, progress)
    if fmt == "zip":
        from btrmon.exports.csv_export import iter_zip

        return iter_zip(data, progress)
    if fmt == "pdf":
        from btrmon.exports.pdf_report import build_pdf

        return iter([build_pdf(data, progress)])
    raise ValueError(f"format: must be one of {', '.join(FORMATS)} (got {fmt!r})")


def write_export(data, fmt: str, out: BinaryIO, progress: Callable[[int, int], None] | None = None) -> int:
    """Write ``data`` in format ``fmt`` to the binary stream ``out``; returns bytes written."""
    written = 0
    for chunk in iter_export(data, fmt, progress):
        out.write(chunk)
        written += len(chunk)
    return written


def filename(data, fmt: str) -> str:
    """A download name such as ``btrmon-24h-20261203-1608.pdf``."""
    stamp = data.info["generated_at"].replace("-", "").replace(":", "")[:13].replace("T", "-")
    return f"btrmon-{data.info['timeframe']}-{stamp}.{FORMATS[fmt][1]}"
