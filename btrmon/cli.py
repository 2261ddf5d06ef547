"""``python -m btrmon <command>``: parses arguments and runs a command module.

Each command lives in ``btrmon/commands/<name>.py`` with ``add_parser(sub)``
(which sets ``run=`` and optionally ``database=``) and is listed in
``btrmon.commands.MODULES``. A command gets a ``CommandContext``: the monitor of
the database and an output stream. When a running server holds the file lock,
the command is sent to that server (``POST /api/v1/admin/cli`` with the token of
its control file) and runs there on the live monitor, so ``config set``,
``keys create``, ``disable``... work the same with or without a server.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TextIO

from btrmon.store import DatabaseLocked, default_db_path


@dataclass
class CommandContext:
    """What a command runs with: the database path, its monitor, where to print."""

    db_path: str
    out: TextIO = field(default_factory=lambda: sys.stdout)
    monitor_factory: Callable[[], object] | None = None
    forwarded: bool = False
    _monitor: object | None = None
    _last_decile: int = -1

    @property
    def monitor(self):
        """The embedded monitor of ``db_path`` (opened on first use)."""
        if self._monitor is None:
            if self.monitor_factory is not None:
                self._monitor = self.monitor_factory()
            else:
                from btrmon.monitor import Monitor

                self._monitor = Monitor(db=self.db_path)
        return self._monitor

    def print(self, *args) -> None:
        """Print to the command's output."""
        print(*args, file=self.out)

    def progress(self, done: int, total: int, label: str = "") -> None:
        """One progress line (overwritten in a terminal, plain lines otherwise)."""
        pct = 100 * done / total if total else 100
        tty = self.out.isatty()
        if not tty and done < total and int(pct // 10) == self._last_decile:
            return  # plain output: one line per 10 %
        self._last_decile = int(pct // 10)
        end = "\r" if tty and done < total else "\n"
        print(f"{label} {done}/{total} ({pct:.0f}%)", end=end, file=self.out, flush=True)

    def close(self) -> None:
        """Close the monitor if this context opened it."""
        if self._monitor is not None and self.monitor_factory is None:
            self._monitor.close()


def control_path(db_path: str) -> Path:
    """The control file a running server writes beside its database (URL and admin token)."""
    return Path(str(db_path) + ".server.json")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, built from ``btrmon.commands.MODULES``."""
    from btrmon.commands import MODULES

    parser = argparse.ArgumentParser(prog="python -m btrmon", description="btrmon: monitoring and tracing")
    parser.add_argument("--db", default=None, help="database file (default: $BTRMON_DB or data/btrmon.duckdb)")
    sub = parser.add_subparsers(dest="command", metavar="command")
    sub.required = True
    for name in MODULES:
        importlib.import_module(f"btrmon.commands.{name}").add_parser(sub)
    return parser


def run_argv(argv: list[str], ctx: CommandContext | None = None) -> int:
    """Run a command line; returns its exit code. Used by ``main`` and by the server."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    db_path = getattr(args, "db", None) or default_db_path()
    own = ctx is None
    ctx = ctx or CommandContext(db_path=db_path)
    try:
        return int(args.run(args, ctx) or 0)
    except DatabaseLocked:
        if own and getattr(args, "forward", True):
            return forward_to_server(db_path, argv, ctx.out)
        raise
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr if own else ctx.out)
        return 2
    finally:
        if own:
            ctx.close()


def forward_to_server(db_path: str, argv: list[str], out: TextIO) -> int:
    """Run ``argv`` in the server that holds ``db_path``; prints its output."""
    path = control_path(db_path)
    try:
        control = json.loads(path.read_text())
    except (OSError, ValueError):
        print(f"error: {db_path} is locked by another process and no running btrmon server "
              f"answers for it ({path} missing)", file=sys.stderr)
        return 2
    request = urllib.request.Request(
        control["url"].rstrip("/") + "/api/v1/admin/cli",
        data=json.dumps({"argv": argv}).encode(),
        headers={"Content-Type": "application/json", "X-Admin-Token": control["token"]},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            answer = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"error: the server holding {db_path} did not answer: {exc}", file=sys.stderr)
        return 2
    out.write(answer.get("output", ""))
    return int(answer.get("exit_code", 1))


def run_in_server(argv: list[str], monitor) -> tuple[int, str]:
    """Run ``argv`` against the live monitor of a server; returns (exit code, output)."""
    out = io.StringIO()
    ctx = CommandContext(db_path=monitor.db.path, out=out, monitor_factory=lambda: monitor, forwarded=True)
    try:
        code = run_argv(argv, ctx)
    except Exception as exc:  # noqa: BLE001 - reported to the caller
        out.write(f"error: {exc}\n")
        code = 1
    return code, out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m btrmon``."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return run_argv(list(sys.argv[1:] if argv is None else argv))
