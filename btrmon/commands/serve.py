"""``serve``: run the dashboard and the API (waitress, one process, several threads)."""

from __future__ import annotations

import sys

from btrmon.commands import DB_OPTION
from btrmon.store import DatabaseLocked


def add_parser(sub) -> None:
    """Register ``serve``."""
    parser = sub.add_parser("serve", help="serve the dashboard and the API", parents=[DB_OPTION])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    parser.add_argument("--threads", type=int, default=16, help="worker threads (default 16; most wait on the group commit)")
    parser.set_defaults(run=run, forward=False)


def run(args, ctx) -> int:
    """Open the database and serve until interrupted."""
    from btrmon.monitor import Monitor
    from btrmon.server import serve

    _setup_logging()
    try:
        monitor = Monitor(db=ctx.db_path)
    except DatabaseLocked as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    serve(monitor, host=args.host, port=args.port, threads=args.threads)
    return 0


def _setup_logging() -> None:
    try:
        from btrmon.logs import setup_logging
    except ImportError:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return
    setup_logging()
