"""``cleanup [--dry-run]``: apply the retention policy now and print what is removed."""

from __future__ import annotations

from btrmon.commands import DB_OPTION


def add_parser(sub) -> None:
    """Register ``cleanup``."""
    parser = sub.add_parser("cleanup", help="delete data older than the retention days", parents=[DB_OPTION])
    parser.add_argument("--dry-run", action="store_true", help="only print what would be removed")
    parser.set_defaults(run=run)


def run(args, ctx) -> int:
    """Print per table the retention, cutoff and rows removed (or that would be)."""
    from btrmon.maintenance import apply_retention

    plans = apply_retention(ctx.monitor, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for plan in plans:
        ctx.print(f"{plan.table:<8} keep {plan.days:>4} days (before {plan.cutoff:%Y-%m-%d %H:%M} UTC): "
                  f"{verb} {plan.rows} rows")
    ctx.print(f"total: {verb} {sum(p.rows for p in plans)} rows")
    return 0
