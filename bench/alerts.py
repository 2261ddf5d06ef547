"""Benchmark: one alert evaluation and the 7-day preview of every rule on demo data.

    .venv/bin/python bench/alerts.py [--sessions 2000] [--days 7] [--keep DIR]

Writes the demo traffic (``python -m btrmon demo``) into a temporary DuckDB file,
then prints, per rule, the seconds its 7-day preview takes (one evaluation per
``btrmon_alert_interval``, i.e. 10 080 evaluation times) and how often it would have
fired; then the time of one full evaluation of all rules.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--keep", help="directory for the database (kept)")
    args = parser.parse_args()
    if args.keep:
        run(args, Path(args.keep))
    else:
        with tempfile.TemporaryDirectory(prefix="btrmon-bench-alerts-") as folder:  # removed afterwards
            run(args, Path(folder))


def run(args, folder: Path) -> None:
    """Write the demo into ``folder`` (unless there) and time the previews and one evaluation."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bench.duckdb"
    if not path.exists():
        subprocess.run([sys.executable, "-m", "btrmon", "demo", "--db", str(path), "--days", str(args.days),
                        "--sessions", str(args.sessions)], check=True, cwd=ROOT)

    from btrmon.alerts.engine import AlertEngine
    from btrmon.alerts.preview import default_step, preview
    from btrmon.alerts.rules import all_rules
    from btrmon.monitor import Monitor

    monitor = Monitor(db=path)
    try:
        for rule in all_rules(monitor):
            started = time.perf_counter()
            episodes = preview(monitor, rule, days=7, step=default_step(monitor, 7))
            hours = sum(e.duration.total_seconds() for e in episodes) / 3600
            print(f"{rule.id:24s} preview 7 d {time.perf_counter() - started:6.2f} s  "
                  f"episodes {len(episodes):3d}  firing {hours:5.1f} h")
        engine = AlertEngine(monitor)
        started = time.perf_counter()
        report = engine.evaluate()
        print(f"one evaluation of all rules: {(time.perf_counter() - started) * 1000:.0f} ms "
              f"(fired {len(report.fired)}, errors {len(report.errors)})")
        engine.notifier.wait_idle(10)
        engine.close()
    finally:
        monitor.close()


if __name__ == "__main__":
    main()
