"""User journey panel: funnels, conversion rates, sessions, drop-off points, durations.

Definitions (alerts and exports rely on them); only steps with a session_id count:

- a *session* is a distinct ``session_id`` with at least one journey step in the window;
- a session *converts* when it has a step with ``journey_stage = 'conversion'``;
- a session *belongs to a funnel* F when one of its steps in the window has
  ``conversion_funnel = F``; a funnel step counts the funnel's sessions that reached
  that stage (a step of that stage, whatever its own funnel label);
- funnel steps are the stages of ``FUNNEL_STAGES[F]`` in the seed's order
  (``models.JOURNEY_STAGES``); a funnel not listed there uses the stages present,
  in that order (unknown stages last);
- ``rate_pct`` = sessions of the step / sessions of the first step; ``step_rate_pct``
  = sessions of the step / sessions of the previous step (both in percent);
- a session *drops off* at its last step (latest timestamp) when it did not convert;
  ``flagged`` counts those with a step marked ``drop_off``;
- a session's duration is the time from its first to its last step.
"""

from __future__ import annotations

import pandas as pd

from btrmon.models import FUNNELS, JOURNEY_STAGES
from btrmon.queries.base import Timeframe, check_limit, clean, frame, resolve, rows

FUNNEL_STAGES: dict[str, tuple[str, ...]] = {
    "booking": ("initialization", "shopping", "calculation", "checkout", "payment_processing", "conversion"),
    "quote_to_order": ("quote_generation", "checkout", "payment_processing", "conversion"),
    "payment_completion": ("checkout", "payment_processing", "conversion"),
}
DURATION_BINS: tuple[tuple[str, float, float], ...] = (
    ("< 1 min", 0, 60), ("1-5 min", 60, 300), ("5-15 min", 300, 900),
    ("15-30 min", 900, 1800), ("30-60 min", 1800, 3600), ("> 60 min", 3600, float("inf")),
)
_STEPS = """(SELECT id, session_id, journey_step, journey_stage, conversion_funnel, drop_off,
                    duration_ms, "timestamp"
             FROM journey WHERE "timestamp" >= ? AND "timestamp" < ? AND session_id IS NOT NULL)"""


def _stage_key(stage: str) -> tuple[int, str]:
    return (JOURNEY_STAGES.index(stage), "") if stage in JOURNEY_STAGES else (len(JOURNEY_STAGES), stage)


def funnel(db, tf: Timeframe, funnel: str = "booking") -> pd.DataFrame:
    """Steps of one funnel: step (1..n), stage, sessions, rate_pct, step_rate_pct."""
    if not isinstance(funnel, str) or not funnel:
        raise ValueError("funnel: must be a funnel name")
    w = resolve(tf)
    counts = dict(rows(db, f"""
        WITH j AS {_STEPS},
             members AS (SELECT DISTINCT session_id FROM j WHERE conversion_funnel = ?)
        SELECT journey_stage, count(DISTINCT session_id)
        FROM j WHERE session_id IN (SELECT session_id FROM members) GROUP BY 1""",
        [*w.params, funnel]))
    stages = FUNNEL_STAGES.get(funnel) or tuple(sorted(counts, key=_stage_key))
    out, first, previous = [], None, None
    for index, stage in enumerate(stages, start=1):
        sessions = int(counts.get(stage, 0))
        first = sessions if first is None else first
        out.append({
            "step": index, "stage": stage, "sessions": sessions,
            "rate_pct": clean(100.0 * sessions / first) if first else None,
            "step_rate_pct": 100.0 if previous is None and sessions else (
                clean(100.0 * sessions / previous) if previous else None),
        })
        previous = sessions
    return pd.DataFrame(out, columns=["step", "stage", "sessions", "rate_pct", "step_rate_pct"])


def conversion_rates(db, tf: Timeframe) -> pd.DataFrame:
    """Per funnel (the seed's three first, then others seen): funnel, sessions, converted, rate_pct."""
    w = resolve(tf)
    df = frame(db, f"""
        WITH j AS {_STEPS},
             conv AS (SELECT DISTINCT session_id FROM j WHERE journey_stage = 'conversion'),
             m AS (SELECT DISTINCT conversion_funnel AS funnel, session_id FROM j
                   WHERE conversion_funnel IS NOT NULL)
        SELECT funnel, count(*) AS sessions, count(conv.session_id) AS converted
        FROM m LEFT JOIN conv USING (session_id) GROUP BY funnel""", w.params)
    seen = dict(zip(df["funnel"], zip(df["sessions"], df["converted"])))
    names = list(FUNNELS) + sorted(set(seen) - set(FUNNELS))
    out = []
    for name in names:
        sessions, converted = (int(v) for v in seen.get(name, (0, 0)))
        out.append({"funnel": name, "sessions": sessions, "converted": converted,
                    "rate_pct": clean(100.0 * converted / sessions) if sessions else None})
    return pd.DataFrame(out, columns=["funnel", "sessions", "converted", "rate_pct"])


