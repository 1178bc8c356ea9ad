"""The report as a PDF with fpdf2: A4, one column, large type, two to four pages.

The fonts are the DejaVu Sans TTFs that matplotlib ships in its package data, with a CJK-capable
fallback font for what DejaVu lacks (:mod:`server.reports.fonts`), embedded as subsets, so that
names such as "Zoë Łukasiewicz – 東京" print and can be copied as text. Charts are drawn by
matplotlib and embedded as images (:mod:`server.reports.charts`); every figure a test or a
reader copies (totals, cost, carbon, the channel shares) is text beside them. The savings
baseline is named on page 1 and explained on page 4: the forecaster's seasonal baseline
(:func:`server.reports.figures.monthly_saving`), not its gradient-boosted model.

Pages: 1. the month at a glance (energy, cost, carbon, peak demand), the comparisons and the
savings; 2. energy by day beside the previous month, and the hour-of-day heat map; 3. where the
energy went (channel shares), cost by tariff period and the month's alerts; 4. the top three
recommendations and how the figures are made. A month without readings is one page saying so.
"""

from __future__ import annotations

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from server.reports import charts
from server.reports.figures import BASELINE_DAYS, Figures
from server.reports.fonts import FontPlan, plan_fonts, strings_of

__all__ = ["render_pdf"]

#: Seed 000's monthly report notification, word for word.
FONT = "DejaVu"
FALLBACK = "Fallback"
INK = (33, 37, 41)
MUTED = (95, 99, 104)
ACCENT = (31, 95, 153)
TILE = (236, 242, 248)
GOOD = (25, 120, 60)
BAD = (170, 50, 30)
BODY = 14
WIDTH = 180.0  # A4 less 15 mm margins [mm]


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _money(fig: Figures, value: float | None) -> str:
    return "–" if value is None else f"{fig.currency} {value:,.2f}"


def _signed_pct(value: float | None) -> str:
    if value is None:
        return ""
    return f"{'+' if value >= 0 else '−'}{abs(value):.0f}%"


class _Doc(FPDF):
    def __init__(self, fig: Figures, fonts: FontPlan) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.fig = fig
        self.font_plan = fonts
        for style, path in fonts.dejavu.items():
            self.add_font(FONT, style, str(path))
        if fonts.fallback is not None:
            # only the characters DejaVu lacks; bold text takes them from the regular face
            self.add_font(FALLBACK, "", str(fonts.fallback), unicode_range=fonts.fallback_range)
            self.set_fallback_fonts([FALLBACK], exact_match=False)
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)
        self.set_title(f"Gridlight monthly report – {fig.name} – {fig.label}")
        self.set_author("Gridlight")
        self.set_creator("Gridlight")
        self.set_lang("en")

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(FONT, "", 10)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            6,
            f"{self.fig.name} · {self.fig.label} · page {self.page_no()}/{{nb}}",
            align="C",
        )

    # -- building blocks -----------------------------------------------------------------------
    def heading(self, text: str) -> None:
        self.ln(3)
        self.set_font(FONT, "B", 18)
        self.set_text_color(*ACCENT)
        self.cell(0, 10, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)

    def para(self, text: str, size: int = BODY, color: tuple[int, int, int] = INK) -> None:
        self.set_font(FONT, "", size)
        self.set_text_color(*color)
        self.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)

    def tile(self, x: float, y: float, label: str, value: str, note: str) -> None:
        w, h = WIDTH / 2 - 3, 34.0
        self.set_fill_color(*TILE)
        self.rect(x, y, w, h, style="F")
        self.set_xy(x + 4, y + 3)
        self.set_font(FONT, "", 12)
        self.set_text_color(*MUTED)
        self.cell(w - 8, 6, label)
        self.set_xy(x + 4, y + 10)
        self.set_font(FONT, "B", 22)
        self.set_text_color(*INK)
        self.cell(w - 8, 12, value)
        self.set_xy(x + 4, y + 24)
        self.set_font(FONT, "", 11)
        self.set_text_color(*MUTED)
        self.cell(w - 8, 6, note)
        self.set_text_color(*INK)

    def row(self, cells: list[str], widths: list[float], *, bold: bool = False) -> None:
        self.set_font(FONT, "B" if bold else "", BODY)
        for i, (text, w) in enumerate(zip(cells, widths, strict=True)):
            self.cell(w, 9, text, border="B", align="L" if i == 0 else "R")
        self.ln(9)

    def normalize_text(self, text: str) -> str:
        return super().normalize_text(self.font_plan.printable(text))

    def chart(self, kind: str, height_mm: float) -> None:
        """The matplotlib chart ``kind`` (:func:`server.reports.charts.chart_image`), full
        width and ``height_mm`` high, at the current position (on a new page if it does not
        fit)."""
        if self.get_y() + height_mm > self.h - 18:
            self.add_page()
        y = self.get_y()
        image = charts.chart_image(kind, self.fig, WIDTH, height_mm, self.font_plan.printable)
        self.image(image, x=15, y=y, w=WIDTH, h=height_mm)
        self.set_xy(15, y + height_mm + 2)


