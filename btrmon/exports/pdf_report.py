"""PDF report (reportlab): cover, executive summary, charts, detailed tables.

Branding comes from the settings ``btrmon_brand_name``, ``btrmon_brand_color``,
``btrmon_brand_logo`` and ``btrmon_report_title``. Every page after the cover has
a footer with the page number ("page 2 of 5") and the generation time. Figures
are those of the query layer (``exports.summary``); charts are rendered by the
shared kaleido renderer (``exports.charts``).
"""

from __future__ import annotations

import io
import logging
import re
from typing import Callable

import pyarrow as pa
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.pdfgen import canvas as pdfcanvas
from reportlab.platypus import (BaseDocTemplate, Frame, Image, NextPageTemplate, PageBreak, PageTemplate,
                                Paragraph, Spacer)

from btrmon.exports import summary as summary_mod
from btrmon.exports.charts import report_charts, start_renderer
from btrmon.exports.pdf_parts import (FONT, FONT_BOLD, alerts_table, detail_tables, fmt_time, key_findings,
                                      kpi_grid, narrative, section_heading, styles)

log = logging.getLogger(__name__)

PAGE_W, PAGE_H = A4
MARGIN = 1.8 * cm
DEFAULT_COLOR = "#1f6feb"


def branding(config) -> dict:
    """Name, title, colour (validated, else the default) and logo path from the settings."""
    color = str(config["btrmon_brand_color"] or DEFAULT_COLOR)
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", color):
        log.warning("btrmon_brand_color %r is not #rrggbb; using %s", color, DEFAULT_COLOR)
        color = DEFAULT_COLOR
    return {
        "name": str(config["btrmon_brand_name"] or ""),
        "title": str(config["btrmon_report_title"] or "btrmon report"),
        "color": color,
        "logo": str(config["btrmon_brand_logo"] or ""),
    }


def _numbered_canvas(footer_left: str, footer_right: str, color: colors.Color):
    """A canvas class that draws 'page N of M' (M known only at the end) on every page but the cover."""

    class NumberedCanvas(pdfcanvas.Canvas):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                if number > 1:
                    self._footer(number, total)
                super().showPage()
            super().save()

        def _footer(self, number: int, total: int) -> None:
            self.setStrokeColor(color)
            self.setLineWidth(0.6)
            self.line(MARGIN, 1.35 * cm, PAGE_W - MARGIN, 1.35 * cm)
            self.setFont(FONT, 8)
            self.setFillColor(colors.HexColor("#57606a"))
            self.drawString(MARGIN, 0.9 * cm, footer_left)
            self.drawRightString(PAGE_W - MARGIN, 0.9 * cm, f"{footer_right}   ·   page {number} of {total}")

    return NumberedCanvas


_TIMEFRAME_LABELS = {"1h": "Last hour", "6h": "Last 6 hours", "24h": "Last 24 hours", "7d": "Last 7 days"}


