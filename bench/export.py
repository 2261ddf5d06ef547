"""Benchmark: a 7-day export in each format vs pandas ``to_csv`` / ``to_json`` of the same rows.

    .venv/bin/python bench/export.py --rows 1000000 [--rows 10000000] [--keep DIR]

For each size a DuckDB file is filled (``btrmon.bulk.bulk_generate``), then every
case runs in its own subprocess so its peak memory (``ru_maxrss``) is its own:

- ``pandas_csv`` / ``pandas_json``: fetch the 7 days of metrics into a DataFrame
  and write ``to_csv`` / ``to_json(orient="records", lines=False)``;
- ``csv`` / ``json`` / ``zip``: btrmon's streamed export of the metrics section;
- ``csv_all``: the full multi-section CSV (every section);
- ``pdf``: the PDF report of the 7 days.

``BENCH_CAP_GB=N`` caps the address space of the pandas baselines (a 10M-row
baseline needs well over 10 GB; over the cap it reports a MemoryError).
Peak memory is the worker's ``ru_maxrss``; the parent stays small (data is
generated in a subprocess too) because a child's ``ru_maxrss`` starts at its
parent's size.

Prints seconds, peak RSS (MB), output size and the ratios to the pandas baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CASES = ("pandas_csv", "pandas_json", "csv", "json", "zip", "csv_all", "pdf")


def generate(db_path: Path, rows: int) -> dict:
    """Fill ``db_path`` with ``rows`` metrics over 7 days (and the other tables in proportion)."""
    try:
        from btrmon.bulk import bulk_generate
    except ImportError:
        from btrmon.demo import bulk_generate
    return bulk_generate(db_path, metric_rows=rows, days=7, sessions=max(1000, rows // 50), seed=7)


def worker(case: str, db_path: str, out_path: str) -> dict:
    """Run one case in this process; returns seconds and output bytes."""
    from btrmon.monitor import Monitor

    cap_gb = float(os.environ.get("BENCH_CAP_GB", "0"))
    if cap_gb and case.startswith("pandas_"):  # keep a 10M-row baseline from starving other processes
        resource.setrlimit(resource.RLIMIT_AS, (int(cap_gb * 2**30), resource.RLIM_INFINITY))
    monitor = Monitor(db=db_path)
    try:
        started = time.perf_counter()
        if case.startswith("pandas_"):
            from btrmon.queries.exports import EXPORT_COLUMNS, resolve_window

            start, end = resolve_window("7d")
            columns = ", ".join(f'"{c}"::VARCHAR AS "{c}"' if c == "event_id" else f'"{c}"'
                                for c in EXPORT_COLUMNS["metrics"])
            df = monitor.db.query_df(f'SELECT {columns} FROM metrics WHERE "timestamp" >= ? AND "timestamp" < ?',
                                     [start, end])
            fetched = time.perf_counter()
            if case == "pandas_csv":
                df.to_csv(out_path, index=False)
            else:
                df.to_json(out_path, orient="records", date_format="iso")
            write_seconds = time.perf_counter() - fetched
        else:
            from btrmon.exports import write_export
            from btrmon.exports.data import ExportRequest, open_export

            fmt = {"csv_all": "csv"}.get(case, case)
            sections = ("metrics",) if case in ("csv", "json", "zip") else ExportRequest().sections
            with open_export(monitor, ExportRequest(timeframe="7d", sections=sections, requested_by="bench")) as data:
                with open(out_path, "wb") as out:
                    write_export(data, fmt, out)
            write_seconds = None
        seconds = time.perf_counter() - started
    finally:
        monitor.close()
    return {"seconds": seconds, "write_seconds": write_seconds, "bytes": os.path.getsize(out_path),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_case(case: str, db_path: Path, workdir: Path) -> dict:
    """Run ``case`` in a fresh subprocess; its result as a dict."""
    out = workdir / f"out-{case}"
    done = subprocess.run([sys.executable, __file__, "--worker", case, "--db", str(db_path), "--out", str(out)],
                          capture_output=True, text=True, timeout=3600, cwd=ROOT)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    out.unlink(missing_ok=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(rows: int, results: dict[str, dict]) -> None:
    """Print one table for ``rows``."""
    print(f"\n7-day export, {rows:,} metric rows")
    print(f"{'case':<12} {'seconds':>9} {'peak MB':>9} {'output MB':>10} {'time vs pandas':>15} {'mem vs pandas':>14}")
    for case, r in results.items():
        if "error" in r:
            print(f"{case:<12} error: {r['error']}")
            continue
        base = results.get("pandas_json" if case == "json" else "pandas_csv", {})
        t_ratio = f"{r['seconds'] / base['seconds']:.2f}x" if base.get("seconds") else "-"
        m_ratio = f"{r['peak_mb'] / base['peak_mb']:.2f}x" if base.get("peak_mb") else "-"
        print(f"{case:<12} {r['seconds']:>9.2f} {r['peak_mb']:>9.0f} {r['bytes'] / 2**20:>10.1f} {t_ratio:>15} {m_ratio:>14}")


def main() -> None:
    """Parse arguments; run the worker or the whole benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, action="append", help="metric rows (repeatable; default 1,000,000)")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of " + ",".join(CASES))
    parser.add_argument("--keep", help="directory for the database files (kept and reused)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.db, args.out)))
        return
    if args.generate:
        print(generate(Path(args.db), args.generate))
        return
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="btrmon-bench-export-"))
    workdir.mkdir(parents=True, exist_ok=True)
    all_results = {}
    for rows in args.rows or [1_000_000]:
        db_path = workdir / f"export-{rows}.duckdb"
        if not db_path.exists():
            # in a subprocess: a child's ru_maxrss starts from its parent's size, so the parent stays small
            started = time.perf_counter()
            done = subprocess.run([sys.executable, __file__, "--generate", str(rows), "--db", str(db_path)],
                                  capture_output=True, text=True, timeout=7200, cwd=ROOT)
            if done.returncode != 0:
                raise SystemExit(f"generating {rows:,} rows failed: {done.stderr[-2000:]}")
            print(f"generated {done.stdout.strip()} in {time.perf_counter() - started:.1f} s", flush=True)
        results = {case: run_case(case, db_path, workdir) for case in args.cases.split(",")}
        report(rows, results)
        all_results[rows] = results
    if len(all_results) > 1:
        small, large = min(all_results), max(all_results)
        for case in ("csv", "zip", "json", "csv_all"):
            a, b = all_results[small].get(case, {}), all_results[large].get(case, {})
            if a.get("peak_mb") and b.get("peak_mb"):
                print(f"{case}: peak memory at {large:,} rows = {b['peak_mb'] / a['peak_mb']:.2f}x that at {small:,}")
    if not args.keep:
        for path in workdir.glob("export-*"):
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
