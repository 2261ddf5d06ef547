"""``export``: write a JSON, CSV, zip or PDF export of a timeframe to a file, with progress.

``python -m btrmon export --format pdf --timeframe 7d -o report.pdf``. When a server
holds the database the command runs in that server, which writes the file:
give ``-o`` as an absolute path then.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from btrmon.commands import DB_OPTION
from btrmon.exports import FORMATS, filename, write_export
from btrmon.exports.data import SECTIONS, ExportRequest, open_export
from btrmon.queries.exports import FILTER_COLUMNS


def add_parser(sub) -> None:
    """Register ``export``."""
    parser = sub.add_parser("export", help="export data or a PDF report of a timeframe", parents=[DB_OPTION])
    parser.add_argument("--format", default="json", choices=sorted(FORMATS), help="output format (default json)")
    parser.add_argument("--timeframe", default="24h", help="1h, 6h, 24h or 7d (default 24h)")
    parser.add_argument("--start", help="custom range start, ISO-8601 (UTC unless an offset is given)")
    parser.add_argument("--end", help="custom range end, ISO-8601 (default now)")
    parser.add_argument("--sections", help=f"comma-separated subset of {','.join(SECTIONS)}")
    for name in FILTER_COLUMNS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=f"filter_{name}", action="append",
                            help=f"only rows with this {name} (repeatable)")
    parser.add_argument("-o", "--output", help="file to write (default: a dated name in the current directory)")
    parser.set_defaults(run=run_export)


def run_export(args, ctx) -> int:
    """Write the export to ``args.output`` (atomically) and print what was written."""
    if ctx.forwarded and args.output and not os.path.isabs(args.output):
        raise ValueError("output: give an absolute path (the running server writes the file)")
    filters = {name: getattr(args, f"filter_{name}") for name in FILTER_COLUMNS if getattr(args, f"filter_{name}")}
    sections = tuple(s.strip() for s in (args.sections or "").split(",") if s.strip()) or SECTIONS
    request = ExportRequest(timeframe=args.timeframe, start=args.start, end=args.end, filters=filters,
                            sections=sections, requested_by=f"cli {_user()}")
    with open_export(ctx.monitor, request) as data:
        target = Path(args.output or filename(data, args.format))
        tmp = target.with_name(target.name + ".part")
        label = "report" if args.format == "pdf" else "rows"
        shown: list = []

        def progress(done: int, total: int) -> None:
            if shown != [done, total]:  # formats report the end twice (last batch, then done)
                shown[:] = [done, total]
                ctx.progress(done, total, label)

        try:
            with open(tmp, "wb") as out:
                size = write_export(data, args.format, out, progress)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        counts = ", ".join(f"{n} {c}" for n, c in data.info["row_counts"].items())
        ctx.print(f"wrote {target} ({size:,} bytes; {counts})")
        if data.info.get("note"):
            ctx.print(data.info["note"])
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "unknown"
