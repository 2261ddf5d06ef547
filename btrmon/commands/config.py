"""``config list|get|set``: read and change settings with type checks."""

from __future__ import annotations

import json

from btrmon.commands import DB_OPTION
from btrmon.config import SettingError, lookup


def add_parser(sub) -> None:
    """Register ``config`` and its sub-commands."""
    parser = sub.add_parser("config", help="read and change settings", parents=[DB_OPTION])
    actions = parser.add_subparsers(dest="action", metavar="action")
    actions.required = True
    actions.add_parser("list", help="every setting with value, source and help", parents=[DB_OPTION]).set_defaults(run=run_list)
    get = actions.add_parser("get", help="print one setting", parents=[DB_OPTION])
    get.add_argument("name")
    get.set_defaults(run=run_get)
    set_ = actions.add_parser("set", help="change one setting (validated)", parents=[DB_OPTION])
    set_.add_argument("name")
    set_.add_argument("value", help="text, number, true/false, or a JSON list")
    set_.set_defaults(run=run_set)
    docs = actions.add_parser("docs", help="the settings table as Markdown (README)", parents=[DB_OPTION])
    docs.set_defaults(run=run_docs, forward=False)


def _show(setting, value) -> str:
    if setting.secret and value:
        return "********"
    return json.dumps(value) if isinstance(value, (list, bool)) or value is None else str(value)


def run_list(args, ctx) -> int:
    """Print every setting."""
    for setting, value, source in ctx.monitor.config.items():
        ctx.print(f"{setting.name:<36} {_show(setting, value):<24} [{source}] {setting.help}")
    return 0


def run_get(args, ctx) -> int:
    """Print one setting's value."""
    try:
        setting = lookup(args.name)
    except SettingError as exc:
        ctx.print(f"error: {exc}")
        return 2
    ctx.print(_show(setting, ctx.monitor.config.get(args.name)))
    return 0


def run_set(args, ctx) -> int:
    """Validate and store a setting."""
    try:
        setting = lookup(args.name)
        value = ctx.monitor.config.set(args.name, args.value)
    except SettingError as exc:
        ctx.print(f"error: {exc}")
        return 2
    ctx.print(f"{args.name} = {_show(setting, value)}")
    if ctx.monitor.config.source(args.name) == "env":
        ctx.print(f"note: {setting.env_name} is set in the environment and overrides this value")
    return 0


def settings_markdown() -> str:
    """The Markdown table of every setting, as the README shows it."""
    from btrmon.config import SETTINGS

    lines = ["| setting | env override | default | meaning |", "|---|---|---|---|"]
    for s in SETTINGS:
        default = json.dumps(s.default) if not isinstance(s.default, str) else (s.default or '""')
        if s.choices:
            default += " (" + " / ".join(s.choices) + ")"
        lines.append(f"| `{s.name}` | `{s.env_name}` | `{default}` | {s.help} |")
    return "\n".join(lines)


def run_docs(args, ctx) -> int:
    """Print the settings table (no database needed)."""
    ctx.print(settings_markdown())
    return 0
