"""What an export holds for a timeframe: sections of rows, a summary, and export-info.

``open_export(monitor, request)`` returns an ``ExportData``: each section streams
its rows as Arrow record batches from one read transaction (a consistent
snapshot: counts and rows agree even while the writer commits). Small sections
(funnels, alerts) come from the query layer as DataFrames. The filter
``btr_monitor_export_data`` may change the ``ExportData`` before it is written.
Use it as a context manager, or call ``close()``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator

import pandas as pd
import pyarrow as pa

from btrmon.exports import summary as summary_mod
from btrmon.queries import exports as q
from btrmon.store import utcnow

log = logging.getLogger(__name__)

RAW_TABLES: tuple[str, ...] = ("metrics", "errors", "journey", "health")
SECTIONS: tuple[str, ...] = (
    "metrics", "errors", "journey", "funnels", "health", "alerts", "alert_events", "deliveries",
)
SECTION_TITLES: dict[str, str] = {
    "export_info": "Export info", "summary": "Executive summary", "metrics": "Metrics",
    "errors": "Errors", "journey": "Journey steps", "funnels": "Conversion funnels",
    "health": "Health history", "alerts": "Alerts history",
    "alert_events": "Alert state changes and acknowledgements", "deliveries": "Notification delivery attempts",
}
# Export section -> the btrmon.queries.alerts function that reads it for the window.
_ALERT_SECTIONS: dict[str, str] = {
    "alerts": "alert_history", "alert_events": "alert_events_between", "deliveries": "delivery_attempts_between",
}


def btrmon_version() -> str:
    """The installed btrmon version ('dev' when not installed as a package)."""
    import btrmon

    version = getattr(btrmon, "__version__", None)
    if version:
        return str(version)
    try:
        from importlib.metadata import version as dist_version

        return dist_version("btrmon")
    except Exception:  # noqa: BLE001 - running from a checkout
        return "dev"


@dataclass
class ExportRequest:
    """What to export: a timeframe or custom range, filters, sections, and who asks."""

    timeframe: str | None = "24h"
    start: str | datetime | None = None
    end: str | datetime | None = None
    filters: dict = field(default_factory=dict)
    sections: tuple[str, ...] = SECTIONS
    requested_by: str = "unknown"

    def validate(self) -> None:
        """Raise ValueError naming the bad field."""
        unknown = [s for s in self.sections if s not in SECTIONS]
        if unknown:
            raise ValueError(f"sections: unknown {', '.join(unknown)} (known: {', '.join(SECTIONS)})")
        self.filters = q.check_filters(self.filters or {})


@dataclass
class Section:
    """One exported table: its name, column schema, row count and a batch stream."""

    name: str
    schema: pa.Schema
    count: int
    batch_source: Callable[[], Iterable[pa.RecordBatch]]
    json_columns: frozenset[str] = frozenset()

    @property
    def title(self) -> str:
        """The human title of the section (CSV header line, PDF heading)."""
        return SECTION_TITLES.get(self.name, self.name.replace("_", " ").capitalize())

    @property
    def columns(self) -> list[str]:
        """Column names in order."""
        return list(self.schema.names)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """The rows as Arrow record batches (a fresh stream on each call)."""
        yield from self.batch_source()

    @classmethod
    def from_frame(cls, name: str, df: pd.DataFrame) -> "Section":
        """A small section from a DataFrame (already in memory)."""
        try:
            table = pa.Table.from_pandas(df, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed-type object columns: export them as text
            text = df.astype({c: "string" for c in df.columns if df[c].dtype == object})
            table = pa.Table.from_pandas(text, preserve_index=False)
        return cls(name, table.schema, table.num_rows, lambda: table.to_batches())


@dataclass
class ExportData:
    """Everything one export writes; ``close()`` ends its read transaction."""

    request: ExportRequest
    start: datetime
    end: datetime
    info: dict
    summary: dict
    sections: dict[str, Section]
    monitor: object = None
    _cursor: object = None
    frames: dict = field(default_factory=dict)  # query-layer frames already read (reused by the PDF)

    @property
    def is_empty(self) -> bool:
        """True when no section has a row in the timeframe."""
        return all(s.count == 0 for s in self.sections.values())

    @property
    def label(self) -> str:
        """The timeframe as people read it: '24h' or 'custom'."""
        return self.info["timeframe"]

    def close(self) -> None:
        """End the snapshot transaction and close its cursor."""
        cur, self._cursor = self._cursor, None
        if cur is not None:
            try:
                cur.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - already closed
                pass
            cur.close()

    def __enter__(self) -> "ExportData":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _raw_section(cur, table: str, start: datetime, end: datetime, filters: dict, batch_rows: int) -> Section:
    count = q.count_rows(cur, table, start, end, filters)
    schema = q.table_schema(cur, table)
    json_columns = frozenset(c for c in schema.names if c in q.JSON_COLUMNS)
    return Section(table, schema, count, lambda: q.stream_rows(cur, table, start, end, filters, batch_rows), json_columns)


def _alerts_frame(monitor, section: str, start: datetime, end: datetime) -> pd.DataFrame:
    history = summary_mod.call_query("alerts", _ALERT_SECTIONS[section], monitor.db, start, end)
    if history is None:
        return pd.DataFrame({"alert": pd.Series(dtype="string")})
    return history if isinstance(history, pd.DataFrame) else pd.DataFrame(history)


def open_export(monitor, request: ExportRequest, batch_rows: int = q.DEFAULT_BATCH_ROWS) -> ExportData:
    """Assemble the export of ``request`` (sections stream lazily); raises ValueError on bad input."""
    if getattr(monitor, "db", None) is None:
        raise ValueError("monitor: exports need an embedded monitor with a database")
    request.validate()
    start, end = q.resolve_window(request.timeframe, request.start, request.end)
    cur = monitor.db.con.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        rates = summary_mod.conversion_rates(monitor, start, end)
        frames = {"conversion_rates": rates, "funnel_steps": summary_mod.funnel_steps(monitor, start, end, rates)}
        sections: dict[str, Section] = {}
        for name in request.sections:
            if name in RAW_TABLES:
                sections[name] = _raw_section(cur, name, start, end, request.filters, batch_rows)
            elif name == "funnels":
                steps = frames["funnel_steps"]
                wanted = request.filters.get("funnel")
                sections[name] = Section.from_frame(name, steps[steps["funnel"].isin(wanted)] if wanted else steps)
            elif name in _ALERT_SECTIONS:
                sections[name] = Section.from_frame(name, _alerts_frame(monitor, name, start, end))
        summary = summary_mod.executive_summary(monitor, start, end, rates)
    except Exception:
        cur.execute("ROLLBACK")
        cur.close()
        raise
    custom = bool(request.start or request.end)
    info = {
        "generated_at": utcnow().replace(microsecond=0).isoformat() + "Z",
        "generated_by": request.requested_by,
        "timeframe": "custom" if custom else (request.timeframe or "24h"),
        "start": start.isoformat() + "Z",
        "end": end.isoformat() + "Z",
        "filters": request.filters,
        "row_counts": {name: s.count for name, s in sections.items()},
        "btrmon_version": btrmon_version(),
    }
    if not any(info["row_counts"].values()):
        info["note"] = f"No data in this timeframe ({start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC)."
    data = ExportData(request, start, end, info, summary, sections, monitor, cur, frames)
    return _apply_export_filter(monitor, data)


def _apply_export_filter(monitor, data: ExportData) -> ExportData:
    """Run the ``btr_monitor_export_data`` filter (when the hooks exist)."""
    hooks = getattr(monitor, "hooks", None)
    apply_filters = getattr(hooks, "apply_filters", None)
    if apply_filters is None:
        return data
    changed = apply_filters("btr_monitor_export_data", data, data.info["timeframe"])
    if isinstance(changed, ExportData):
        changed.info["row_counts"] = {name: s.count for name, s in changed.sections.items()}
        return changed
    return data
