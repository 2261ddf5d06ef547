"""``snapshot``: refresh the Parquet snapshot notebooks read (inside the server when one runs)."""

from __future__ import annotations

from btrmon.commands import DB_OPTION


def add_parser(sub) -> None:
    """Register ``snapshot``."""
    parser = sub.add_parser("snapshot", help="write the notebook snapshot (Parquet under <db dir>/snapshot/)",
                            parents=[DB_OPTION])
    parser.set_defaults(run=run)


def run(args, ctx) -> int:
    """Take a snapshot now; prints where and how many rows per table."""
    from btrmon.snapshot import snapshot_dir, take_snapshot

    meta = take_snapshot(ctx.monitor, progress=ctx.progress)
    ctx.print(f"snapshot written to {snapshot_dir(ctx.monitor.db.path)}: "
              + ", ".join(f"{table} {n}" for table, n in meta["rows"].items()))
    return 0