def journey_summary(db, tf: Timeframe) -> dict:
    """sessions, converted, conversion_rate_pct, dropped (flagged), steps,
    avg_duration_s, median_duration_s."""
    w = resolve(tf)
    (row,) = rows(db, f"""
        WITH s AS (
            SELECT session_id, bool_or(journey_stage = 'conversion') AS converted,
                   bool_or(drop_off) AS flagged, count(*) AS steps,
                   epoch(max("timestamp")) - epoch(min("timestamp")) AS duration_s
            FROM {_STEPS} GROUP BY session_id)
        SELECT count(*), count(*) FILTER (WHERE converted), count(*) FILTER (WHERE flagged),
               coalesce(sum(steps), 0), avg(duration_s), median(duration_s)
        FROM s""", w.params)
    sessions, converted, flagged, steps, avg_s, median_s = row
    return {
        "sessions": sessions, "converted": converted,
        "conversion_rate_pct": clean(100.0 * converted / sessions) if sessions else None,
        "dropped": flagged, "steps": int(steps),
        "avg_duration_s": clean(avg_s), "median_duration_s": clean(median_s),
    }


def drop_off_points(db, tf: Timeframe, limit: int = 20) -> pd.DataFrame:
    """Where sessions that did not convert stopped: stage, step, sessions, flagged,
    pct_of_sessions (of all sessions in the window). Most sessions first."""
    w = resolve(tf)
    return frame(db, f"""
        WITH s AS (
            SELECT session_id, bool_or(journey_stage = 'conversion') AS converted,
                   bool_or(drop_off) AS flagged,
                   arg_max(journey_stage, "timestamp") AS stage,
                   arg_max(journey_step, "timestamp") AS step
            FROM {_STEPS} GROUP BY session_id)
        SELECT stage, step, count(*) AS sessions, count(*) FILTER (WHERE flagged) AS flagged,
               100.0 * count(*) / (SELECT count(*) FROM s) AS pct_of_sessions
        FROM s WHERE NOT converted GROUP BY stage, step
        ORDER BY sessions DESC, stage, step LIMIT ?""", [*w.params, check_limit(limit)])


def journey_durations(db, tf: Timeframe) -> pd.DataFrame:
    """Distribution of session durations over ``DURATION_BINS``: bucket, sessions (all bins)."""
    w = resolve(tf)
    counts = dict(rows(db, f"""
        WITH s AS (SELECT epoch(max("timestamp")) - epoch(min("timestamp")) AS d
                   FROM {_STEPS} GROUP BY session_id)
        SELECT CASE {' '.join(f"WHEN d < {hi} THEN '{label}'" for label, _, hi in DURATION_BINS[:-1])}
                    ELSE '{DURATION_BINS[-1][0]}' END AS bucket, count(*)
        FROM s GROUP BY 1""", w.params))
    return pd.DataFrame({"bucket": [b[0] for b in DURATION_BINS],
                         "sessions": [int(counts.get(b[0], 0)) for b in DURATION_BINS]})


def stage_times(db, tf: Timeframe) -> pd.DataFrame:
    """Time spent per stage: stage, steps, avg_ms, median_ms (in the seed's stage order).

    A step's time is its ``duration_ms`` when reported, else the time until the
    session's next step; a session's last step without duration is not counted.
    """
    w = resolve(tf)
    df = frame(db, f"""
        WITH j AS {_STEPS},
             -- the next step's time is only needed in sessions with steps lacking duration_ms
             open_sessions AS (SELECT DISTINCT session_id FROM j WHERE duration_ms IS NULL),
             spent AS (
                SELECT journey_stage, duration_ms AS spent FROM j WHERE duration_ms IS NOT NULL
                UNION ALL
                SELECT journey_stage, spent FROM (
                    SELECT journey_stage, duration_ms,
                           epoch_ms(lead("timestamp") OVER (PARTITION BY session_id ORDER BY "timestamp", id))
                           - epoch_ms("timestamp") AS spent
                    FROM j WHERE session_id IN (SELECT session_id FROM open_sessions))
                WHERE duration_ms IS NULL)
        SELECT journey_stage AS stage, count(spent) AS steps, avg(spent) AS avg_ms,
               median(spent) AS median_ms
        FROM spent GROUP BY 1""", w.params)
    return df.sort_values("stage", key=lambda s: s.map(_stage_key)).reset_index(drop=True)
