"""Performance panel: response times, memory, AJAX, cache hits, slow queries, components.

Definitions (alerts and exports rely on them):

- a *request* is one ``metrics`` row with ``metric_name = 'request_duration'``
  (its value in ms); ``requests`` counts those rows in the window;
- ``avg_ms`` / ``p95_ms`` are the mean and the continuous 95th percentile
  (``quantile_cont``) of those values;
- ``peak_memory_mb`` is the maximum of ``peak_memory``; ``memory_growth_mb`` the
  mean of ``memory_growth`` (per request); ``ajax_avg_ms`` the mean of ``ajax_duration``;
- ``cache_hit_rate`` (percent) comes from reported cache metrics: the sum of the
  values of ``cache_hit`` rows over the sum of ``cache_hit`` + ``cache_miss`` rows
  (send value 1 per lookup, or a count); None when neither was reported;
- component operations are the seed's ``COMPONENT_METRICS`` (ms).
"""

from __future__ import annotations

import pandas as pd

from btrmon.queries.base import Timeframe, check_limit, clean, frame, order_by, resolve
from btrmon.queries.cache import shared

COMPONENT_METRICS: tuple[str, ...] = (
    "calculator.operation_duration",
    "preventivi.creation_duration",
    "payment.process_duration",
    "gateway.call_duration",
    "checkout.process_duration",
)

_WINDOW = '"timestamp" >= $start AND "timestamp" < $end'


def _params(w, **extra) -> dict:
    return {"start": w.start, "end": w.end, **extra}


def metric_stats(db, tf: Timeframe) -> pd.DataFrame:
    """Per metric_name in the window: metric_name, component (before the dot), count, avg,
    max, sum, p95. One pass that the summary and component panels (and the error rate's
    request count) slice."""
    w = resolve(tf)
    # Grouping by the (dictionary-encoded) name is cheaper than filtering on it first, and a
    # p95 for every name is cheaper than a FILTER clause on the percentile.
    return frame(db, f"""
        SELECT metric_name, split_part(metric_name, '.', 1) AS component,
               count(*) AS count, avg(metric_value) AS avg, max(metric_value) AS max, sum(metric_value) AS sum,
               quantile_cont(metric_value, 0.95) AS p95
        FROM metrics WHERE {_WINDOW} GROUP BY metric_name""", _params(w))


_ABSENT = {"count": 0, "avg": None, "max": None, "sum": None, "p95": None}


def _stats_by_name(df: pd.DataFrame) -> dict[str, dict]:
    """``metric_stats`` rows keyed by metric_name."""
    return {row["metric_name"]: row for row in df.to_dict("records")}


def performance_summary(db, tf: Timeframe) -> dict:
    """Headline numbers: requests, avg_ms, p95_ms, max_ms, peak_memory_mb, memory_growth_mb,
    ajax_requests, ajax_avg_ms, slow_queries, cache_hits, cache_misses, cache_hit_rate."""
    stats = _stats_by_name(shared(db, metric_stats, tf))
    req, peak, growth, ajax, slow, hit, miss = (stats.get(name, _ABSENT) for name in (
        "request_duration", "peak_memory", "memory_growth", "ajax_duration", "slow_query", "cache_hit", "cache_miss"))
    hits, misses = hit["sum"] or 0, miss["sum"] or 0
    return {
        "requests": int(req["count"]), "avg_ms": clean(req["avg"]), "p95_ms": clean(req["p95"]),
        "max_ms": clean(req["max"]), "peak_memory_mb": clean(peak["max"]), "memory_growth_mb": clean(growth["avg"]),
        "ajax_requests": int(ajax["count"]), "ajax_avg_ms": clean(ajax["avg"]), "slow_queries": int(slow["count"]),
        "cache_hits": clean(float(hits)) if hits + misses else None,
        "cache_misses": clean(float(misses)) if hits + misses else None,
        "cache_hit_rate": clean(100.0 * hits / (hits + misses)) if hits + misses else None,
    }


_SERIES_METRICS = ("request_duration", "ajax_duration", "peak_memory", "memory_growth")


def bucket_stats(db, tf: Timeframe) -> pd.DataFrame:
    """Per time bucket and metric_name (requests, AJAX, memory): metric_name, bucket, count,
    avg, max, p95. One pass that the response time, AJAX and memory charts slice."""
    w = resolve(tf)
    names = ", ".join(f"'{n}'" for n in _SERIES_METRICS)  # constants, not user input
    return frame(db, f"""
        SELECT metric_name, time_bucket(to_seconds($bucket), "timestamp") AS bucket,
               count(*) AS count, avg(metric_value) AS avg, max(metric_value) AS max,
               quantile_cont(metric_value, 0.95) AS p95
        FROM metrics WHERE metric_name IN ({names}) AND {_WINDOW}
        GROUP BY ALL ORDER BY bucket""", _params(w, bucket=w.bucket_seconds))


