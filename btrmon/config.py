"""Settings as data: the one table where every option and its default is written.

Precedence, highest first: environment ``BTRMON_<NAME>`` (the name upper-cased,
``btr_monitor_retention`` -> ``BTRMON_BTR_MONITOR_RETENTION``, a ``btrmon_`` prefix
dropped: ``btrmon_health_interval`` -> ``BTRMON_HEALTH_INTERVAL``), the ``options`` table
of the database, the default below. The settings page, the env overrides, the CLI
and the README table are all generated from ``SETTINGS``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping


@dataclass(frozen=True)
class Setting:
    """One option: its name, default, type, help text and allowed range."""

    name: str
    default: Any
    type: type
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    secret: bool = False
    group: str = "general"

    @property
    def env_name(self) -> str:
        """The environment variable that overrides this setting."""
        return "BTRMON_" + self.name.removeprefix("btrmon_").upper()


def _s(name, default, typ, help, group, **kw) -> Setting:
    return Setting(name, default, typ, help, group=group, **kw)


SETTINGS: tuple[Setting, ...] = (
    # --- the seed's options -------------------------------------------------
    _s("btr_monitor_enabled", True, bool, "Master switch. False: ingestion answers 503, the Python API is a no-op.", "monitoring"),
    _s("btr_monitor_performance", True, bool, "Record performance metrics (kind metric).", "monitoring"),
    _s("btr_monitor_errors", True, bool, "Record errors (kind error).", "monitoring"),
    _s("btr_monitor_journey", True, bool, "Record user journey steps (kind journey).", "monitoring"),
    _s("btr_monitor_health", True, bool, "Record health checks (kind health) and run the built-in checks.", "monitoring"),
    _s("btr_monitor_dashboard", True, bool, "Serve the dashboard pages.", "monitoring"),
    _s("btr_monitor_retention", 30, int, "Days of data kept (default for every data type).", "retention", minimum=1, maximum=3650),
    _s("btr_monitor_retention_metrics", 0, int, "Days of metrics kept; 0 = use btr_monitor_retention.", "retention", minimum=0, maximum=3650),
    _s("btr_monitor_retention_errors", 0, int, "Days of errors kept; 0 = use btr_monitor_retention.", "retention", minimum=0, maximum=3650),
    _s("btr_monitor_retention_journey", 0, int, "Days of journey steps kept; 0 = use btr_monitor_retention.", "retention", minimum=0, maximum=3650),
    _s("btr_monitor_retention_health", 0, int, "Days of health checks kept; 0 = use btr_monitor_retention.", "retention", minimum=0, maximum=3650),
    _s("btr_monitor_sample_rate", 100, int, "Percent of sessions recorded (deterministic per session; critical errors always kept).", "monitoring", minimum=0, maximum=100),
    _s("btr_monitor_cache_ttl", 300, int, "Seconds dashboard aggregates are cached (never older than the newest write for real-time panels).", "dashboard", minimum=0, maximum=86400),
    _s("btrmon_dashboard_refresh", 30, int, "Seconds between dashboard auto refreshes (paused while the browser tab is hidden).", "dashboard", minimum=1, maximum=3600),
    _s("btrmon_login_max_failures", 5, int, "Failed dashboard logins allowed per address and per user within 5 minutes before further attempts are refused.", "dashboard", minimum=1, maximum=1000),
    _s("btrmon_session_hours", 12, float, "Hours a dashboard login stays valid.", "dashboard", minimum=0.1, maximum=720),
    _s("btr_alert_response_time_threshold", 5000, int, "Slow Response Time alert: request duration threshold (ms).", "alerts", minimum=1),
    _s("btr_alert_error_rate_threshold", 5, float, "High Error Rate alert: errors / requests threshold (%).", "alerts", minimum=0, maximum=100),
    _s("btr_alert_memory_threshold", 256, int, "High Memory Usage alert and memory health check threshold (MB).", "alerts", minimum=1),
    _s("btr_alert_payment_failures_threshold", 3, int, "Payment Failures alert: failures in 1 hour.", "alerts", minimum=1),
    _s("btr_alert_calculator_errors_threshold", 5, int, "Calculator Errors alert: calculator errors in 1 hour.", "alerts", minimum=1),
    _s("btr_alert_conversion_rate_threshold", 2, float, "Low Conversion Rate alert: conversions / sessions below this (%) over 6 hours.", "alerts", minimum=0, maximum=100),
    _s("btr_alert_min_requests", 20, int, "High Error Rate / Slow Response Time: fewer requests in the window never fire.", "alerts", minimum=1),
    _s("btr_alert_min_sessions", 50, int, "Low Conversion Rate: fewer sessions in the window never fire.", "alerts", minimum=1),
    # --- ingestion ------------------------------------------------------------
    _s("btrmon_max_body_bytes", 5 * 1024 * 1024, int, "Largest accepted request body, after gzip decompression (bytes).", "ingest", minimum=1024),
    _s("btrmon_rate_limit_per_key", 20000, int, "Requests per second allowed per API key (token bucket, burst 2x); 0 = unlimited.", "ingest", minimum=0),
    _s("btrmon_queue_max_events", 200000, int, "Events the writer queue holds before ingestion answers 503.", "ingest", minimum=100),
    _s("btrmon_session_secret", "", str, "Per-install secret for hashing session ids (generated on first start).", "privacy", secret=True),
    # --- scheduler, snapshots, health --------------------------------------------
    _s("btrmon_snapshot_interval", 60, int, "Seconds between notebook snapshots (Parquet under data/snapshot/); 0 = off.", "maintenance", minimum=0),
    _s("btrmon_spool_dir", "", str, "Directory of the fallback spool of events the database could not take; empty = <data dir>/spool. Put it on another disk to survive a full data disk.", "maintenance"),
    _s("btrmon_metrics_public", True, bool, "Serve GET /metrics (Prometheus) without an API key; false = key required.", "health"),
    _s("btrmon_health_interval", 300, int, "Seconds between built-in health check runs.", "health", minimum=10),
    _s("btrmon_process_memory_mb", 1024, int, "memory health check: btrmon's own process RSS limit (MB; warning at 80 %); 0 = btr_alert_memory_threshold. The seed's 256 MB is about the monitored app's requests: btrmon's server alone uses ~250 MB.", "health", minimum=0),
    _s("btrmon_disk_warning_percent", 15, float, "disk_space health: warning below this percent free.", "health", minimum=0, maximum=100),
    _s("btrmon_disk_critical_percent", 5, float, "disk_space health: critical below this percent free.", "health", minimum=0, maximum=100),
    _s("btrmon_external_services", [], list, "external_services health: list of {name, url, timeout, expected_status, warning_ms, critical_ms}.", "health"),
    _s("btrmon_component_stale_after", 900, int, "Seconds without a report before an app-reported component turns warning (critical at 2x).", "health", minimum=10),
    _s("btrmon_slow_query_ms", 100, int, "Statements slower than this are recorded as slow_query (ms).", "instrumentation", minimum=0),
    _s("btrmon_operation_timeout", 600, int, "Seconds before an integration start without completion is recorded as timed out.", "instrumentation", minimum=1),
    _s("btrmon_ajax_header", "X-Btrmon-Ajax", str, "Request header (value 1) that marks an AJAX request for the WSGI middleware, besides X-Requested-With: XMLHttpRequest.", "instrumentation"),
    _s("btrmon_client_queue_max", 10000, int, "Remote mode: events held in memory while the server is unreachable; more are dropped (counted).", "client", minimum=10),
    _s("btrmon_client_batch_size", 500, int, "Remote mode: events per POST.", "client", minimum=1, maximum=10000),
    _s("btrmon_client_give_up_seconds", 600, float, "Remote mode: a batch failing for this long is dropped (counted as dropped:remote_gave_up).", "client", minimum=1),
    _s("btrmon_client_max_backoff", 30, float, "Remote mode: longest wait between retries (s); exponential backoff, half of each wait random (jitter).", "client", minimum=0.05),
    _s("btrmon_client_timeout", 10, float, "Remote mode: HTTP connect/read timeout (s).", "client", minimum=0.1),
    # --- alerts and notifications ------------------------------------------------
    _s("btrmon_alert_interval", 60, int, "Seconds between alert rule evaluations.", "alerts", minimum=5),
    _s("btrmon_alert_repeat_hours", 4, float, "Hours between reminders while an alert keeps firing.", "alerts", minimum=0.1),
    _s("btrmon_alert_flap_minutes", 10, float, "An alert that fires again within this many minutes of resolving reopens.", "alerts", minimum=0),
    _s("btrmon_escalate_warning_minutes", 60, float, "Unacknowledged warning becomes critical after (minutes).", "alerts", minimum=1),
    _s("btrmon_escalate_critical_minutes", 30, float, "Unacknowledged critical becomes emergency after (minutes).", "alerts", minimum=1),
    _s("btrmon_alert_rule_overrides", [], list, "Per-rule changes from the alerts page: [{rule, threshold, window_minutes, min_sample, enabled}].", "alerts"),
    _s("btrmon_emergency_actions", [], list, "Actions run on emergency: 'disable' and/or {\"webhook\": URL}. None by default.", "alerts"),
    _s("btrmon_dashboard_url", "http://127.0.0.1:8050", str, "Public URL of the dashboard, used in links of notifications.", "notifications"),
    _s("btrmon_allow_private_urls", False, bool, "Allow webhook/Slack/SMS URLs on loopback, link-local or private addresses.", "notifications"),
    _s("btrmon_smtp_host", "", str, "SMTP server host; empty = email off.", "notifications"),
    _s("btrmon_smtp_port", 587, int, "SMTP server port.", "notifications", minimum=1, maximum=65535),
    _s("btrmon_smtp_security", "starttls", str, "SMTP transport security.", "notifications", choices=("none", "starttls", "ssl")),
    _s("btrmon_smtp_user", "", str, "SMTP user name (empty = no login).", "notifications"),
    _s("btrmon_smtp_password", "", str, "SMTP password.", "notifications", secret=True),
    _s("btrmon_email_from", "btrmon@localhost", str, "Sender address of notifications and reports.", "notifications"),
    _s("btrmon_email_recipients", [], list, "Recipients of alert emails.", "notifications"),
    _s("btrmon_webhook_url", "", str, "Webhook URL receiving alert JSON; empty = off.", "notifications"),
    _s("btrmon_webhook_timeout", 5, float, "Webhook timeout (seconds).", "notifications", minimum=0.1, maximum=60),
    _s("btrmon_slack_webhook_url", "", str, "Slack incoming webhook URL (its path is the secret); empty = off.", "notifications", secret=True),
    _s("btrmon_slack_channel", "", str, "Slack channel override (e.g. #alerts).", "notifications"),
    _s("btrmon_slack_username", "btrmon", str, "Slack username shown on messages.", "notifications"),
    _s("btrmon_sms_base_url", "https://api.twilio.com", str, "Twilio-compatible REST API base URL.", "notifications"),
    _s("btrmon_sms_account_sid", "", str, "SMS account SID; empty = SMS off.", "notifications"),
    _s("btrmon_sms_auth_token", "", str, "SMS auth token.", "notifications", secret=True),
    _s("btrmon_sms_from", "", str, "SMS sender number.", "notifications"),
    _s("btrmon_sms_recipients", [], list, "SMS recipient numbers (critical and emergency alerts only).", "notifications"),
    # --- reports --------------------------------------------------------------------
    _s("btrmon_report_title", "btrmon report", str, "Title on the cover of PDF reports.", "reports"),
    _s("btrmon_brand_name", "Booking site", str, "Organisation name on PDF reports.", "reports"),
    _s("btrmon_brand_color", "#1f6feb", str, "Brand colour of PDF reports (#rrggbb).", "reports"),
    _s("btrmon_brand_logo", "", str, "Path of a PNG/JPEG logo for PDF reports; empty = none.", "reports"),
    _s("btrmon_report_schedule", "off", str, "Scheduled report by email.", "reports", choices=("off", "daily", "weekly")),
    _s("btrmon_report_formats", ["pdf"], list, "Formats attached to scheduled reports (pdf, csv, json).", "reports"),
    _s("btrmon_report_recipients", [], list, "Recipients of scheduled reports.", "reports"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


class SettingError(ValueError):
    """A setting name or value that is not acceptable; the message names it."""


def coerce(setting: Setting, value: Any) -> Any:
    """Convert ``value`` (possibly a string from env/CLI/form) to the setting's type, or raise."""
    name, typ = setting.name, setting.type
    try:
        if typ is bool:
            value = _to_bool(value)
        elif typ is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            value = int(str(value).strip()) if isinstance(value, str) else int(value)
        elif typ is float:
            if isinstance(value, bool):
                raise ValueError
            value = float(value)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
        elif typ is list:
            if isinstance(value, str):
                value = json.loads(value) if value.strip().startswith("[") else [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list):
                raise ValueError
        elif typ is str:
            if not isinstance(value, str):
                raise ValueError
    except (ValueError, TypeError, json.JSONDecodeError):
        raise SettingError(f"{name}: expected {typ.__name__}, got {value!r}") from None
    if setting.minimum is not None and value < setting.minimum:
        raise SettingError(f"{name}: must be >= {setting.minimum}, got {value!r}")
    if setting.maximum is not None and value > setting.maximum:
        raise SettingError(f"{name}: must be <= {setting.maximum}, got {value!r}")
    if setting.choices and value not in setting.choices:
        raise SettingError(f"{name}: must be one of {', '.join(setting.choices)}, got {value!r}")
    return value


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def lookup(name: str) -> Setting:
    """The setting called ``name``, or a SettingError listing that it is unknown."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise SettingError(f"unknown setting {name!r} (see `python -m btrmon config list`)") from None


class Config:
    """Effective settings: env over the options table over defaults.

    ``load_options`` returns the stored overrides (name -> JSON-decoded value) and
    ``save_option`` persists one; both are supplied by the store, so this class does
    no I/O of its own. Reads are served from memory; ``reload()`` re-reads the table.
    """

    def __init__(
        self,
        load_options: Callable[[], Mapping[str, Any]] = dict,
        save_option: Callable[[str, Any | None], None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._load, self._save = load_options, save_option
        self._environ = os.environ if environ is None else environ
        self._stored: dict[str, Any] = {}
        self._listeners: list[Callable[[str, Any], None]] = []
        self.reload()

    def reload(self) -> None:
        """Re-read the stored options (after another process changed them)."""
        stored = dict(self._load())
        self._stored = {k: v for k, v in stored.items() if k in BY_NAME}

    def get(self, name: str) -> Any:
        """The effective value of ``name``."""
        setting = lookup(name)
        raw = self._environ.get(setting.env_name)
        if raw is not None:
            return coerce(setting, raw)
        if name in self._stored:
            return self._stored[name]
        return setting.default

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def source(self, name: str) -> str:
        """Where the effective value comes from: env, database or default."""
        setting = lookup(name)
        if setting.env_name in self._environ:
            return "env"
        return "database" if name in self._stored else "default"

    def set(self, name: str, value: Any) -> Any:
        """Validate and store ``value``; returns the coerced value."""
        value = coerce(lookup(name), value)
        if self._save is not None:
            self._save(name, value)
        self._stored[name] = value
        for listener in list(self._listeners):
            listener(name, value)
        return value

    def reset(self, name: str) -> None:
        """Forget the stored value of ``name`` so its default applies again."""
        lookup(name)
        if self._save is not None:
            self._save(name, None)
        self._stored.pop(name, None)
        for listener in list(self._listeners):
            listener(name, self.get(name))

    def stored(self) -> dict[str, Any]:
        """The values stored in the options table (not env, not defaults)."""
        return dict(self._stored)

    def on_change(self, listener: Callable[[str, Any], None]) -> None:
        """Call ``listener(name, value)`` after each set/reset."""
        self._listeners.append(listener)

    def items(self) -> Iterable[tuple[Setting, Any, str]]:
        """Every setting with its effective value and source."""
        for setting in SETTINGS:
            yield setting, self.get(setting.name), self.source(setting.name)

    def retention_days(self, table: str) -> int:
        """Days kept for ``table`` (per-type override, else the global retention)."""
        return self.get(f"btr_monitor_retention_{table}") or self.get("btr_monitor_retention")
