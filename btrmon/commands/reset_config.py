"""``reset-config``: every option back to its default (API keys, data and secrets untouched)."""

from __future__ import annotations

import json

from btrmon.commands import DB_OPTION


def add_parser(sub) -> None:
    """Register ``reset-config``."""
    parser = sub.add_parser("reset-config", help="reset every option to its default (keys and data kept)",
                            parents=[DB_OPTION])
    parser.set_defaults(run=run)


def _show(name: str, value) -> str:
    from btrmon.config import BY_NAME

    setting = BY_NAME.get(name)
    if setting is not None and setting.secret and value:
        return "********"
    return json.dumps(value)


def run(args, ctx) -> int:
    """Reset and print each change as ``name: old -> default``."""
    from btrmon.maintenance import reset_config

    changes = reset_config(ctx.monitor)
    for name, old, new in changes:
        ctx.print(f"{name}: {_show(name, old)} -> {_show(name, new)}")
        if ctx.monitor.config.source(name) == "env":
            ctx.print(f"  note: the environment still overrides {name}")
    ctx.print(f"{len(changes)} option(s) reset" if changes else "every option already has its default")
    return 0
