"""Command modules of ``python -m btrmon``; each has ``add_parser(sub)``.

A command's parser sets ``run=<function(args, ctx) -> int>`` and may set
``forward=False`` when it must not be sent to a running server (``serve``).
Add ``parents=[DB_OPTION]`` so ``--db`` is accepted after the command name too.
"""

import argparse

MODULES: list[str] = [
    "check",
    "cleanup",
    "rebuild",
    "reset_config",
    "switch",
    "serve",
    "init",
    "keys",
    "config",
    "users",
    "demo",
    "simulate",
    "snapshot",
    "export",
]

DB_OPTION = argparse.ArgumentParser(add_help=False)
DB_OPTION.add_argument(
    "--db", default=argparse.SUPPRESS, help="database file (default: $BTRMON_DB or data/btrmon.duckdb)"
)