def _header(doc: _Doc, fig: Figures) -> None:
    doc.set_font(FONT, "", 13)
    doc.set_text_color(*MUTED)
    doc.cell(0, 7, "Gridlight · monthly energy report", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font(FONT, "B", 24)
    doc.set_text_color(*INK)
    doc.multi_cell(0, 11, fig.name, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font(FONT, "", 16)
    doc.cell(
        0,
        9,
        f"{fig.label} · household {fig.household} · {fig.timezone}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    doc.ln(2)


def _glance(doc: _Doc, fig: Figures) -> None:
    y = doc.get_y() + 2
    per_day = fig.per_day_kwh
    doc.tile(15, y, "Energy used", f"{_num(fig.energy_kwh)} kWh", f"{_num(per_day)} kWh a day")
    if fig.cost is not None:
        doc.tile(
            15 + WIDTH / 2 + 3,
            y,
            "Cost",
            _money(fig, fig.cost),
            f"incl. standing charge {_money(fig, fig.standing_charge)}",
        )
    else:
        doc.tile(15 + WIDTH / 2 + 3, y, "Cost", "–", "no tariff set")
    y += 38
    if fig.co2_kg is not None:
        doc.tile(
            15,
            y,
            "Carbon",
            f"{_num(fig.co2_kg)} kg CO2",
            f"at {fig.g_per_kwh:.0f} g/kWh ({fig.zone})",
        )
    else:
        doc.tile(15, y, "Carbon", "–", "no grid intensity for the zone")
    peak_note = f"on {fig.peak_at:%a %d %b at %H:%M}" if fig.peak_at is not None else ""
    doc.tile(
        15 + WIDTH / 2 + 3,
        y,
        "Peak demand (15 min)",
        f"{_num(fig.peak_kw, 2)} kW",
        peak_note,
    )
    doc.set_y(y + 38)
    if fig.coverage < 0.995:
        doc.para(
            f"Readings cover {fig.coverage * 100:.0f}% of the month's hours; hours without "
            "readings count for nothing (they are not taken as zero).",
            12,
            MUTED,
        )


def _comparisons(doc: _Doc, fig: Figures) -> None:
    doc.heading("How it compares")
    for comp in fig.comparisons:
        if not comp["available"]:
            doc.para(f"• {comp['label']} ({comp['what']}): no readings to compare with.")
            continue
        change = comp["change_pct"]
        if change is None:
            trend = ""
        elif abs(change) < 0.5:
            trend = " — about the same"
        else:
            trend = f" — {abs(change):.0f}% {'more' if change > 0 else 'less'} a day this month"
        doc.para(
            f"• {comp['label']} ({comp['what']}): {_num(comp['energy_kwh'])} kWh, "
            f"{_num(comp['per_day_kwh'])} kWh a day{trend}."
        )


def _savings(doc: _Doc, fig: Figures) -> None:
    doc.heading("Savings")
    s = fig.saving
    if not s.get("available"):
        doc.para(
            f"Against the seasonal forecast baseline (each hour of the day at its average over "
            f"the {BASELINE_DAYS} days before): not available ({s.get('reason', 'no data')})."
        )
    else:
        saved = s["saved_kwh"]
        parts = [
            f"The baseline (each hour of the day at its average over the "
            f"{(s.get('model') or {}).get('window_days', BASELINE_DAYS)} days before, from your "
            f"readings before {fig.label}) "
            f"expected {_num(s['predicted_kwh'])} kWh over the hours with readings; you used "
            f"{_num(s['actual_kwh'])} kWh."
        ]
        extra = []
        if s.get("saved_money") is not None:
            extra.append(_money(fig, abs(s["saved_money"])))
        if s.get("saved_co2_kg") is not None:
            extra.append(f"{_num(abs(s['saved_co2_kg']))} kg CO2")
        tail = f" ({', '.join(extra)})" if extra else ""
        if saved >= 0:
            parts.append(f"You saved {_num(saved)} kWh{tail} against that baseline.")
            color = GOOD
        else:
            parts.append(
                f"You used {_num(-saved)} kWh more than expected{tail}: no saving this month."
            )
            color = BAD
        doc.set_font(FONT, "B", BODY)
        doc.para(parts[0])
        doc.set_text_color(*color)
        doc.set_font(FONT, "B", 16)
        doc.multi_cell(0, 8, parts[1], align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        doc.set_text_color(*INK)
    _schedule_savings(doc, fig)
    c = fig.cumulative
    if c.get("available"):
        total = c["co2_kg"]
        word = "reduction" if total >= 0 else "increase"
        doc.para(
            f"Cumulative CO2 {word} since {c['since_label']}: {_num(abs(total))} kg CO2 "
            f"(the savings of {c['months']} month{'s' if c['months'] != 1 else ''} with a baseline "
            "added up)."
        )


def _schedule_savings(doc: _Doc, fig: Figures) -> None:
    """What the schedules that ran this month saved, as planned (cost at the earliest start
    less the cost at the planned slots)."""
    runs = fig.schedules
    if runs is None:
        doc.para("From schedules: none. This household has no schedules (control) set up.")
        return
    if not runs["runs"]:
        doc.para(f"From schedules: none ran in {fig.label}.")
        return
    currency = runs.get("currency") or fig.currency or ""
    loads = runs["loads"]
    if loads:
        detail = "; ".join(
            f"{item['id']}{' (' + item['device'] + ')' if item.get('device') else ''}: "
            f"{item['slots_run']} of {item['slots']} slots, {_num(item['energy_kwh'])} kWh"
            for item in loads
        )
        doc.para(
            f"From schedules: {currency} {runs['saving']:,.2f} and "
            f"{_num(runs['co2_saving_kg'], 2)} kg CO2 saved by running loads at their planned "
            f"times instead of their earliest start ({detail})."
        )
    if runs["unknown_runs"]:
        doc.para(
            f"{runs['unknown_runs']} more scheduled run{'s' if runs['unknown_runs'] != 1 else ''}"
            " belonged to a plan since replaced: what they saved is not known.",
            12,
            MUTED,
        )


def _page_charts(doc: _Doc, fig: Figures) -> None:
    doc.add_page()
    doc.heading("Energy by day")
    doc.para(
        f"{fig.label} (dark) beside {fig.prev_label} (light)."
        if fig.prev_daily_kwh is not None
        else f"{fig.label}.",
        12,
        MUTED,
    )
    doc.chart("daily", 95)
    doc.heading("When you used energy")
    doc.para("Each square is one hour of one day; darker means more energy.", 12, MUTED)
    doc.chart("heatmap", 105)


def _page_where(doc: _Doc, fig: Figures) -> None:
    doc.add_page()
    doc.heading("Where it went")
    if fig.shares:
        doc.chart("shares", 11.0 * len(fig.shares))
    doc.para(
        " · ".join(
            f"{charts.share_label(s)}: {_num(s['energy_kwh'])} kWh ({s['share_pct']:.0f}%)"
            for s in fig.shares
        ),
        12,
        MUTED,
    )
    if any(s.get("estimated") for s in fig.shares):
        doc.para(
            "Estimated channels (hatched) are not metered: Gridlight estimates them from the "
            "whole-house meter (disaggregation), so their figures are approximate.",
            12,
            MUTED,
        )
    doc.heading("Cost by tariff period")
    if not fig.by_period:
        doc.para("No tariff is set for this household, so no cost.")
    else:
        widths = [80.0, 45.0, 55.0]
        doc.row(["Period", "kWh", f"Cost ({fig.currency})"], widths, bold=True)
        for p in fig.by_period:
            doc.row([p["period"], _num(p["energy_kwh"]), f"{p['cost']:,.2f}"], widths)
        doc.row(
            ["Standing charge", f"{fig.days_in_month} days", f"{fig.standing_charge:,.2f}"], widths
        )
        doc.row(["Total", _num(fig.energy_kwh), f"{fig.cost:,.2f}"], widths, bold=True)
        doc.para(f"Tariff: {fig.tariff_name}.", 12, MUTED)
    doc.heading("Alerts this month")
    if not fig.alerts:
        doc.para("No alerts this month.")
    else:
        widths = [50.0, 30.0, 100.0]
        doc.row(["Level", "Alerts", "Rules"], widths, bold=True)
        for a in fig.alerts:
            rules = ", ".join(f"{r} {n}" for r, n in a["rules"].items())
            doc.row([a["level"], str(a["count"]), rules], widths)


def _page_advice(doc: _Doc, fig: Figures) -> None:
    doc.add_page()
    doc.heading("Top recommendations")
    if not fig.recommendations:
        doc.para("Nothing stood out this month: no recommendation.")
    for i, rec in enumerate(fig.recommendations, 1):
        doc.set_font(FONT, "B", 15)
        doc.multi_cell(0, 8, f"{i}. {rec['title']}", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if rec.get("channel") in fig.estimated:
            doc.para(
                f"Based on {rec['channel']} (estimated): an estimate from the whole-house meter.",
                12,
                MUTED,
            )
        if rec.get("detail"):
            doc.para(str(rec["detail"]), 12)
        saving = rec.get("saving_per_month") or {}
        bits = []
        if (saving.get("energy_kwh") or 0) > 0.05:
            bits.append(f"{_num(saving['energy_kwh'])} kWh")
        if saving.get("money") is not None:
            bits.append(_money(fig, saving["money"]))
        if (saving.get("co2_kg") or 0) > 0.05:
            bits.append(f"{_num(saving['co2_kg'])} kg CO2")
        if bits:
            moved = "" if (saving.get("energy_kwh") or 0) > 0.05 else " (the same energy, cheaper)"
            doc.para(f"Could save about {', '.join(bits)} a month{moved}.", BODY, GOOD)
        doc.ln(2)
    doc.heading("About these figures")
    notes = [
        f"Energy is summed over the local hours of {fig.label} in {fig.timezone}; "
        f"readings cover {fig.coverage * 100:.0f}% of them.",
    ]
    if fig.g_per_kwh is not None:
        notes.append(
            f"Carbon: {fig.g_per_kwh:.0f} g CO2/kWh for zone {fig.zone} ({fig.carbon_source})."
        )
    if fig.tariff_name:
        notes.append(f"Cost: tariff '{fig.tariff_name}' in {fig.currency}.")
    model = fig.saving.get("model") if fig.saving.get("available") else None
    window = model["window_days"] if model else BASELINE_DAYS
    baseline = (
        "Savings baseline: Gridlight's seasonal forecast, each hour of the month predicted as "
        f"the same hour's mean over the {window} days before it (later days of the month from "
        "the earlier days' predictions, so nothing of the month itself is used)"
    )
    if model:
        baseline += f", from {model['history_days']:.0f} days of readings before the month."
    else:
        baseline += f"; not available this month ({fig.saving.get('reason', 'no data')})."
    notes.append(
        baseline + " Not the gradient-boosted forecast of the app's forecast view: fitting it "
        "takes seconds for each month, too long for a report."
    )
    for note in notes:
        doc.para(note, 11, MUTED)


def _empty(doc: _Doc, fig: Figures) -> None:
    doc.heading("No readings this month")
    doc.para(
        f"Gridlight received no readings from this household in {fig.label} "
        f"({fig.timezone}), so there is nothing to report: no energy, cost or carbon figures."
    )
    if fig.alerts:
        doc.heading("Alerts this month")
        for a in fig.alerts:
            doc.para(f"• {a['level']}: {a['count']}")


def render_pdf(fig: Figures) -> bytes:
    """The report of ``fig`` as PDF bytes."""
    doc = _Doc(fig, plan_fonts(strings_of(fig)))
    doc.add_page()
    _header(doc, fig)
    if not fig.has_data:
        _empty(doc, fig)
    else:
        _glance(doc, fig)
        _comparisons(doc, fig)
        _savings(doc, fig)
        _page_charts(doc, fig)
        _page_where(doc, fig)
        _page_advice(doc, fig)
    return bytes(doc.output())
