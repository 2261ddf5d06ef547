"""``disable`` / ``enable``: the emergency switch (``btr_monitor_enabled``), no restart needed."""

from __future__ import annotations

from btrmon.commands import DB_OPTION


def add_parser(sub) -> None:
    """Register ``disable`` and ``enable``."""
    sub.add_parser("disable", help="emergency stop: ingestion answers 503, the Python API does nothing",
                   parents=[DB_OPTION]).set_defaults(run=run_disable)
    sub.add_parser("enable", help="resume monitoring after `disable`",
                   parents=[DB_OPTION]).set_defaults(run=run_enable)


def _run(ctx, enabled: bool) -> int:
    from btrmon.maintenance import set_enabled

    effective = set_enabled(ctx.monitor, enabled)
    where = "in the running server" if ctx.forwarded else "in the database (a server started later uses it)"
    ctx.print(f"monitoring {'enabled' if enabled else 'disabled'} {where}")
    if effective != enabled:
        ctx.print("warning: BTRMON_BTR_MONITOR_ENABLED in the environment overrides this setting")
        return 1
    return 0


def run_disable(args, ctx) -> int:
    """Disable monitoring now."""
    return _run(ctx, False)


def run_enable(args, ctx) -> int:
    """Enable monitoring now."""
    return _run(ctx, True)
