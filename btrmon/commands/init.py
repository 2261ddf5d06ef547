"""``init``: first-run set-up that ``make run`` calls before ``serve``.

Creates (or migrates) the database, seeds the demo data when the event tables
are empty, creates an ingest API key when none exists and a dashboard admin when
no user exists, printing each secret once.
"""

from __future__ import annotations

from btrmon.commands import DB_OPTION


def add_parser(sub) -> None:
    """Register ``init``."""
    parser = sub.add_parser("init", help="create the database, demo data, first API key and admin",
                            parents=[DB_OPTION])
    parser.add_argument("--no-demo", action="store_true", help="do not seed demo data")
    parser.add_argument("--days", type=float, default=7, help="days of demo data (default 7)")
    parser.add_argument("--sessions", type=int, default=2000, help="demo sessions (default 2000)")
    parser.set_defaults(run=run)


def run(args, ctx) -> int:
    """Set up what is missing; print what was created."""
    from btrmon import demo, keys, users

    monitor = ctx.monitor
    ctx.print(f"database: {monitor.db.path} (schema version {monitor.db.schema_version()})")
    if not args.no_demo and demo.is_empty(monitor):
        ctx.print(f"empty database: seeding {args.days:g} days of demo traffic ({args.sessions} sessions)")
        stored = demo.write_demo(monitor, days=args.days, sessions=args.sessions, progress=ctx.progress)
        ctx.print("demo rows: " + ", ".join(f"{t} {n}" for t, n in sorted(stored.items())))
    if not keys.has_keys(monitor):
        key = keys.create_key(monitor, "default")
        ctx.print("ingest API key (shown once; `python -m btrmon keys create` makes more):")
        ctx.print(f"  {key}")
    password = users.ensure_admin(monitor)
    if password:
        ctx.print("dashboard login (shown once; change it with `python -m btrmon users set-password admin`):")
        ctx.print(f"  user admin, password {password}")
    return 0
