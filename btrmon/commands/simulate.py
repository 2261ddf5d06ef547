"""``simulate``: keep posting live demo traffic to a running server over HTTP."""

from __future__ import annotations

import os

from btrmon.commands import DB_OPTION


def add_parser(sub) -> None:
    """Register ``simulate --url URL --key KEY [--rate N] [--duration S] [--seed S]``."""
    parser = sub.add_parser("simulate", help="post live demo traffic over HTTP until stopped (Ctrl-C)",
                            parents=[DB_OPTION])
    parser.add_argument("--url", default=os.environ.get("BTRMON_URL", "http://127.0.0.1:8050"),
                        help="server URL (default $BTRMON_URL or http://127.0.0.1:8050)")
    parser.add_argument("--key", default=os.environ.get("BTRMON_API_KEY"),
                        help="ingest API key (default $BTRMON_API_KEY)")
    parser.add_argument("--rate", type=float, default=50.0, help="events per second (default 50)")
    parser.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    parser.add_argument("--seed", type=int, default=None, help="random seed of the visitors")
    parser.set_defaults(run=run, forward=False)


def run(args, ctx) -> int:
    """Post traffic until Ctrl-C or ``--duration``; prints progress and a summary."""
    from btrmon.simulate import SimulateError, SimulateStats, simulate

    if not args.key:
        ctx.print("error: --key: an ingest API key is required (python -m btrmon keys create)")
        return 2
    if args.rate <= 0:
        ctx.print("error: --rate must be > 0 events per second")
        return 2
    ctx.print(f"posting about {args.rate:g} events/s to {args.url}/api/v1/events (Ctrl-C to stop)")
    stats = SimulateStats()
    try:
        simulate(args.url, args.key, rate=args.rate, duration=args.duration, seed=args.seed,
                 say=lambda line: ctx.print(line), stats=stats)
    except KeyboardInterrupt:
        ctx.print("stopped")
    except SimulateError as exc:
        ctx.print(f"error: {exc}")
        return 1
    ctx.print(f"done: sent {stats.sent}, accepted {stats.accepted}, duplicates {stats.duplicates}, "
              f"rejected {stats.rejected}, retries {stats.retries}")
    return 0 if stats.rejected == 0 else 1
