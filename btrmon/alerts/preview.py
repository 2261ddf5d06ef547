""""Would have fired": replay a rule over stored data before saving a change.

The preview runs the rule's own query once for every evaluation time of the period
(every ``btrmon_alert_interval`` seconds, on multiples of it since the epoch) and
replays the engine's lifecycle on the answers: an episode opens when the condition
holds, closes at the first evaluation where it does not, and a new firing within
``btrmon_alert_flap_minutes`` of closing reopens the same episode. Each episode is
what evaluation would have stored as one alert (opened_at, resolved_at).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from btrmon.alerts.rules import Rule
from btrmon.store import utcnow

MAX_TICKS = 20_000


@dataclass
class Episode:
    """One period a rule would have fired (``end`` None: still firing at the end)."""

    component: str
    start: datetime
    end: datetime | None
    peak: float | None
    evaluations: int

    @property
    def duration(self) -> timedelta:
        """How long it fired (until the end of the preview when still firing)."""
        return (self.end or self.start) - self.start


def evaluation_times(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """Evaluation times in ``(start, end]`` on multiples of ``step`` since the epoch."""
    step_us = int(step.total_seconds() * 1_000_000)
    if step_us <= 0:
        raise ValueError("step: must be positive")
    epoch = datetime(1970, 1, 1)
    first = ((int((start - epoch).total_seconds() * 1_000_000) // step_us) + 1) * step_us
    last = int((end - epoch).total_seconds() * 1_000_000)
    count = (last - first) // step_us + 1 if last >= first else 0
    if count > MAX_TICKS:
        raise ValueError(f"step: {count} evaluations is too many (at most {MAX_TICKS}); use a longer step")
    return [epoch + timedelta(microseconds=first + i * step_us) for i in range(count)]


def replay(rule: Rule, measurements: list, ticks: list[datetime], flap: timedelta) -> list[Episode]:
    """The engine's lifecycle over ``measurements`` (rows of the rule's query for ``ticks``)."""
    by_tick: dict[datetime, dict[str, tuple]] = {}
    for tick, component, value, sample in measurements:
        by_tick.setdefault(tick, {})[component] = (value, sample)
    open_: dict[str, Episode] = {}
    closed: dict[str, Episode] = {}
    episodes: list[Episode] = []
    for tick in ticks:
        seen = by_tick.get(tick, {})
        for component, (value, sample) in seen.items():
            if not rule.fires(value, sample):
                continue
            episode = open_.get(component)
            if episode is None:
                last = closed.pop(component, None)
                if last is not None and tick - last.end <= flap:
                    episode, episode.end = last, None
                else:
                    episode = Episode(component, tick, None, None, 0)
                    episodes.append(episode)
                open_[component] = episode
            episode.evaluations += 1
            if value is not None and (episode.peak is None or _worse(rule, value, episode.peak)):
                episode.peak = value
        for component in list(open_):
            value_sample = seen.get(component)
            if value_sample is None or not rule.fires(*value_sample):
                episode = open_.pop(component)
                episode.end = tick
                closed[component] = episode
    return episodes


def _worse(rule: Rule, value: float, peak: float) -> bool:
    return value < peak if rule.op in ("<", "<=") else value > peak


def preview(monitor, rule: Rule, days: float = 7, end: datetime | None = None,
            step: timedelta | None = None) -> list[Episode]:
    """Episodes ``rule`` would have fired over the past ``days`` of stored data."""
    end = end or utcnow()
    step = step or timedelta(seconds=monitor.config.get("btrmon_alert_interval"))
    if days <= 0:
        raise ValueError("days: must be positive")
    ticks = evaluation_times(end - timedelta(days=days), end, step)
    if not ticks:
        return []
    measurements = rule.query(monitor.db, ticks, rule.window)
    flap = timedelta(minutes=monitor.config.get("btrmon_alert_flap_minutes"))
    return replay(rule, measurements, ticks, flap)


def default_step(monitor, days: float) -> timedelta:
    """The evaluation interval, or a longer step when the period would need too many evaluations."""
    interval = monitor.config.get("btrmon_alert_interval")
    return timedelta(seconds=max(interval, days * 86400 / MAX_TICKS))
