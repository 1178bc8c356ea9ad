"""The report's charts, drawn by matplotlib and embedded by fpdf2 as images.

Three charts: energy by day beside the previous month (:class:`DailyChart`), the hour-of-day by
day heat map (:class:`HeatmapChart`) and the channel shares (:class:`SharesChart`). Each is drawn
with matplotlib's object-oriented API on its own :class:`~matplotlib.figure.Figure` and
``FigureCanvasAgg`` (never pyplot's global state), and :func:`chart_image` hands fpdf2 the
canvas's pixels as an RGB Pillow image (fpdf2's "Charts & graphs" recipe: fpdf2 decodes and
re-compresses a PNG anyway, so encoding one first is wasted work).

Speed (``benchmarks/bench_reports.py``, which measures these ways side by side): creating axes,
ticks and each bar's patch is most of a matplotlib chart's time, so each process keeps one
figure per chart kind, built once with its axes, bars (31 days), image and colour bar, and each
report only updates their data (bar heights, the image's array and colour scale, tick labels)
before the canvas draws again. Chart settings (fonts, colours) are an ``rc_context`` built once
(:func:`rc`), not changes to the process's ``rcParams``. The three charts of one report, made
and embedded, on the 2-core machine at load 5-7 (seconds a report): these kept figures 0.47;
new figures saved as PNG at 150 dpi, zlib 1, 0.78 (at 200 dpi, zlib 6: 1.23); new figures, one
a page, 0.88; new figures as SVG read by fpdf2's SVG reader 1.74 (vector, 25 KiB instead of 81,
but fpdf2 2.8 ignores the ``transform`` of the heat map's ``<image>``, so it would also be
wrong); at load 4: 0.36, 0.61, 1.00, 0.63 and 1.19 s. fpdf2 re-compresses the pixels (zlib
level 6) whatever it is given; 120 against 150 dpi, or zlib level 1 against 6, made no
difference to the CPU time within noise: matplotlib's Python work per artist is the cost.

Rendered at :data:`DPI` (150: about 1,060 pixels across the page, a phone screen's width, so the
10-11 pt labels stay sharp when the page fills the screen). Chart text is DejaVu Sans with the
CJK fallback font of :mod:`server.reports.fonts` behind it (matplotlib's font fallback), so a
channel named in any script prints; labels also pass through the report's font plan
(``printable``: U+FFFD for what no font has, as in the PDF's text). The figures a reader needs
as text (the shares in kWh and %, totals) are also printed as PDF text beside the charts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import matplotlib as mpl
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure, SubFigure
from matplotlib.ticker import FixedLocator, MaxNLocator

from server.reports.fonts import fallback_file

if TYPE_CHECKING:
    from PIL.Image import Image

    from server.reports.figures import Figures

__all__ = [
    "DPI",
    "HEAT",
    "DailyChart",
    "HeatmapChart",
    "SharesChart",
    "chart_image",
    "nice_ticks",
    "rc",
    "share_label",
]

log = logging.getLogger(__name__)

THIS = "#1f5f99"
BEFORE = "#b8c7d6"
GRID = "#dddddd"
AXIS = "#5f6368"
INK = "#212529"
NO_DATA = "#e9e9e9"
#: The heat map's eight shades, light to dark (ColorBrewer "Oranges").
HEAT = ("#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#8c2d04")
LABEL_PT = 10
#: Pixels per inch of the charts' images.
DPI = 150
MAX_DAYS = 31
MM = 1 / 25.4  # [in/mm]

Printable = Callable[[str], str]


def nice_ticks(top: float, most: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (matplotlib's ``MaxNLocator``: steps of 1,
    2, 2.5 or 5 × 10^k, at most ``most`` + 1 ticks)."""
    if not np.isfinite(top) or top <= 0:
        return [0.0, 1.0]
    locator = MaxNLocator(nbins=most, steps=[1, 2, 2.5, 5, 10])
    return [round(float(t), 10) for t in locator.tick_values(0, top) if t >= 0]


def share_label(share: dict) -> str:
    """A channel's name as the report prints it, ``(estimated)`` for a disaggregated one."""
    return share["channel"] + (" (estimated)" if share.get("estimated") else "")


_RC: dict[str, Any] | None = None


def rc() -> dict[str, Any]:
    """The charts' matplotlib settings (an ``rc_context``), made once per process: DejaVu Sans
    then the CJK fallback font (registered with matplotlib's font manager), the report's
    colours and sizes."""
    global _RC
    if _RC is None:
        from matplotlib import font_manager

        families = ["DejaVu Sans"]
        fallback = fallback_file()
        if fallback is not None:
            try:
                font_manager.fontManager.addfont(str(fallback))
                families.append(font_manager.FontProperties(fname=str(fallback)).get_name())
            except Exception as err:  # noqa: BLE001 - charts without it; the PDF warns of glyphs
                log.warning(
                    "reports: matplotlib cannot use the fallback font %s: %s", fallback, err
                )
        _RC = {
            "font.family": families,
            "font.size": LABEL_PT,
            "axes.edgecolor": AXIS,
            "axes.labelcolor": AXIS,
            "axes.labelsize": LABEL_PT,
            "xtick.color": AXIS,
            "ytick.color": AXIS,
            "xtick.labelsize": LABEL_PT,
            "ytick.labelsize": LABEL_PT,
            "text.color": INK,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.facecolor": "white",
            "figure.dpi": DPI,
            "hatch.color": THIS,
            "hatch.linewidth": 0.8,
        }
    return _RC


