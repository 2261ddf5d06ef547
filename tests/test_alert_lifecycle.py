"""Alert lifecycle over consecutive evaluations, with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from btrmon.alerts.engine import AlertEngine
from btrmon.alerts.notify import RetryPolicy
from btrmon.alerts.preview import evaluation_times, preview
from btrmon.alerts.rules import find_rule
from btrmon.queries import alerts as q
from btrmon.store import utcnow
from tests.alert_support import add, errors, health

T0: datetime = utcnow().replace(second=0, microsecond=0) - timedelta(hours=8)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: float) -> datetime:
        """Move to T0 + ``minutes`` and return the time."""
        self.now = T0 + timedelta(minutes=minutes)
        return self.now


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def engine(monitor, clock):
    eng = AlertEngine(monitor, clock=clock, policy=RetryPolicy(base=0.01, cap=0.02, deadline=1))
    yield eng
    eng.close()


def evaluate(engine, clock, minutes: float):
    report = engine.evaluate(clock.at(minutes))
    assert report is not None and not report.errors, report
    return report


def delivered_events(engine, alert_id: int | None = None) -> list[str]:
    """Events of the deliveries (notices channel) once the background threads are done."""
    assert engine.notifier.wait_idle(10)
    frame = q.deliveries(engine.monitor.db, alert_id=alert_id)
    return sorted(frame[frame.channel == "notices"].event.tolist())


def payment_failures(monitor, minutes: float, n: int = 3) -> None:
    """``n`` payment failures at T0 + ``minutes``."""
    add(monitor, errors(n, component="payment", now=T0 + timedelta(minutes=minutes), minutes_before=0))


def test_fire_acknowledge_resolve_with_history(monitor, engine, clock):
    payment_failures(monitor, -5)
    report = evaluate(engine, clock, 0)
    (alert_id,) = report.fired
    alert = q.get_alert(monitor.db, alert_id)
    assert alert["state"] == "firing" and alert["severity"] == "critical" and alert["value"] == 3
    clock.at(2)
    acked = engine.acknowledge(alert_id, "alice", "looking into it")
    assert acked["state"] == "acknowledged" and acked["acknowledged_by"] == "alice"
    assert acked["ack_comment"] == "looking into it" and acked["acknowledged_at"] == clock.now
    with pytest.raises(ValueError, match="alert"):
        engine.acknowledge(alert_id, "bob")
    report = evaluate(engine, clock, 70)  # the failures left the 1-hour window
    assert report.resolved == [alert_id]
    assert q.get_alert(monitor.db, alert_id)["state"] == "resolved"
    evaluate(engine, clock, 81)  # after the flap window the "resolved" notification goes out
    assert delivered_events(engine, alert_id) == ["fired", "resolved"]
    events = q.alert_events(monitor.db, alert_id)
    assert sorted(events.event) == ["acknowledged", "fired", "resolved"]
    ack = events[events.event == "acknowledged"].iloc[0]
    assert ack.actor == "alice" and ack.comment == "looking into it"
    history = q.alert_history(monitor.db, T0 - timedelta(hours=1), T0 + timedelta(hours=2))
    assert history.alert_id.tolist() == [alert_id]
    assert q.alerts_fired(monitor.db, T0 - timedelta(hours=1), T0 + timedelta(hours=2)) == 1


def test_consecutive_evaluations_keep_one_alert_and_notify_once(monitor, engine, clock):
    payment_failures(monitor, -1)
    for minute in (0, 1, 2, 3):
        evaluate(engine, clock, minute)
    alerts = q.open_alerts(monitor.db)
    assert len(alerts) == 1
    assert delivered_events(engine) == ["fired"]


def test_reminder_every_repeat_hours_while_firing(monitor, engine, clock):
    monitor.config.set("btrmon_alert_repeat_hours", 2)
    monitor.config.set("btrmon_escalate_critical_minutes", 10_000)  # an escalation also resets the reminder clock
    for minute in (-1, 59, 119, 179, 239):
        payment_failures(monitor, minute)
    reports = [evaluate(engine, clock, m) for m in (0, 60, 120, 180, 240)]
    (alert_id,) = reports[0].fired
    assert [bool(r.reminded) for r in reports] == [False, False, True, False, True]
    assert delivered_events(engine, alert_id) == ["fired", "reminder", "reminder"]


def test_acknowledged_alert_gets_no_reminder(monitor, engine, clock):
    monitor.config.set("btrmon_alert_repeat_hours", 1)
    payment_failures(monitor, -1)
    payment_failures(monitor, 59)
    (alert_id,) = evaluate(engine, clock, 0).fired
    engine.acknowledge(alert_id, "alice")
    assert not evaluate(engine, clock, 61).reminded


def test_flapping_reopens_the_same_alert(monitor, engine, clock):
    add(monitor, health("critical", now=T0, minutes_before=1))
    (alert_id,) = evaluate(engine, clock, 0).fired
    assert evaluate(engine, clock, 6).resolved == [alert_id]  # the check left the 5-minute window
    add(monitor, health("critical", now=T0 + timedelta(minutes=10), minutes_before=1))
    report = evaluate(engine, clock, 10)
    assert report.reopened == [alert_id] and not report.fired
    assert q.get_alert(monitor.db, alert_id)["reopen_count"] == 1
    evaluate(engine, clock, 16)
    evaluate(engine, clock, 30)
    assert delivered_events(engine, alert_id) == ["fired", "resolved"]
    assert len(q.alert_history(monitor.db, T0 - timedelta(hours=1), T0 + timedelta(hours=1))) == 1


def test_firing_after_the_flap_window_opens_a_new_alert(monitor, engine, clock):
    add(monitor, health("critical", now=T0, minutes_before=1))
    (first,) = evaluate(engine, clock, 0).fired
    evaluate(engine, clock, 6)
    add(monitor, health("warning", now=T0 + timedelta(minutes=30), minutes_before=1))
    (second,) = evaluate(engine, clock, 30).fired
    assert second != first
    assert delivered_events(engine, first) == ["fired", "resolved"]


def calculator_errors_every_20_minutes(monitor, until: int) -> None:
    for minute in range(-10, until, 20):
        add(monitor, errors(5, component="calculator", now=T0 + timedelta(minutes=minute), minutes_before=0))


def test_escalation_warning_critical_emergency(monitor, engine, clock, serve_wsgi):
    received = []

    def sms_sink(environ, start_response):
        received.append(environ["PATH_INFO"])
        start_response("201 Created", [("Content-Type", "application/json")])
        return [b"{}"]

    sink = serve_wsgi(sms_sink)
    for name, value in (("btrmon_allow_private_urls", True), ("btrmon_sms_base_url", sink.url),
                        ("btrmon_sms_account_sid", "AC1"), ("btrmon_sms_auth_token", "tok"),
                        ("btrmon_sms_from", "+100"), ("btrmon_sms_recipients", ["+200"]),
                        ("btrmon_emergency_actions", ["disable", {"webhook": sink.url + "/emergency"}])):
        monitor.config.set(name, value)
    calculator_errors_every_20_minutes(monitor, 120)
    (alert_id,) = evaluate(engine, clock, 0).fired
    severities = []
    for minute in (59, 60, 89, 90):
        evaluate(engine, clock, minute)
        severities.append(q.get_alert(monitor.db, alert_id)["severity"])
    assert severities == ["warning", "critical", "critical", "emergency"]
    assert delivered_events(engine, alert_id) == ["escalated", "escalated", "fired"]
    frame = q.deliveries(monitor.db, alert_id=alert_id)
    sms = frame[frame.channel == "sms"]
    assert sms.event.tolist() == ["escalated"] and sms.status.tolist() == ["delivered"]
    assert sorted(received) == ["/2010-04-01/Accounts/AC1/Messages.json", "/emergency"]
    assert monitor.config.get("btr_monitor_enabled") is False  # the emergency action ran
    events = q.alert_events(monitor.db, alert_id)
    assert "warning -> critical" in events.comment.tolist() and "emergency_actions" in events.event.tolist()


def test_acknowledged_alert_does_not_escalate(monitor, engine, clock):
    calculator_errors_every_20_minutes(monitor, 120)
    (alert_id,) = evaluate(engine, clock, 0).fired
    engine.acknowledge(alert_id, "alice")
    evaluate(engine, clock, 90)
    assert q.get_alert(monitor.db, alert_id)["severity"] == "warning"
    assert monitor.config.get("btr_monitor_enabled") is True


def test_escalation_rules_filter_changes_the_steps(monitor, engine, clock):
    hooks = monitor.hooks
    hooks.add_filter("btr_monitor_escalation_rules",
                     lambda steps: [{"from": "warning", "to": "critical", "after_minutes": 5}])
    calculator_errors_every_20_minutes(monitor, 40)
    (alert_id,) = evaluate(engine, clock, 0).fired
    evaluate(engine, clock, 5)
    assert q.get_alert(monitor.db, alert_id)["severity"] == "critical"


def test_preview_matches_evaluation(monitor, engine, clock):
    # database checks: bad at 10-20, good, bad again at 28 (flap reopen), bad at 80-90
    for minute, status in ((10, "critical"), (15, "warning"), (20, "healthy"), (28, "critical"),
                           (80, "critical"), (88, "critical"), (100, "healthy")):
        add(monitor, health(status, now=T0 + timedelta(minutes=minute), minutes_before=0))
    step = timedelta(minutes=1)
    ticks = evaluation_times(T0, T0 + timedelta(minutes=120), step)
    for tick in ticks:
        engine.evaluate(tick)
    rule = find_rule(monitor, "database_connectivity")
    episodes = preview(monitor, rule, days=(120 / 1440), end=T0 + timedelta(minutes=120), step=step)
    stored = q.alert_history(monitor.db, T0 - timedelta(hours=1), T0 + timedelta(hours=3))
    stored = stored[stored.rule_id == "database_connectivity"].sort_values("opened_at")
    assert len(episodes) == 2
    assert [(e.start, e.end) for e in episodes] == [
        (a.opened_at.to_pydatetime(), a.resolved_at.to_pydatetime()) for a in stored.itertuples()]
    assert episodes[0].start == T0 + timedelta(minutes=11) and episodes[0].duration == timedelta(minutes=23)


def test_one_evaluation_at_a_time(monitor, engine, clock):
    import threading
    from datetime import timedelta as td

    from btrmon.alerts.rules import Rule

    entered, release = threading.Event(), threading.Event()

    def slow_query(db, ticks, window):
        entered.set()
        release.wait(10)
        return []

    slow = Rule("slow_rule", "Slow rule", slow_query, ">", 1, td(minutes=5))
    monitor.hooks.add_filter("btr_monitor_alert_rules", lambda rules: rules + [slow])
    results = []
    worker = threading.Thread(target=lambda: results.append(engine.evaluate(clock.at(0))))
    worker.start()
    try:
        assert entered.wait(10)
        assert engine.evaluate(clock.at(1)) is None  # the second evaluation is skipped, not queued
    finally:
        release.set()
        worker.join(10)
    assert results and results[0] is not None and not results[0].errors


def test_scheduler_job_evaluates_the_rules(monitor):
    from btrmon.alerts.engine import close_engine, get_engine, jobs
    from btrmon.scheduler import JOB_PROVIDERS

    assert "btrmon.alerts.engine:jobs" in JOB_PROVIDERS
    (job,) = jobs(monitor)
    assert job.seconds == monitor.config.get("btrmon_alert_interval") == 60
    add(monitor, errors(3, component="payment", now=utcnow(), minutes_before=1))
    try:
        report = job.func()
        assert report.fired and get_engine(monitor) is get_engine(monitor)
        assert [a["rule_id"] for a in q.open_alerts(monitor.db)] == ["payment_failures"]
    finally:
        close_engine(monitor)


def test_changing_the_interval_reschedules_the_evaluation(monitor):
    monitor.start()
    job = monitor.scheduler.scheduler.get_job("alerts.evaluate")
    assert job.trigger.interval.total_seconds() == 60
    monitor.config.set("btrmon_alert_interval", 120)
    job = monitor.scheduler.scheduler.get_job("alerts.evaluate")
    assert job.trigger.interval.total_seconds() == 120
    assert monitor.scheduler.stats["alerts.evaluate"].interval == 120


def test_preview_reports_an_episode_still_firing(monitor):
    add(monitor, errors(3, component="payment", now=T0, minutes_before=0))
    rule = find_rule(monitor, "payment_failures")
    episodes = preview(monitor, rule, days=1 / 48, end=T0 + timedelta(minutes=30), step=timedelta(minutes=1))
    assert len(episodes) == 1
    (episode,) = episodes
    assert episode.start == T0 + timedelta(minutes=1) and episode.end is None and episode.peak == 3
    with pytest.raises(ValueError, match="step"):
        preview(monitor, rule, days=7, step=timedelta(seconds=1))


def test_switching_a_rule_off_resolves_its_open_alert(monitor, engine, clock):
    from btrmon.alerts.rules import save_rule

    payment_failures(monitor, -1)
    (alert_id,) = evaluate(engine, clock, 0).fired
    save_rule(monitor, "payment_failures", enabled=False)
    assert evaluate(engine, clock, 1).resolved == [alert_id]
    events = q.alert_events(monitor.db, alert_id)
    assert events.iloc[0].event == "resolved" and events.iloc[0].comment == "rule disabled"
