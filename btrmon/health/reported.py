"""Components the application reports itself (``kind: health``), and their staleness.

A component that has not reported for ``btrmon_component_stale_after`` seconds turns
warning, and critical after twice that. The staleness result is stored with
``health_check = 'reporting'`` so it never counts as a report of the component.
"""

from __future__ import annotations

from datetime import timedelta

from btrmon.health.core import result
from btrmon.store import utcnow

# The built-in checks' components ("reported" is this check's own, when it fails in a run).
BUILTIN_COMPONENTS: tuple[str, ...] = ("database", "memory", "disk_space", "btrmon", "external_services", "reported")
STALENESS_CHECK = "reporting"

_LATEST_REPORTS = f"""
SELECT component, arg_max(health_check, "timestamp"), arg_max(status, "timestamp"),
       arg_max(error_message, "timestamp"), max("timestamp")
FROM health
WHERE component NOT IN ({', '.join('?' * len(BUILTIN_COMPONENTS))})
  AND health_check <> '{STALENESS_CHECK}' AND "timestamp" >= ?
GROUP BY component ORDER BY component
"""


def check_reported_components(monitor) -> list[dict]:
    """Each app-reported component: its latest status while fresh, warning/critical once stale.

    Fresh results are already stored (the app sent them) and come back with
    ``_store=False`` so the run does not store them twice.
    """
    stale_after = float(monitor.config["btrmon_component_stale_after"])
    days = int(monitor.config.retention_days("health"))
    now = utcnow()  # naive UTC like the table (DuckDB's now()::TIMESTAMP would be the session's local time)
    rows = monitor.db.query(_LATEST_REPORTS, [*BUILTIN_COMPONENTS, now - timedelta(days=days)])
    out = []
    for component, check, status, message, last in rows:
        age = max(0.0, (now - last).total_seconds())
        metadata = {"last_report": last.isoformat() + "Z", "age_s": round(age, 1),
                    "reported_status": status, "reported_check": check, "stale_after_s": stale_after}
        if age > 2 * stale_after:
            out.append(result(component, STALENESS_CHECK, "critical", None,
                              f"no report for {age:.0f} s (expected every {stale_after:.0f} s)", metadata))
        elif age > stale_after:
            out.append(result(component, STALENESS_CHECK, "warning", None,
                              f"no report for {age:.0f} s (expected every {stale_after:.0f} s)", metadata))
        else:
            item = result(component, check, status, None, message, metadata)
            item["_store"] = False
            out.append(item)
    return out