class _Chart:
    """One figure and canvas kept for the process; :meth:`update` puts a report's data in."""

    def __init__(self, figure: Figure | SubFigure | None = None) -> None:
        # a figure of its own, or a part of another (``benchmarks/bench_reports.py`` measures
        # two charts in one figure)
        if figure is None:
            figure = Figure(dpi=DPI)
            FigureCanvasAgg(figure)
        self.figure = figure
        self.canvas = figure.canvas

    def size(self, w_mm: float, h_mm: float) -> None:
        self.figure.set_size_inches(w_mm * MM, h_mm * MM)

    def update(self, fig: Figures, text: Printable) -> None:
        raise NotImplementedError


def _day_ticks(days: int) -> list[int]:
    return [d for d in range(1, days + 1) if d == 1 or d % 5 == 0]


class DailyChart(_Chart):
    """Energy of each day [kWh]: this month's bars, the previous month's beside them (lighter),
    missing days left empty."""

    def __init__(self, figure: Figure | SubFigure | None = None) -> None:
        super().__init__(figure)
        ax = self.ax = self.figure.add_axes((0.075, 0.17, 0.915, 0.71))
        slots = np.arange(1, MAX_DAYS + 1, dtype="float64")
        zeros = np.zeros(MAX_DAYS)
        self.prev = ax.bar(slots - 0.21, zeros, 0.42, color=BEFORE, label="before")
        self.this = ax.bar(slots + 0.21, zeros, 0.42, color=THIS, label="this")
        self.legend = ax.legend(
            loc="lower left",
            bbox_to_anchor=(0, 1.01),
            ncols=2,
            frameon=False,
            fontsize=LABEL_PT + 1,
            handlelength=1.2,
            borderaxespad=0,
        )
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
        ax.set_xlabel("day of the month")
        ax.set_ylabel("kWh")
        ax.spines["left"].set_visible(False)
        ax.tick_params(axis="y", length=0)

    def update(self, fig: Figures, text: Printable) -> None:
        assert fig.daily_kwh is not None
        this = fig.daily_kwh.to_numpy(dtype="float64")
        prev = None if fig.prev_daily_kwh is None else fig.prev_daily_kwh.to_numpy("float64")
        days = max(len(this), 0 if prev is None else len(prev))
        both = prev is not None
        width, shift = (0.42, 0.21) if both else (0.8, 0.0)
        for bars, data, offset in ((self.prev, prev, -shift), (self.this, this, shift)):
            for i, rect in enumerate(bars.patches):
                value = np.nan if data is None or i >= len(data) else data[i]
                visible = bool(np.isfinite(value) and value > 0)
                rect.set_visible(visible)
                if visible:
                    rect.set_height(value)
                    rect.set_width(width)
                    rect.set_x(i + 1 + offset - width / 2)
        values = np.concatenate([this, prev if prev is not None else []])
        top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
        ticks = nice_ticks(top)
        self.ax.set_ylim(0, ticks[-1])
        self.ax.yaxis.set_major_locator(FixedLocator(ticks))
        self.ax.set_xlim(0.5, days + 0.5)
        self.ax.xaxis.set_major_locator(FixedLocator(_day_ticks(days)))
        self.legend.set_visible(both)
        if both:
            first, second = self.legend.get_texts()
            first.set_text(text(fig.prev_label))
            second.set_text(text(fig.label))


