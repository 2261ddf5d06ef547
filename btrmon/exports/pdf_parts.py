"""Building blocks of the PDF report: fonts, styles, the KPI grid, the narrative, tables."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pandas as pd
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.pdfmetrics import registerFontFamily
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def _register_fonts() -> tuple[str, str]:
    """DejaVu Sans (full Unicode: error messages are in any language), else Helvetica."""
    try:
        pdfmetrics.registerFont(TTFont("BtrSans", str(_DEJAVU / "DejaVuSans.ttf")))
        pdfmetrics.registerFont(TTFont("BtrSans-Bold", str(_DEJAVU / "DejaVuSans-Bold.ttf")))
        pdfmetrics.registerFont(TTFont("BtrSans-Oblique", str(_DEJAVU / "DejaVuSans-Oblique.ttf")))
        registerFontFamily("BtrSans", normal="BtrSans", bold="BtrSans-Bold", italic="BtrSans-Oblique",
                           boldItalic="BtrSans-Bold")  # so <b> and <i> work in paragraphs
        return "BtrSans", "BtrSans-Bold"
    except Exception:  # noqa: BLE001 - fonts missing: Latin-1 only
        return "Helvetica", "Helvetica-Bold"


FONT, FONT_BOLD = _register_fonts()
INK = colors.HexColor("#1f2328")
MUTED = colors.HexColor("#57606a")
STATUS_COLORS = {"healthy": "#2f9e44", "warning": "#e67700", "critical": "#c92a2a", "unknown": "#868e96"}


def styles(color: colors.Color) -> dict[str, ParagraphStyle]:
    """The paragraph styles of the report in the brand colour."""
    base = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=14, textColor=INK)
    white = colors.white
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10),
        "bullet": ParagraphStyle("bullet", parent=base, leftIndent=12, bulletIndent=2, spaceAfter=3),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7.5, leading=9.5),
        "heading": ParagraphStyle("heading", parent=base, fontName=FONT_BOLD, fontSize=16, leading=20,
                                  textColor=color, spaceBefore=6, spaceAfter=8),
        "subheading": ParagraphStyle("subheading", parent=base, fontName=FONT_BOLD, fontSize=11.5, leading=15,
                                     spaceBefore=10, spaceAfter=5),
        "cover_brand": ParagraphStyle("cover_brand", parent=base, fontName=FONT_BOLD, fontSize=14, textColor=white,
                                      leading=18),
        "cover_title": ParagraphStyle("cover_title", parent=base, fontName=FONT_BOLD, fontSize=30, leading=36,
                                      textColor=white, spaceBefore=8),
        "cover_label": ParagraphStyle("cover_label", parent=base, fontName=FONT_BOLD, fontSize=18, leading=24,
                                      textColor=color),
        "cover_period": ParagraphStyle("cover_period", parent=base, fontSize=12, leading=16, textColor=INK),
        "cover_meta": ParagraphStyle("cover_meta", parent=base, fontSize=9.5, leading=14, textColor=MUTED),
        "kpi_value": ParagraphStyle("kpi_value", parent=base, fontName=FONT_BOLD, fontSize=17, leading=21,
                                    alignment=TA_CENTER, textColor=INK),
        "kpi_label": ParagraphStyle("kpi_label", parent=base, fontSize=8, leading=10, alignment=TA_CENTER,
                                    textColor=MUTED),
    }


def fmt_time(value) -> str:
    """A datetime (or ISO text) as ``2026-12-03 16:08``."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.rstrip("Z"))
    return value.strftime("%Y-%m-%d %H:%M")


