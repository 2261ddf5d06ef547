"""``rebuild``: check every table; rebuild damaged or missing ones; move an unreadable file aside."""

from __future__ import annotations

from btrmon.commands import DB_OPTION
from btrmon.store import DatabaseLocked


def add_parser(sub) -> None:
    """Register ``rebuild`` (never forwarded: it needs the file for itself)."""
    parser = sub.add_parser("rebuild", help="check and repair the database file (stop the server first)",
                            parents=[DB_OPTION])
    parser.set_defaults(run=run, forward=False)


def run(args, ctx) -> int:
    """Rebuild ``ctx.db_path`` and print the report; exit 0 when intact or repaired."""
    from btrmon.recovery import rebuild

    if ctx.forwarded:
        ctx.print("error: rebuild needs the database file for itself: stop the server, then run it again")
        return 2
    try:
        report = rebuild(ctx.db_path)
    except DatabaseLocked as exc:
        ctx.print(f"error: {exc}")
        return 2
    for line in report.lines():
        ctx.print(line)
    return 0
