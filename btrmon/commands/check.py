"""``check``: run the health checks now and print a table (exit 0 healthy, 1 warning, 2 critical)."""

from __future__ import annotations

from btrmon.commands import DB_OPTION

EXIT_CODES = {"healthy": 0, "warning": 1, "critical": 2}


def add_parser(sub) -> None:
    """Register ``check``."""
    parser = sub.add_parser("check", help="run the health checks (exit 0 healthy, 1 warning, 2 critical)",
                            parents=[DB_OPTION])
    parser.set_defaults(run=run)


def run(args, ctx) -> int:
    """Run every check on the monitor (the live server's when one runs) and print the results."""
    from btrmon.health import worst

    results = ctx.monitor.run_health_checks()
    ctx.print(f"{'component':<18} {'check':<16} {'status':<9} {'ms':>8}  message")
    for item in sorted(results, key=lambda r: (r["component"], r["health_check"])):
        ms = "" if item["response_time_ms"] is None else f"{item['response_time_ms']:.1f}"
        ctx.print(f"{item['component']:<18} {item['health_check']:<16} {item['status']:<9} {ms:>8}  "
                  f"{item['error_message'] or ''}")
    degraded = ctx.monitor.degraded
    if degraded:
        ctx.print(f"DEGRADED: {degraded.reason} ({degraded.pending} events spooled)")
    overall = worst(r["status"] for r in results)
    ctx.print(f"overall: {overall}")
    return EXIT_CODES[overall]