def _buckets_of(db, tf: Timeframe, name: str) -> pd.DataFrame:
    buckets = shared(db, bucket_stats, tf)
    return buckets[buckets["metric_name"] == name]


def _series(db, tf: Timeframe, name: str) -> pd.DataFrame:
    part = _buckets_of(db, tf, name)
    return pd.DataFrame({"bucket": part["bucket"], "count": part["count"], "avg_ms": part["avg"],
                         "p95_ms": part["p95"], "max_ms": part["max"]}).reset_index(drop=True)


def response_time_series(db, tf: Timeframe) -> pd.DataFrame:
    """Requests per time bucket: bucket, count, avg_ms, p95_ms, max_ms (empty buckets omitted)."""
    return _series(db, tf, "request_duration")


def ajax_series(db, tf: Timeframe) -> pd.DataFrame:
    """AJAX durations per time bucket: bucket, count, avg_ms, p95_ms, max_ms."""
    return _series(db, tf, "ajax_duration")


def memory_series(db, tf: Timeframe) -> pd.DataFrame:
    """Memory per time bucket: bucket, peak_memory_mb (max), memory_growth_mb (mean)."""
    peak = _buckets_of(db, tf, "peak_memory").set_index("bucket")["max"].rename("peak_memory_mb")
    growth = _buckets_of(db, tf, "memory_growth").set_index("bucket")["avg"].rename("memory_growth_mb")
    df = pd.concat([peak, growth], axis=1).sort_index()
    df.index.name = "bucket"
    return df.reset_index()


def component_durations(db, tf: Timeframe) -> pd.DataFrame:
    """Per component operation metric: component, metric_name, count, avg_ms, p95_ms, max_ms.

    One row per name of ``COMPONENT_METRICS`` that has data, in that order;
    ``component`` is the part of the name before the dot.
    """
    stats = shared(db, metric_stats, tf)
    part = stats[stats["metric_name"].isin(COMPONENT_METRICS)]
    order = {n: i for i, n in enumerate(COMPONENT_METRICS)}
    part = part.sort_values("metric_name", key=lambda s: s.map(order))
    return pd.DataFrame({
        "component": part["component"], "metric_name": part["metric_name"],
        "count": part["count"], "avg_ms": part["avg"], "p95_ms": part["p95"], "max_ms": part["max"],
    }).reset_index(drop=True)


ENDPOINT_SORTS = {"requests": "requests", "avg_ms": "avg_ms", "p95_ms": "p95_ms", "max_ms": "max_ms"}


def slowest_endpoints(db, tf: Timeframe, limit: int = 10, sort: str = "p95_ms") -> pd.DataFrame:
    """Endpoints (request_uri of requests): request_uri, requests, avg_ms, p95_ms, max_ms.

    Sorted descending by ``sort`` (one of ``ENDPOINT_SORTS``; '-name' ascending).
    """
    w = resolve(tf)
    sql = f"""
        SELECT coalesce(request_uri, '(unknown)') AS request_uri, count(*) AS requests,
               avg(metric_value) AS avg_ms, quantile_cont(metric_value, 0.95) AS p95_ms,
               max(metric_value) AS max_ms
        FROM metrics WHERE metric_name = 'request_duration' AND {_WINDOW}
        GROUP BY 1 ORDER BY {order_by(sort, ENDPOINT_SORTS, 'p95_ms')}, request_uri LIMIT $limit"""
    return frame(db, sql, _params(w, limit=check_limit(limit)))


def slow_queries(db, tf: Timeframe, limit: int = 20) -> pd.DataFrame:
    """Slow queries (``slow_query`` rows) grouped by statement: statement, count, avg_ms,
    max_ms, last_seen, component. The statement is ``metadata.statement`` (or
    ``metadata.query``; else the request URI)."""
    w = resolve(tf)
    # The JSON is read once per distinct (metadata, request_uri), not once per row; avg_ms is
    # then sum / count of those groups (equal to avg() up to float rounding order).
    sql = f"""
        WITH g AS (
            SELECT metadata, request_uri, count(*) AS n, sum(metric_value) AS total,
                   max(metric_value) AS high, max("timestamp") AS last, any_value(component) AS component
            FROM metrics WHERE metric_name = 'slow_query' AND {_WINDOW}
            GROUP BY metadata, request_uri)
        SELECT coalesce(json_extract_string(metadata, '$.statement'),
                        json_extract_string(metadata, '$.query'),
                        request_uri, '(unknown)') AS statement,
               sum(n)::BIGINT AS count, sum(total) / sum(n) AS avg_ms, max(high) AS max_ms,
               max(last) AS last_seen, any_value(component) AS component
        FROM g GROUP BY 1 ORDER BY max_ms DESC, statement LIMIT $limit"""
    return frame(db, sql, _params(w, limit=check_limit(limit)))
