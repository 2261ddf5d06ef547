"""Dashboard benchmark: a page's full refresh through btrmon.queries vs raw rows in pandas.

    .venv/bin/python bench/dashboard.py [--rows 1000000] [--sessions 100000] [--db FILE] [--repeat 3]

Generates ``--rows`` metric rows over 7 days (plus errors, journeys over ``--sessions``
sessions and health in proportion, with ``btrmon.bulk.bulk_generate``) into a temporary
file (or reuses ``--db``), then prints, per page and timeframe, the median time of the
page's queries (exactly the calls its callbacks make, through the dashboard cache emptied
before each refresh: what a viewer waits for when nothing is cached; panels of one refresh
share their base aggregation, see ``queries.cache.shared``) and, in the same run, the
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

PAGES = {  # the calls each page's callbacks make on one refresh; call(fn, *args) = Q.cached(monitor, fn, *args)
    "overview": lambda call, w: (call(Q.dashboard_metrics, w), call(Q.activity, None, 15)),
    "performance": lambda call, w: (
        call(Q.performance_summary, w), call(Q.response_time_series, w), call(Q.memory_series, w),
        call(Q.ajax_series, w), call(Q.component_durations, w), call(Q.slowest_endpoints, w, 15),
        call(Q.slow_queries, w, 20)),
    "errors": lambda call, w: (call(Q.error_summary, w), call(Q.error_trends, w), call(Q.error_groups, w, {}, 50),
                               call(Q.recent_errors, w, {}, 50)),
    "journey": lambda call, w: (call(Q.journey_summary, w), call(Q.funnel, w, "booking"), call(Q.conversion_rates, w),
                                call(Q.drop_off_points, w), call(Q.journey_durations, w), call(Q.stage_times, w)),
    "health": lambda call, w: (call(Q.component_status), call(Q.health_latest), call(Q.health_series, w)),
    "activity": lambda call, w: call(Q.activity, None, 300, w),
}


def refresh(monitor, page: str, w, cold: bool = True):
    """One full refresh of ``page`` as its callbacks make it, through the dashboard cache
    (``cold``: emptied first, i.e. nothing of this view computed yet)."""
    if cold:
        Q.cache_of(monitor).clear()
    return PAGES[page](lambda fn, *args: Q.cached(monitor, fn, *args), w)


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
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated pages to time")
    parser.add_argument("--timeframes", default=",".join(TIMEFRAMES), help="comma-separated timeframes")
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
    for page in args.pages.split(","):
        for label in args.timeframes.split(","):
            w = Q.resolve(label, now=end + pd.Timedelta(seconds=1))
            in_window = db.query('SELECT count(*) FROM metrics WHERE "timestamp" >= ? AND "timestamp" < ?', w.params)[0][0]
            refresh(monitor, page, w)  # warm up
            ours = median_ms(lambda: refresh(monitor, page, w), args.repeat)
            # What a viewer's refresh costs once the cache holds the page (no commit meanwhile).
            cached = median_ms(lambda: refresh(monitor, page, w, cold=False), args.repeat + 1)
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
