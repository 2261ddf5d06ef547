"""``demo``: write realistic demo traffic of a booking site over the past days."""

from __future__ import annotations

from btrmon.commands import DB_OPTION


def add_parser(sub) -> None:
    """Register ``demo [--days 7] [--sessions N] [--seed S]``."""
    parser = sub.add_parser("demo", help="write realistic demo traffic over the past days", parents=[DB_OPTION])
    parser.add_argument("--days", type=float, default=7, help="days of history (default 7)")
    parser.add_argument("--sessions", type=int, default=2000, help="visitor sessions (default 2000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed: the same seed writes the same traffic")
    parser.set_defaults(run=run)


def run(args, ctx) -> int:
    """Generate the demo and store it through the writer, showing progress."""
    from btrmon.demo import write_demo

    if args.days <= 0 or args.sessions < 0:
        ctx.print("error: --days must be > 0 and --sessions >= 0")
        return 2
    stored = write_demo(ctx.monitor, days=args.days, sessions=args.sessions, seed=args.seed,
                        progress=ctx.progress)
    ctx.print("demo data stored: " + ", ".join(f"{table} {n}" for table, n in sorted(stored.items())))
    return 0
