"""Ingestion throughput through a real server on 127.0.0.1 (``make bench``).

Runs ``bench/_ingest_server.py`` (the btrmon API on waitress, 16 threads as `serve` uses) in a
subprocess and drives it with ``wrk`` (Debian package; a C load generator, so the
client is not the bottleneck) for each scenario, then prints events/s committed
next to two baselines measured in the same run on the same server:

- HTTP ceiling: ``/bench/parse`` only parses the JSON and answers;
- naive store: ``/bench/naive`` does one INSERT plus COMMIT per event.

Usage: ``python bench/ingest.py [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVENT = {"kind": "metric", "metric_type": "performance", "metric_name": "request_duration",
         "metric_value": 123.4, "metric_unit": "ms", "component": "web", "session_id": "bench-session",
         "request_uri": "/packages/42?lang=it", "user_agent": "wrk"}


def create_key(db: str) -> str:
    """An API key in a fresh database."""
    from btrmon.keys import create_key as create
    from btrmon.monitor import Monitor

    monitor = Monitor(db=db)
    try:
        return create(monitor, "bench")
    finally:
        monitor.close()


def run_wrk(url: str, key: str, batch: int, seconds: int, connections: int, workdir: Path) -> dict:
    """Run wrk against ``url`` posting ``batch`` events per request; returns its figures."""
    body = orjson.dumps([EVENT] * batch).decode()
    script = workdir / f"post_{batch}.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = {lua_string(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'wrk.headers["X-API-Key"] = "{key}"\n'
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout
    requests_done = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    ok = requests_done - (int(bad.group(1)) if bad else 0)
    return {"requests": requests_done, "ok": ok, "events_per_s": ok * batch / seconds,
            "errors": errors.group(0) if errors else ""}


def lua_string(text: str) -> str:
    """``text`` as a Lua long-bracket string literal."""
    return "[==[" + text + "]==]"


def committed_rows(base: str, key: str) -> int:
    """Rows the server says it committed so far."""
    return requests.get(f"{base}/api/v1/stats", headers={"X-API-Key": key}, timeout=30).json()["rows_committed"]


def main() -> None:
    """Run every scenario and print the table with ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--port", type=int, default=18050)
    parser.add_argument("--threads", type=int, default=16, help="waitress threads (btrmon serve default)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/ingest.py needs wrk: apt-get install wrk (make bench installs it)")
    workdir = Path(tempfile.mkdtemp(prefix="btrmon-bench-"))
    db = str(workdir / "bench.duckdb")
    key = create_key(db)
    env = {**os.environ, "BTRMON_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen([sys.executable, str(ROOT / "bench" / "_ingest_server.py"), "--db", db,
                               "--port", str(args.port), "--threads", str(args.threads)], env=env, stdout=subprocess.PIPE)
    try:
        server.stdout.readline()
        base = f"http://127.0.0.1:{args.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/api/v1/stats", headers={"X-API-Key": key}, timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        results = {}
        scenarios = [
            ("parse ceiling", "/bench/parse", 1, 16), ("naive INSERT+COMMIT", "/bench/naive", 1, 16),
            ("btrmon", "/api/v1/events", 1, 16),
            ("parse ceiling", "/bench/parse", 100, 8), ("btrmon", "/api/v1/events", 100, 8),
            ("parse ceiling", "/bench/parse", 1000, 4), ("btrmon", "/api/v1/events", 1000, 4),
        ]
        print(f"ingest benchmark: waitress {args.threads} threads, wrk 1 thread, {args.seconds} s per scenario, "
              f"{os.cpu_count()} cores shared by client and server")
        print(f"{'scenario':<22} {'batch':>6} {'requests':>9} {'events/s':>11}  notes")
        for name, path, batch, connections in scenarios:
            before = committed_rows(base, key) if path == "/api/v1/events" else None
            figures = run_wrk(base + path, key, batch, args.seconds, connections, workdir)
            note = figures["errors"]
            if before is not None:
                stored = committed_rows(base, key) - before
                note = f"{stored} rows committed (>= acknowledged) {note}"
            results[(name, batch)] = figures["events_per_s"]
            print(f"{name:<22} {batch:>6} {figures['requests']:>9} {figures['events_per_s']:>11,.0f}  {note}")
        print()
        single = results[("btrmon", 1)] / max(results[("naive INSERT+COMMIT", 1)], 1)
        print(f"single-event requests: btrmon / one-INSERT-per-event = {single:.1f}x (target >= 3x)")
        for batch in (1, 100, 1000):
            ratio = results[("btrmon", batch)] / max(results[("parse ceiling", batch)], 1)
            print(f"batches of {batch:>4}: btrmon / HTTP ceiling = {ratio:.0%}"
                  + (" (target >= 40%)" if batch == 1000 else ""))
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