class HeatmapChart(_Chart):
    """Energy of each local hour [kWh]: hour of day (rows, midnight at the top) by day of month
    (columns), eight shades from 0 to the month's largest hour; grey: no readings."""

    def __init__(self, figure: Figure | SubFigure | None = None) -> None:
        super().__init__(figure)
        ax = self.ax = self.figure.add_axes((0.085, 0.13, 0.76, 0.85))
        # the hours are coloured here, 24 × 31 values, and the image shows those colours:
        # imshow with the norm would map every pixel of the resampled image instead
        self.cmap = ListedColormap(HEAT, bad=NO_DATA)
        self.shades = ScalarMappable(_norm(1.0), self.cmap)  # the colour bar's
        self.image = ax.imshow(np.ones((24, MAX_DAYS, 4)), aspect="auto", interpolation="nearest")
        ax.yaxis.set_major_locator(FixedLocator([0, 6, 12, 18, 23]))
        ax.set_yticklabels(["00:00", "06:00", "12:00", "18:00", "23:00"])
        ax.set_xlabel("day of the month (grey: no readings)")
        for spine in ax.spines.values():
            spine.set_visible(False)
        self.cax = self.figure.add_axes((0.87, 0.13, 0.025, 0.85))
        self.bar = self.figure.colorbar(self.shades, cax=self.cax)
        self.bar.set_label("kWh/hour")
        self.bar.outline.set_visible(False)
        self.cax.tick_params(length=0)

    def update(self, fig: Figures, text: Printable) -> None:
        assert fig.heatmap_kwh is not None
        grid = fig.heatmap_kwh
        hours, days = grid.shape
        finite = grid[np.isfinite(grid)]
        top = float(finite.max()) if finite.size else 0.0
        top = top if top > 0 else 1.0
        norm = _norm(top)
        self.shades.set_norm(norm)
        self.image.set_data(self.cmap(norm(np.ma.masked_invalid(grid)), bytes=True))
        self.image.set_extent((0.5, days + 0.5, hours - 0.5, -0.5))
        self.ax.set_xlim(0.5, days + 0.5)
        self.ax.set_ylim(hours - 0.5, -0.5)
        self.ax.xaxis.set_major_locator(FixedLocator(_day_ticks(days)))
        # each shade's label: the energy it starts at (the top boundary is not a shade)
        self.bar.set_ticks(np.linspace(0, top, len(HEAT) + 1)[:-1] + top / len(HEAT) / 2)
        self.bar.set_ticklabels([f"≥ {top * i / len(HEAT):.2f}" for i in range(len(HEAT))])


def _norm(top: float) -> BoundaryNorm:
    """The heat map's eight equal shades from 0 to ``top`` [kWh]."""
    return BoundaryNorm(np.linspace(0, top, len(HEAT) + 1), len(HEAT))


class SharesChart(_Chart):
    """Each channel's energy [kWh] and share, one bar a channel, the untracked rest last;
    estimated channels are labelled so and drawn hatched (lighter, outlined)."""

    def __init__(self, figure: Figure | SubFigure | None = None) -> None:
        super().__init__(figure)
        ax = self.ax = self.figure.add_axes((0.3, 0.02, 0.45, 0.96))
        ax.xaxis.set_visible(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.tick_params(axis="y", length=0, labelsize=LABEL_PT + 1, labelcolor=INK)
        self.drawn: list[Any] = []

    def update(self, fig: Figures, text: Printable) -> None:
        for artist in self.drawn:
            artist.remove()
        self.drawn = []
        rows = fig.shares
        energy = [float(s["energy_kwh"]) for s in rows]
        top = max(energy, default=0.0) or 1.0
        for i, share in enumerate(rows):
            if share.get("estimated"):
                style = {"color": BEFORE, "edgecolor": THIS, "hatch": "////", "linewidth": 0.8}
            else:
                style = {"color": BEFORE if share["channel"] == "untracked" else THIS}
            self.drawn += self.ax.barh(i, max(energy[i], top * 0.002), 0.6, **style).patches
            self.drawn.append(
                self.ax.text(
                    energy[i] + top * 0.015,
                    i,
                    f"{energy[i]:,.1f} kWh · {share['share_pct']:.0f}%",
                    va="center",
                    ha="left",
                    color=AXIS,
                    fontsize=LABEL_PT + 1,
                    clip_on=False,
                )
            )
        self.ax.set_yticks(range(len(rows)), [text(share_label(s)) for s in rows])
        self.ax.set_ylim(len(rows) - 0.5, -0.5)
        self.ax.set_xlim(0, top)

    def labels(self) -> list[str]:
        """The channel labels the chart shows (its y tick labels)."""
        return [t.get_text() for t in self.ax.get_yticklabels()]


_CHARTS: dict[str, _Chart] = {}
#: The kept figures are one per process: reports made inline by threads take turns.
_LOCK = threading.Lock()
KINDS: dict[str, type[_Chart]] = {
    "daily": DailyChart,
    "heatmap": HeatmapChart,
    "shares": SharesChart,
}


def chart(kind: str) -> _Chart:
    """The process's chart of ``kind`` (``daily``, ``heatmap``, ``shares``), made at first use."""
    found = _CHARTS.get(kind)
    if found is None:
        with mpl.rc_context(rc()):
            found = _CHARTS[kind] = KINDS[kind]()
    return found


def chart_image(kind: str, fig: Figures, w_mm: float, h_mm: float, text: Printable = str) -> Image:
    """The chart ``kind`` of ``fig`` drawn ``w_mm`` × ``h_mm`` [mm] at :data:`DPI`, as an RGB
    Pillow image for ``FPDF.image``; ``text`` makes its labels printable."""
    from PIL import Image as PILImage

    with _LOCK, mpl.rc_context(rc()):
        drawn = chart(kind)
        drawn.size(w_mm, h_mm)
        drawn.update(fig, text)
        drawn.canvas.draw()
        rgba = drawn.canvas.buffer_rgba()
        return PILImage.frombuffer("RGBA", (rgba.shape[1], rgba.shape[0]), rgba).convert("RGB")
