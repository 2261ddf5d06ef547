"""Timeframes, time buckets, filters and the dashboard cache shared by every query.

A *timeframe* is one of ``TIMEFRAMES`` ('1h', '6h', '24h', '7d'), an explicit
``(start, end)`` pair of datetimes, or a ``Window``. Windows are half-open:
``start <= timestamp < end``, in naive UTC like the tables.

Query functions take ``db`` (a ``store.Database``, or anything with a ``.db``
attribute such as a ``Monitor``) and never write. Parameters are always bound;
column names that vary (sort, filter) come from allow-lists in this package.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping

import pandas as pd

from btrmon.store import utcnow

TIMEFRAMES: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
DEFAULT_TIMEFRAME = "24h"

# Width of one chart bucket per timeframe (about 60-170 points per chart).
BUCKET_SECONDS: dict[str, int] = {"1h": 60, "6h": 300, "24h": 900, "7d": 3600}


@dataclass(frozen=True)
class Window:
    """A resolved timeframe: ``start <= timestamp < end`` with a chart bucket width."""

    start: datetime
    end: datetime
    bucket_seconds: int
    label: str

    @property
    def params(self) -> list[datetime]:
        """``[start, end]`` for ``timestamp >= ? AND timestamp < ?``."""
        return [self.start, self.end]


Timeframe = str | tuple | Window


def _bucket_for(span: timedelta) -> int:
    """A bucket width giving at most ~200 points for an explicit range."""
    for label, width in TIMEFRAMES.items():
        if span <= width:
            return BUCKET_SECONDS[label]
    return max(3600, int(span.total_seconds() // 200 // 3600 + 1) * 3600)


def _as_datetime(value: Any, field: str) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return _as_datetime(datetime.fromisoformat(value.replace("Z", "+00:00")), field)
        except ValueError:
            pass
    raise ValueError(f"{field}: must be an ISO-8601 date/time, got {str(value)[:40]!r}")


def resolve(timeframe: Timeframe | None, now: datetime | None = None) -> Window:
    """The ``Window`` of a timeframe label, an explicit ``(start, end)``, or a Window."""
    if isinstance(timeframe, Window):
        return timeframe
    if timeframe is None:
        timeframe = DEFAULT_TIMEFRAME
    if isinstance(timeframe, (tuple, list)):
        if len(timeframe) != 2:
            raise ValueError("timeframe: an explicit range is (start, end)")
        start = _as_datetime(timeframe[0], "start")
        end = _as_datetime(timeframe[1], "end")
        if end <= start:
            raise ValueError("timeframe: end must be after start")
        return Window(start, end, _bucket_for(end - start), "custom")
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"timeframe: must be one of {', '.join(TIMEFRAMES)} or (start, end)")
    end = now or utcnow()
    return Window(end - TIMEFRAMES[timeframe], end, BUCKET_SECONDS[timeframe], timeframe)


def window(timeframe: Timeframe | None, now: datetime | None = None) -> tuple[datetime, datetime]:
    """``(start, end)`` of a timeframe ('1h', '6h', '24h', '7d' or an explicit pair)."""
    w = resolve(timeframe, now)
    return w.start, w.end


def database(source):
    """The ``store.Database`` of ``source`` (a Database, or a Monitor with ``.db``)."""
    return getattr(source, "db", None) or source


def frame(db, sql: str, params: list) -> pd.DataFrame:
    """Run a read query with bound parameters; a pandas DataFrame."""
    return database(db).query_df(sql, params)


def rows(db, sql: str, params: list) -> list[tuple]:
    """Run a read query with bound parameters; a list of tuples."""
    return database(db).query(sql, params)


def clean(value: Any) -> Any:
    """A JSON-friendly scalar: NaN -> None, timestamps -> ISO text, numpy -> Python."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 3)
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if value is pd.NaT:
        return None
    return value


def records(df: pd.DataFrame) -> list[dict]:
    """A DataFrame as a list of JSON-friendly dicts."""
    return [{k: clean(v) for k, v in row.items()} for row in df.to_dict("records")]


# -- filters ---------------------------------------------------------------------------
def where_filters(filters: Mapping[str, Any] | None, allowed: Mapping[str, str]) -> tuple[str, list]:
    """``AND ...`` clauses for ``filters`` whose keys are in ``allowed`` (key -> column).

    A value may be a scalar or a list (``IN``); ``None``/empty values are ignored;
    an unknown key raises ``ValueError`` naming it.
    """
    clauses, params = [], []
    for key, value in (filters or {}).items():
        if value is None or value == "" or value == [] or value == ():
            continue
        column = allowed.get(key)
        if column is None:
            raise ValueError(f"filter {key!r}: must be one of {', '.join(sorted(allowed))}")
        if isinstance(value, (list, tuple, set)):
            values = list(value)
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        else:
            clauses.append(f"{column} = ?")
            params.append(value)
    return "".join(f" AND {c}" for c in clauses), params


def order_by(sort: str | None, allowed: Mapping[str, str], default: str) -> str:
    """An ``ORDER BY`` expression from an allow-list; ``-name`` sorts ascending."""
    key = sort or default
    ascending = key.startswith("-")
    key = key.lstrip("-")
    if key not in allowed:
        raise ValueError(f"sort: must be one of {', '.join(sorted(allowed))}")
    return f"{allowed[key]} {'ASC' if ascending else 'DESC'} NULLS LAST"


def check_limit(limit: int, maximum: int = 10_000) -> int:
    """``limit`` as an int within 1..maximum, or ValueError naming the field."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise ValueError(f"limit: must be an integer from 1 to {maximum}")
    return limit