def fmt_number(value, unit: str = "", decimals: int = 0) -> str:
    """``12,345 ms``; 'n/a' for a missing figure."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    text = f"{float(value):,.{decimals}f}" if decimals else f"{round(float(value)):,}"
    return f"{text} {unit}".strip()


def section_heading(text: str, st: dict) -> Paragraph:
    """A section title in the brand colour."""
    return Paragraph(escape(text), st["heading"])


def _kpi(value: str, label: str, st: dict, value_color: str | None = None) -> list:
    style = st["kpi_value"]
    if value_color:
        style = ParagraphStyle("kpi_colored", parent=style, textColor=colors.HexColor(value_color))
    return [Paragraph(escape(value), style), Paragraph(escape(label), st["kpi_label"])]


def kpi_grid(summary: dict, color: colors.Color, st: dict) -> Table:
    """The headline figures as tiles, four per row."""
    health = (summary.get("health") or {}).get("overall", "unknown")
    critical = summary.get("critical_errors")
    tiles = [
        _kpi(fmt_number(summary.get("requests")), "requests", st),
        _kpi(fmt_number(summary.get("avg_response_ms"), "ms"), "average response time", st),
        _kpi(fmt_number(summary.get("p95_response_ms"), "ms"), "p95 response time", st),
        _kpi(fmt_number(summary.get("error_rate_pct"), "%", 2), "error rate", st),
        _kpi(fmt_number(critical), "critical errors", st, STATUS_COLORS["critical"] if critical else None),
        _kpi(health.capitalize(), "system health", st, STATUS_COLORS.get(health, STATUS_COLORS["unknown"])),
        _kpi(fmt_number(summary.get("alerts_fired")), "alerts fired", st),
        _kpi(fmt_number(summary.get("errors")), "errors (all levels)", st),
    ]
    for funnel, rate in (summary.get("conversion_by_funnel") or {}).items():
        tiles.append(_kpi(fmt_number(rate, "%", 1), f"conversion: {funnel.replace('_', ' ')}", st))
    while len(tiles) % 4:
        tiles.append("")
    rows = [tiles[i:i + 4] for i in range(0, len(tiles), 4)]
    table = Table(rows, colWidths=[4.35 * cm] * 4, rowHeights=[1.9 * cm] * len(rows))
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BOX", (0, 0), (-1, -1), 0.8, color),
        ("INNERGRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d0d7de")),
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#f6f8fa")),
    ]))
    return table


def narrative(summary: dict, empty: bool, data) -> str:
    """Two or three sentences a manager reads first (paragraph markup)."""
    period = f"{fmt_time(data.start)} and {fmt_time(data.end)} UTC"
    if empty:
        return f"<b>No data was recorded between {period}.</b> Nothing was measured in this timeframe, so there are no figures, charts or tables to report."
    parts = [f"Between {period} the site served <b>{fmt_number(summary.get('requests'))}</b> requests "
             f"with an average response time of <b>{fmt_number(summary.get('avg_response_ms'), 'ms')}</b> "
             f"(95% under {fmt_number(summary.get('p95_response_ms'), 'ms')})."]
    parts.append(f"<b>{fmt_number(summary.get('errors'))}</b> errors were recorded, an error rate of "
                 f"<b>{fmt_number(summary.get('error_rate_pct'), '%', 2)}</b>, of which "
                 f"<b>{fmt_number(summary.get('critical_errors'))}</b> critical.")
    rates = {k: v for k, v in (summary.get("conversion_by_funnel") or {}).items() if v is not None}
    if rates:
        parts.append("Conversion: " + ", ".join(f"{escape(k.replace('_', ' '))} <b>{v:.1f}%</b>" for k, v in rates.items()) + ".")
    health = (summary.get("health") or {}).get("overall", "unknown")
    fired = summary.get("alerts_fired")
    parts.append(f"System health is <b>{escape(health)}</b>"
                 + (f"; {fmt_number(fired)} alerts fired." if fired is not None else "."))
    return " ".join(parts)


# table name -> (title, [(column, header, kind)], relative widths)
DETAIL_TABLES = {
    "top_errors": ("Top errors", [("error_level", "Level", "text"), ("error_type", "Type", "text"),
                                  ("error_message", "Message", "wrap"), ("component", "Component", "text"),
                                  ("count", "Count", "int"), ("last_seen", "Last seen", "time")],
                   [1.6, 1.9, 6.5, 2.2, 1.3, 2.6]),
    "slowest_endpoints": ("Slowest endpoints", [("request_uri", "Endpoint", "wrap"), ("requests", "Requests", "int"),
                                                ("avg_ms", "Avg ms", "int"), ("p95_ms", "p95 ms", "int"),
                                                ("max_ms", "Max ms", "int")], [7.5, 2, 2, 2, 2]),
    "components": ("Slowest components", [("metric_name", "Operation", "wrap"), ("count", "Calls", "int"),
                                          ("avg_ms", "Avg ms", "int"), ("p95_ms", "p95 ms", "int"),
                                          ("max_ms", "Max ms", "int")], [7.5, 2, 2, 2, 2]),
    "funnel_steps": ("Funnel steps", [("funnel", "Funnel", "text"), ("step", "Step", "int"), ("stage", "Stage", "text"),
                                      ("sessions", "Sessions", "int"), ("rate_pct", "% of first step", "pct"),
                                      ("step_rate_pct", "% of previous step", "pct")],
                     [3, 1.2, 3.5, 2, 2.6, 2.8]),
    "health_history": ("Health history", [("component", "Component", "text"), ("checks", "Checks", "int"),
                                          ("healthy", "Healthy", "int"), ("warning", "Warning", "int"),
                                          ("critical", "Critical", "int"), ("avg_response_ms", "Avg ms", "int"),
                                          ("last_status", "Last status", "text"), ("last_check", "Last check", "time")],
                       [3, 1.6, 1.6, 1.6, 1.6, 1.6, 2.2, 2.8]),
}


def _cell(value, kind: str, st: dict):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if kind == "int":
        return fmt_number(value)
    if kind == "pct":
        return fmt_number(value, "", 1)
    if kind == "time":
        return fmt_time(pd.Timestamp(value).to_pydatetime())
    text = str(value)
    if kind == "wrap":
        return Paragraph(escape(text[:300] + ("…" if len(text) > 300 else "")), st["cell"])
    return text[:40]


def data_table(df: pd.DataFrame, columns: list, widths: list, color: colors.Color, st: dict, width: float) -> Table:
    """A table with a brand-coloured header repeated on every page and zebra rows."""
    scale = width / sum(widths)
    present = [c for c in columns if c[0] in df.columns]
    header = [h for _, h, _ in present]
    body = [[_cell(row[c], kind, st) for c, _, kind in present] for _, row in df.iterrows()]
    col_widths = [widths[columns.index(c)] * scale for c in present]
    table = Table([header] + body, colWidths=col_widths, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, 0), FONT_BOLD), ("FONTNAME", (0, 1), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 7.5), ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), color), ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#d0d7de")),
        ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    for i, (_, _, kind) in enumerate(present):
        if kind in ("int", "pct"):
            style.append(("ALIGN", (i, 0), (i, -1), "RIGHT"))
    for r in range(2, len(body) + 1, 2):
        style.append(("BACKGROUND", (0, r), (-1, r), colors.HexColor("#f6f8fa")))
    table.setStyle(TableStyle(style))
    return table


def detail_tables(tables: dict[str, pd.DataFrame], color: colors.Color, st: dict, width: float) -> list:
    """The 'Details' section: one titled table per query result ('none' when empty)."""
    story: list = [section_heading("Details", st)]
    for name, (title, columns, widths) in DETAIL_TABLES.items():
        df = tables.get(name)
        heading = Paragraph(escape(title), st["subheading"])
        if df is None or df.empty:
            story.append(KeepTogether([heading, Paragraph("None in this timeframe.", st["small"])]))
            continue
        story += [heading, data_table(df, columns, widths, color, st, width), Spacer(1, 0.2 * cm)]
    return story


def _first(df: pd.DataFrame | None) -> pd.Series | None:
    return None if df is None or df.empty else df.iloc[0]


def key_findings(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Short sentences (paragraph markup) naming where to look first."""
    findings = []
    endpoint = _first(tables.get("slowest_endpoints"))
    if endpoint is not None:
        findings.append(f"Slowest endpoint: <b>{escape(str(endpoint['request_uri']))}</b>, 95% of its "
                        f"{fmt_number(endpoint['requests'])} requests under {fmt_number(endpoint['p95_ms'], 'ms')}.")
    error = _first(tables.get("top_errors"))
    if error is not None:
        message = str(error["error_message"])
        findings.append(f"Most frequent error ({escape(str(error['error_level']))}, {fmt_number(error['count'])} times"
                        f"{', ' + escape(str(error['component'])) if error.get('component') else ''}): "
                        f"<i>{escape(message[:120] + ('…' if len(message) > 120 else ''))}</i>")
    components = tables.get("components")
    if components is not None and not components.empty:
        slow = components.sort_values("p95_ms", ascending=False).iloc[0]
        findings.append(f"Slowest operation: <b>{escape(str(slow['metric_name']))}</b>, p95 "
                        f"{fmt_number(slow['p95_ms'], 'ms')} over {fmt_number(slow['count'])} calls.")
    steps = tables.get("funnel_steps")
    if steps is not None and not steps.empty:
        later = steps[steps["step"] > 1].dropna(subset=["step_rate_pct"])
        if not later.empty:
            worst = later.sort_values("step_rate_pct").iloc[0]
            previous = steps[(steps["funnel"] == worst["funnel"]) & (steps["step"] == worst["step"] - 1)]["stage"]
            findings.append(f"Biggest funnel drop: <b>{escape(str(worst['funnel']).replace('_', ' '))}</b>, only "
                            f"{fmt_number(worst['step_rate_pct'], '%', 1)} of sessions go on from "
                            f"{escape(str(previous.iloc[0]) if len(previous) else '?')} to {escape(str(worst['stage']))}.")
    health = tables.get("health_history")
    if health is not None and not health.empty:
        bad = int(health["warning"].sum() + health["critical"].sum())
        findings.append(f"Health: {len(health)} components checked {fmt_number(health['checks'].sum())} times; "
                        f"{fmt_number(bad)} checks were not healthy "
                        f"({fmt_number(health['critical'].sum())} critical).")
    return findings


def alerts_table(alerts: pd.DataFrame, color: colors.Color, st: dict, width: float) -> list:
    """The alerts opened in the period (newest first), or a line saying there were none."""
    heading = Paragraph("Alerts", st["subheading"])
    if alerts is None or alerts.empty or "rule_name" not in alerts.columns:
        return [KeepTogether([heading, Paragraph("No alerts fired in this timeframe.", st["small"])])]
    columns = [("rule_name", "Rule", "wrap"), ("severity", "Severity", "text"), ("component", "Component", "text"),
               ("state", "State", "text"), ("opened_at", "Opened", "time"), ("resolved_at", "Resolved", "time")]
    return [heading, data_table(alerts.head(30), columns, [5, 2, 2.4, 2, 2.8, 2.8], color, st, width)]
