"""``serve``: run the dashboard and the API (waitress, one process, several threads)."""

from __future__ import annotations

import logging

from btrmon.commands import DB_OPTION

log = logging.getLogger(__name__)


def add_parser(sub) -> None:
    """Register ``serve``."""
    parser = sub.add_parser("serve", help="serve the dashboard and the API", parents=[DB_OPTION])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8050, help="port (default 8050)")
    parser.add_argument("--threads", type=int, default=16,
                        help="worker threads (default 16; most of them wait on the group commit)")
    parser.set_defaults(run=run, forward=False)


def run(args, ctx) -> int:
    """Open the database (degraded on a stand-in while another process holds it) and serve."""
    from btrmon.logs import setup_logging
    from btrmon.monitor import Monitor
    from btrmon.server import serve

    setup_logging(ctx.db_path)
    monitor = Monitor(db=ctx.db_path, wait_for_database=True)
    if monitor.degraded:
        log.warning("%s is held by another process: serving degraded, events go to the spool "
                    "until the file can be opened", ctx.db_path)
    serve(monitor, host=args.host, port=args.port, threads=args.threads)
    return 0
