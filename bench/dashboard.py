"""Dashboard benchmark: a page's full refresh through btrmon.queries vs raw rows in pandas.

    .venv/bin/python bench/dashboard.py [--rows 1000000] [--sessions 100000] [--db FILE] [--repeat 3]

Generates ``--rows`` metric rows over 7 days (plus errors, journeys over ``--sessions``
sessions and health in proportion, with ``btrmon.bulk.bulk_generate``) into a temporary
file (or reuses ``--db``), then prints, per page and timeframe, the median time of the
page's queries (exactly the calls its callbacks make, cache off) and, in the same run, the
baseline: fetching the window's raw rows into pandas and aggregating there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402

from btrmon import queries as Q  # noqa: E402
from btrmon.store import Database  # noqa: E402

TIMEFRAMES = ("1h", "6h", "24h", "7d")

PAGES = {  # the calls each page's callbacks make on one refresh
    "overview": lambda db, w: (Q.dashboard_metrics(db, w), Q.activity(db, None, 15)),
    "performance": lambda db, w: (
        Q.performance_summary(db, w), Q.response_time_series(db, w), Q.memory_series(db, w), Q.ajax_series(db, w),
        Q.component_durations(db, w), Q.slowest_endpoints(db, w, 15), Q.slow_queries(db, w, 20)),
    "errors": lambda db, w: (Q.error_summary(db, w), Q.error_trends(db, w), Q.error_groups(db, w, {}, 50),
                             Q.recent_errors(db, w, {}, 50)),
    "journey": lambda db, w: (Q.journey_summary(db, w), Q.funnel(db, w, "booking"), Q.conversion_rates(db, w),
                              Q.drop_off_points(db, w), Q.journey_durations(db, w), Q.stage_times(db, w)),
    "health": lambda db, w: (Q.component_status(db), Q.health_latest(db), Q.health_series(db, w)),
    "activity": lambda db, w: Q.activity(db, None, 300, w),
}


# -- the pandas baseline: raw rows of the window, aggregated in pandas -------------------------
def raw(db, table: str, w, all_time: bool = False) -> pd.DataFrame:
    """Every row of ``table`` in the window as a DataFrame."""
    if all_time:
        return db.query_df(f"SELECT * FROM {table}")
    return db.query_df(f'SELECT * FROM {table} WHERE "timestamp" >= ? AND "timestamp" < ?', w.params)


def pandas_performance(db, w):
    m = raw(db, "metrics", w)
    m["bucket"] = m["timestamp"].dt.floor(f"{w.bucket_seconds}s")
    req = m[m.metric_name == "request_duration"]
    out = [req.metric_value.mean(), req.metric_value.quantile(0.95),
           m[m.metric_name == "peak_memory"].metric_value.max()]
    for name in ("request_duration", "ajax_duration"):
        part = m[m.metric_name == name]
        out.append(part.groupby("bucket").metric_value.agg(["count", "mean", "max", lambda s: s.quantile(0.95)]))
    mem = m[m.metric_name.isin(["peak_memory", "memory_growth"])]
    out.append(mem.groupby(["bucket", "metric_name"]).metric_value.agg(["max", "mean"]))
    comp = m[m.metric_name.isin(Q.COMPONENT_METRICS)]
    out.append(comp.groupby("metric_name").metric_value.agg(["count", "mean", "max", lambda s: s.quantile(0.95)]))
    out.append(req.groupby("request_uri").metric_value.agg(["count", "mean", lambda s: s.quantile(0.95)])
               .sort_values("<lambda_0>").tail(15))
    out.append(m[m.metric_name == "slow_query"].groupby("request_uri").metric_value.agg(["count", "mean", "max"]))
    return out


def pandas_errors(db, w):
    e = raw(db, "errors", w)
    requests = raw(db, "metrics", w).metric_name.eq("request_duration").sum()
    e["bucket"] = e["timestamp"].dt.floor(f"{w.bucket_seconds}s")
    return (e.error_level.value_counts(), requests, e.groupby(["bucket", "error_level"]).size(),
            e.groupby("fingerprint").agg(count=("id", "size"), first=("timestamp", "min"), last=("timestamp", "max"))
            .nlargest(50, "count"), e.nlargest(50, "timestamp"))


def pandas_journey(db, w):
    j = raw(db, "journey", w).dropna(subset=["session_id"]).sort_values(["session_id", "timestamp"])
    s = j.groupby("session_id").agg(first=("timestamp", "min"), last=("timestamp", "max"),
                                    converted=("journey_stage", lambda x: (x == "conversion").any()),
                                    stage=("journey_stage", "last"), step=("journey_step", "last"))
    members = j.loc[j.conversion_funnel == "booking", "session_id"].unique()
    funnel = j[j.session_id.isin(members)].groupby("journey_stage").session_id.nunique()
    rates = j.dropna(subset=["conversion_funnel"]).groupby("conversion_funnel").session_id.nunique()
    drops = s[~s.converted].groupby(["stage", "step"]).size()
    durations = (s["last"] - s["first"]).dt.total_seconds()
    j["next"] = j.groupby("session_id")["timestamp"].shift(-1)
    stage = j.groupby("journey_stage").apply(lambda g: (g["next"] - g["timestamp"]).dt.total_seconds().mean())
    return funnel, rates, drops, pd.cut(durations, [-1, 60, 300, 900, 1800, 3600, 1e12]).value_counts(), stage


def pandas_health(db, w):
    h = raw(db, "health", w, all_time=True)
    latest = h.sort_values("timestamp").groupby(["component", "health_check"]).tail(1)
    win = h[(h.timestamp >= w.start) & (h.timestamp < w.end)].copy()
    win["bucket"] = win["timestamp"].dt.floor(f"{w.bucket_seconds}s")
    return latest, win.groupby(["bucket", "component"]).response_time_ms.mean()


def pandas_activity(db, w):
    frames = [raw(db, t, w)[["timestamp"]].assign(kind=t) for t in ("metrics", "errors", "journey", "health")]
    return pd.concat(frames).nlargest(300, "timestamp")


def pandas_overview(db, w):
    return pandas_performance(db, w)[:3], pandas_errors(db, w)[:2], pandas_journey(db, w)[:2], \
        pandas_health(db, w)[0], pandas_activity(db, w).head(15)


BASELINES = {"overview": pandas_overview, "performance": pandas_performance, "errors": pandas_errors,
             "journey": pandas_journey, "health": pandas_health, "activity": pandas_activity}


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="metric rows over 7 days")
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--db", help="reuse (or create) this file instead of a temporary one")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-baseline", action="store_true", help="skip the pandas baseline")
    parser.add_argument("--baseline-max-rows", type=int, default=3_000_000,
                        help="skip the pandas baseline above this many metric rows in the window (memory)")
    args = parser.parse_args()
    path = args.db or os.path.join(tempfile.mkdtemp(prefix="btrmon-bench-"), "bench.duckdb")
    if not os.path.exists(path):
        from btrmon.bulk import bulk_generate

        started = time.perf_counter()
        counts = bulk_generate(path, args.rows, days=7, sessions=args.sessions, seed=1)
        print(f"generated {counts} in {time.perf_counter() - started:.1f} s -> {path}", flush=True)
    db = Database(path)
    end = db.query("SELECT max(\"timestamp\") FROM metrics")[0][0]
    total = db.query("SELECT count(*) FROM metrics")[0][0]
    print(f"metrics rows: {total:,}; windows end at the newest metric ({end})")
    from btrmon.monitor import Monitor

    monitor = Monitor(database=db)  # the dashboard's cache (btr_monitor_cache_ttl) on this file
    print(f"{'page':<12}{'tf':>4}{'window rows':>13}{'queries ms':>12}{'cached ms':>10}{'pandas ms':>11}{'x faster':>10}")
    for page, run in PAGES.items():
        for label in TIMEFRAMES:
            w = Q.resolve(label, now=end + pd.Timedelta(seconds=1))
            in_window = db.query('SELECT count(*) FROM metrics WHERE "timestamp" >= ? AND "timestamp" < ?', w.params)[0][0]
            run(db, w)  # warm up
            ours = median_ms(lambda: run(db, w), args.repeat)
            # What a viewer's refresh costs once the cache holds the page (no commit meanwhile).
            cached = median_ms(lambda: Q.cached(monitor, run, w), args.repeat + 1)
            line = f"{page:<12}{label:>4}{in_window:>13,}{ours:>12.1f}{cached:>10.2f}"
            if args.no_baseline or in_window > args.baseline_max_rows:
                print(line, flush=True)
                continue
            base = median_ms(lambda: BASELINES[page](db, w), 1)
            print(f"{line}{base:>11.1f}{base / ours:>10.1f}", flush=True)
    monitor.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