def _cover_page(data, brand: dict, color: colors.Color):
    """Draws the cover: a brand band with name, title and logo; the period and audit lines below."""
    info = data.info

    def draw(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFillColor(color)
        canvas.rect(0, PAGE_H - 10 * cm, PAGE_W, 10 * cm, stroke=0, fill=1)
        canvas.rect(0, 0, PAGE_W, 0.6 * cm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont(FONT_BOLD, 15)
        canvas.drawString(MARGIN, PAGE_H - 6 * cm, brand["name"])
        canvas.setFont(FONT_BOLD, 32)
        canvas.drawString(MARGIN, PAGE_H - 7.6 * cm, brand["title"][:40])
        canvas.setFont(FONT, 12)
        canvas.drawString(MARGIN, PAGE_H - 8.6 * cm, "Monitoring report: performance, errors, conversions, system health")
        _draw_logo(canvas, brand["logo"])
        canvas.setFillColor(color)
        canvas.setFont(FONT_BOLD, 20)
        canvas.drawString(MARGIN, PAGE_H - 12.5 * cm, _TIMEFRAME_LABELS.get(info["timeframe"], "Custom period"))
        canvas.setFillColor(colors.HexColor("#1f2328"))
        canvas.setFont(FONT, 13)
        canvas.drawString(MARGIN, PAGE_H - 13.4 * cm, f"{fmt_time(data.start)} – {fmt_time(data.end)} UTC")
        canvas.setFillColor(colors.HexColor("#57606a"))
        canvas.setFont(FONT, 9.5)
        lines = [f"Generated {fmt_time(info['generated_at'])} UTC by {info['generated_by']}",
                 f"btrmon {info['btrmon_version']}"]
        if info.get("filters"):
            lines.append("Filters: " + "; ".join(f"{k} = {', '.join(v)}" for k, v in info["filters"].items()))
        for i, line in enumerate(lines):
            canvas.drawString(MARGIN, 2.2 * cm + (len(lines) - 1 - i) * 0.5 * cm, line[:110])
        canvas.restoreState()

    return draw


def _draw_logo(canvas, path: str) -> None:
    if not path:
        return
    try:
        canvas.drawImage(path, PAGE_W - MARGIN - 5 * cm, PAGE_H - 4.2 * cm, width=5 * cm, height=2.6 * cm,
                         preserveAspectRatio=True, anchor="ne", mask="auto")
    except Exception as exc:  # noqa: BLE001 - a bad logo file must not stop the report
        log.warning("btrmon_brand_logo %s cannot be used: %s", path, exc)


def build_pdf(data, progress: Callable[[int, int], None] | None = None) -> bytes:
    """The PDF report of ``data`` (an ``ExportData``) as bytes."""
    monitor = data.monitor
    brand = branding(monitor.config)
    color = colors.HexColor(brand["color"])
    st = styles(color)
    steps = 4
    _step(progress, 0, steps)
    empty = not any(data.info["row_counts"].get(t, 0) for t in ("metrics", "errors", "journey", "health"))
    if not empty:
        start_renderer()  # returns at once: chromium starts while the queries run
    tables = {} if empty else summary_mod.report_tables(monitor, data.start, data.end, known=data.frames)
    _step(progress, 1, steps)
    charts = [] if empty else report_charts(tables, brand["color"])
    _step(progress, 2, steps)

    story: list = [NextPageTemplate("body"), PageBreak()]
    story.append(section_heading("Executive summary", st))
    story.append(Paragraph(narrative(data.summary, empty, data), st["body"]))
    story.append(Spacer(1, 0.4 * cm))
    story.append(kpi_grid(data.summary, color, st))
    findings = key_findings(tables)
    if findings:
        story.append(Paragraph("Key findings", st["subheading"]))
        story += [Paragraph(text, st["bullet"], bulletText="•") for text in findings]
    images = [Image(io.BytesIO(png), width=PAGE_W - 2 * MARGIN, height=(PAGE_W - 2 * MARGIN) * 340 / 900)
              for _, png in charts]
    if images:
        story += [Spacer(1, 0.4 * cm), images[0]]  # the response time chart completes the summary page
    if len(images) > 1:
        story += [PageBreak(), section_heading("Charts", st)]
        for image in images[1:]:
            story += [image, Spacer(1, 0.3 * cm)]
    if tables:
        story += [PageBreak()] + detail_tables(tables, color, st, PAGE_W - 2 * MARGIN)
        story += alerts_table(_alerts(data), color, st, PAGE_W - 2 * MARGIN)

    buffer = io.BytesIO()
    doc = BaseDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                          bottomMargin=2 * cm, title=brand["title"], author=brand["name"],
                          subject=f"btrmon report {data.info['start']} to {data.info['end']}", creator="btrmon")
    frame = Frame(MARGIN, 2 * cm, PAGE_W - 2 * MARGIN, PAGE_H - MARGIN - 2 * cm, id="body")
    cover_frame = Frame(MARGIN, 2 * cm, PAGE_W - 2 * MARGIN, PAGE_H - 2.6 * cm, id="cover")
    doc.addPageTemplates([PageTemplate("cover", [cover_frame], onPage=_cover_page(data, brand, color)),
                          PageTemplate("body", [frame])])
    footer_left = f"{brand['name']} · {brand['title']}"
    footer_right = f"generated {fmt_time(data.info['generated_at'])} UTC"
    doc.build(story, canvasmaker=_numbered_canvas(footer_left, footer_right, color))
    _step(progress, steps, steps)
    return buffer.getvalue()


def _alerts(data):
    """The alerts section of the export as a DataFrame (small: alerts are few)."""
    section = data.sections.get("alerts")
    if section is None or section.count == 0:
        return None
    return pa.Table.from_batches(list(section.batches()), schema=section.schema).to_pandas()


def _step(progress, done: int, total: int) -> None:
    if progress:
        progress(done, total)
