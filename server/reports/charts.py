"""The report's charts, drawn straight into the PDF with fpdf2's vector primitives.

Each chart is a function ``chart(doc, fig, x, y, w, h)`` that draws rectangles, lines and text
in the box ``(x, y, w, h)`` [mm] of the current page: bars of energy by day beside the previous
month's, the hour-of-day by day heat map, and the channel shares. Vector shapes stay sharp at
any zoom on a phone, their labels are text (``pdftotext`` reads them), and drawing takes
milliseconds, where the same charts rendered by matplotlib and embedded as PNG took most of a
report's time (about 2.5 s of 7 s; ``benchmarks/bench_reports.py``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from server.reports.figures import Figures

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["HEAT", "daily_chart", "heatmap_chart", "nice_ticks", "shares_chart", "share_label"]

THIS = (31, 95, 153)
BEFORE = (184, 199, 214)
GRID = (221, 221, 221)
AXIS = (95, 99, 104)
INK = (33, 37, 41)
NO_DATA = (233, 233, 233)
#: The heat map's eight shades, light to dark (ColorBrewer "Oranges").
HEAT = (
    (255, 245, 235),
    (254, 230, 206),
    (253, 208, 162),
    (253, 174, 107),
    (253, 141, 60),
    (241, 105, 19),
    (217, 72, 1),
    (140, 45, 4),
)
LABEL_PT = 10
FONT = "DejaVu"


def nice_ticks(top: float, most: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top``: steps of 1, 2, 2.5 or 5 × 10^k, at most
    ``most`` + 1 ticks."""
    if not math.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    raw = top / most
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    count = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def _fmt(value: float) -> str:
    return f"{value:g}" if value < 10_000 else f"{value:,.0f}"


def share_label(share: dict) -> str:
    """A channel's name as the report prints it, ``(estimated)`` for a disaggregated one."""
    return share["channel"] + (" (estimated)" if share.get("estimated") else "")


def _text(doc: FPDF, x: float, y: float, w: float, text: str, align: str = "C") -> None:
    """One line of text whose box is ``w`` wide from ``x``, its middle at ``y``."""
    doc.set_xy(x, y - 2.5)
    doc.cell(w, 5, text, align=align)


def _y_axis(
    doc: FPDF, x0: float, y0: float, w: float, h: float, ticks: list[float], unit: str
) -> None:
    """Horizontal grid lines and their values left of ``x0``; the unit above them."""
    top = ticks[-1]
    doc.set_font(FONT, "", LABEL_PT)
    doc.set_text_color(*AXIS)
    doc.set_draw_color(*GRID)
    doc.set_line_width(0.2)
    for tick in ticks:
        yy = y0 + h - h * tick / top
        doc.line(x0, yy, x0 + w, yy)
        _text(doc, x0 - 13, yy, 12, _fmt(tick), "R")
    _text(doc, x0 - 13, y0 - 5, 12, unit, "R")


def daily_chart(doc: FPDF, fig: Figures, x: float, y: float, w: float, h: float) -> None:
    """Energy of each day [kWh]: this month's bars, the previous month's beside them (lighter),
    missing days left empty."""
    assert fig.daily_kwh is not None
    this = fig.daily_kwh.to_numpy(dtype="float64")
    prev = None if fig.prev_daily_kwh is None else fig.prev_daily_kwh.to_numpy(dtype="float64")
    days = max(len(this), 0 if prev is None else len(prev))
    legend_h = 8.0 if prev is not None else 0.0
    x0, y0 = x + 15, y + legend_h + 6
    pw, ph = w - 17, h - legend_h - 6 - 10
    values = np.concatenate([this, prev if prev is not None else []])
    top_value = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
    ticks = nice_ticks(top_value)
    top = ticks[-1]
    _y_axis(doc, x0, y0, pw, ph, ticks, "kWh")
    slot = pw / days
    bar = slot * (0.42 if prev is not None else 0.8)
    series = [(prev, BEFORE, -bar / 2), (this, THIS, bar / 2)] if prev is not None else []
    if prev is None:
        series = [(this, THIS, 0.0)]
    for data, color, shift in series:
        doc.set_fill_color(*color)
        for i, value in enumerate(data):
            if not math.isfinite(value) or value <= 0:
                continue
            bh = ph * value / top
            cx = x0 + slot * (i + 0.5) + shift
            doc.rect(cx - bar / 2, y0 + ph - bh, bar, bh, style="F")
    doc.set_draw_color(*AXIS)
    doc.set_line_width(0.3)
    doc.line(x0, y0 + ph, x0 + pw, y0 + ph)
    doc.set_font(FONT, "", LABEL_PT)
    doc.set_text_color(*AXIS)
    for day in range(1, days + 1):
        if day == 1 or day % 5 == 0:
            _text(doc, x0 + slot * (day - 0.5) - 5, y0 + ph + 3.5, 10, str(day))
    _text(doc, x0, y0 + ph + 8, pw, "day of the month")
    if prev is not None:
        lx = x0
        for label, color in ((fig.prev_label, BEFORE), (fig.label, THIS)):
            doc.set_fill_color(*color)
            doc.rect(lx, y + 1.5, 5, 4, style="F")
            doc.set_text_color(*INK)
            doc.set_font(FONT, "", LABEL_PT + 1)
            _text(doc, lx + 6.5, y + 3.5, 60, label, "L")
            lx += 8 + doc.get_string_width(label) + 8
    doc.set_text_color(*INK)


