"""The read-only query layer: every figure, table and number of the dashboard,
the exports, the alerts and the API comes from a function here.

Functions take ``db`` (a ``store.Database`` or a ``Monitor``) and a timeframe
('1h', '6h', '24h', '7d', an explicit ``(start, end)``, or a ``Window``), run one
aggregation in DuckDB with bound parameters and return a small DataFrame or dict.
``cached(monitor, fn, *args)`` serves results through the monitor's cache
(``btr_monitor_cache_ttl``; real-time windows are also invalidated by every commit,
see ``cache``).

The definitions that others must agree with (requests, error rate, conversion,
funnel steps, drop-off) are written in the docstrings of ``performance``,
``errors`` and ``journey``.
"""

from btrmon.queries.activity import KINDS, activity
from btrmon.queries.base import BUCKET_SECONDS, DEFAULT_TIMEFRAME, TIMEFRAMES, Window, records, resolve, window
from btrmon.queries.cache import QueryCache, cache_of, cached, is_realtime
from btrmon.queries.dashboard import dashboard_metrics
from btrmon.queries.errors import (
    ERROR_FILTERS, RATE_LEVELS, error_detail, error_groups, error_summary, error_trends, recent_errors,
)
from btrmon.queries.health import (
    component_status, health_history, health_latest, health_series, health_summary,
)
from btrmon.queries.journey import (
    FUNNEL_STAGES, conversion_rates, drop_off_points, funnel, journey_durations, journey_summary,
    stage_times,
)
from btrmon.queries.performance import (
    COMPONENT_METRICS, ajax_series, component_durations, memory_series, performance_summary,
    response_time_series, slow_queries, slowest_endpoints,
)

__all__ = [
    "BUCKET_SECONDS", "COMPONENT_METRICS", "DEFAULT_TIMEFRAME", "ERROR_FILTERS", "FUNNEL_STAGES",
    "KINDS", "RATE_LEVELS", "TIMEFRAMES", "QueryCache", "Window", "activity", "ajax_series",
    "cache_of", "cached", "is_realtime", "component_durations", "component_status", "conversion_rates",
    "dashboard_metrics", "drop_off_points", "error_detail", "error_groups", "error_summary",
    "error_trends", "funnel", "health_history", "health_latest", "health_series", "health_summary",
    "journey_durations", "journey_summary", "memory_series", "performance_summary", "recent_errors",
    "records", "resolve", "response_time_series", "slow_queries", "slowest_endpoints",
    "stage_times", "window",
]