def _shade(value: float, top: float) -> tuple[int, int, int]:
    if not math.isfinite(value):
        return NO_DATA
    index = int(len(HEAT) * value / top) if top > 0 else 0
    return HEAT[min(max(index, 0), len(HEAT) - 1)]


def heatmap_chart(doc: FPDF, fig: Figures, x: float, y: float, w: float, h: float) -> None:
    """Energy of each local hour [kWh]: hour of day (rows, midnight at the top) by day of
    month (columns), eight shades from 0 to the month's largest hour; grey: no readings."""
    assert fig.heatmap_kwh is not None
    grid = fig.heatmap_kwh
    hours, days = grid.shape
    key_w = 24.0
    x0, y0 = x + 15, y + 1
    pw, ph = w - 17 - key_w, h - 12
    cw, ch = pw / days, ph / hours
    finite = grid[np.isfinite(grid)]
    top = float(finite.max()) if finite.size else 0.0
    for row in range(hours):
        for col in range(days):
            doc.set_fill_color(*_shade(float(grid[row, col]), top))
            doc.rect(x0 + col * cw, y0 + row * ch, cw + 0.05, ch + 0.05, style="F")
    doc.set_font(FONT, "", LABEL_PT)
    doc.set_text_color(*AXIS)
    for hour in (0, 6, 12, 18, 23):
        _text(doc, x0 - 14, y0 + (hour + 0.5) * ch, 13, f"{hour:02d}:00", "R")
    for day in range(1, days + 1):
        if day == 1 or day % 5 == 0:
            _text(doc, x0 + cw * (day - 0.5) - 5, y0 + ph + 3.5, 10, str(day))
    _text(doc, x0, y0 + ph + 8, pw, "day of the month (grey: no readings)")
    # the key: each shade and the energy it starts at
    kx, step = x0 + pw + 4, ph / (len(HEAT) + 1)
    _text(doc, kx, y0 + 1, key_w, "kWh/hour", "L")
    for i, color in enumerate(reversed(HEAT)):
        level = len(HEAT) - 1 - i
        ky = y0 + 4 + i * step
        doc.set_fill_color(*color)
        doc.rect(kx, ky, 5, step - 0.6, style="F")
        _text(doc, kx + 6, ky + step / 2, key_w - 6, f"≥ {top * level / len(HEAT):.2f}", "L")
    doc.set_text_color(*INK)


def shares_chart(doc: FPDF, fig: Figures, x: float, y: float, w: float, h: float) -> None:
    """Each channel's energy [kWh] and share, one bar a channel, the untracked rest last;
    estimated channels are labelled so and drawn hatched (outlined, lighter)."""
    shares = fig.shares
    if not shares:
        return
    doc.set_font(FONT, "", LABEL_PT + 1)
    labels = [share_label(s) for s in shares]
    label_w = min(max(doc.get_string_width(t) for t in labels) + 3, w * 0.45)
    x0, pw = x + label_w, w - label_w - 42
    row = h / len(shares)
    top = max(s["energy_kwh"] for s in shares) or 1.0
    for i, (share, label) in enumerate(zip(shares, labels, strict=True)):
        cy = y + row * (i + 0.5)
        doc.set_text_color(*INK)
        _text(doc, x, cy, label_w - 2, label, "R")
        bw = pw * share["energy_kwh"] / top
        color = BEFORE if share["channel"] == "untracked" else THIS
        if share.get("estimated"):
            doc.set_draw_color(*THIS)
            doc.set_line_width(0.4)
            doc.set_fill_color(*BEFORE)
            doc.rect(x0, cy - row * 0.3, max(bw, 0.2), row * 0.6, style="DF")
            doc.set_line_width(0.25)
            stripe = 2.0
            for sx in np.arange(x0 + stripe, x0 + bw, stripe):
                doc.line(sx, cy + row * 0.3, min(sx + row * 0.3, x0 + bw), cy - row * 0.3)
        else:
            doc.set_fill_color(*color)
            doc.rect(x0, cy - row * 0.3, max(bw, 0.2), row * 0.6, style="F")
        doc.set_text_color(*AXIS)
        _text(
            doc,
            x0 + bw + 2,
            cy,
            40,
            f"{share['energy_kwh']:,.1f} kWh · {share['share_pct']:.0f}%",
            "L",
        )
    doc.set_text_color(*INK)
