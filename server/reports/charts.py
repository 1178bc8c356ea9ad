"""The report's charts, drawn with matplotlib's Agg canvas into PNG bytes.

No pyplot: each chart is its own :class:`matplotlib.figure.Figure` on a
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, so nothing global is touched and
charts can be drawn in any thread or pool process. Type is large (the PDF is read on phones).
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from server.reports.figures import Figures

__all__ = ["daily_chart", "heatmap_chart", "shares_chart"]

DPI = 200
THIS = "#1f5f99"
BEFORE = "#b8c7d6"
FONT = 13


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _style(ax) -> None:  # noqa: ANN001
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=FONT)
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)


def daily_chart(fig: Figures) -> bytes:
    """Energy of each day [kWh]: this month's bars with the previous month's beside them."""
    figure = Figure(figsize=(7.2, 3.9), layout="constrained")
    ax = figure.add_subplot()
    assert fig.daily_kwh is not None
    days = np.arange(1, len(fig.daily_kwh) + 1)
    width = 0.42
    if fig.prev_daily_kwh is not None:
        prev = fig.prev_daily_kwh.to_numpy(dtype="float64")
        prev_days = np.arange(1, len(prev) + 1)
        ax.bar(
            prev_days - width / 2, np.nan_to_num(prev), width, color=BEFORE, label=fig.prev_label
        )
        ax.bar(
            days + width / 2,
            np.nan_to_num(fig.daily_kwh.to_numpy(dtype="float64")),
            width,
            color=THIS,
            label=fig.label,
        )
    else:
        ax.bar(days, np.nan_to_num(fig.daily_kwh.to_numpy(dtype="float64")), 0.8, color=THIS)
    ax.set_xlabel("day of the month", fontsize=FONT)
    ax.set_ylabel("kWh", fontsize=FONT)
    ax.set_xticks([d for d in range(1, 32) if d == 1 or d % 5 == 0])
    last = max(len(days), 0 if fig.prev_daily_kwh is None else len(fig.prev_daily_kwh))
    ax.set_xlim(0.3, last + 0.7)
    _style(ax)
    if fig.prev_daily_kwh is not None:
        ax.legend(fontsize=FONT, frameon=False, loc="upper left", ncols=2, bbox_to_anchor=(0, 1.16))
    return _png(figure)


def heatmap_chart(fig: Figures) -> bytes:
    """Energy of each local hour [kWh]: hour of day (rows) by day of month (columns)."""
    assert fig.heatmap_kwh is not None
    figure = Figure(figsize=(7.2, 4.4), layout="constrained")
    ax = figure.add_subplot()
    cmap = ListedColormap(
        ["#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#8c2d04"]
    ).with_extremes(bad="#e9e9e9")
    data = np.ma.masked_invalid(fig.heatmap_kwh)
    days = fig.heatmap_kwh.shape[1]
    image = ax.imshow(
        data,
        aspect="auto",
        cmap=cmap,
        origin="upper",
        interpolation="nearest",
        extent=(0.5, days + 0.5, 23.5, -0.5),
    )
    ax.set_yticks([0, 6, 12, 18, 23], ["00:00", "06:00", "12:00", "18:00", "23:00"])
    ax.set_xticks([d for d in range(1, days + 1) if d == 1 or d % 5 == 0])
    ax.set_xlabel("day of the month (grey: no readings)", fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    bar = figure.colorbar(image, ax=ax, pad=0.02)
    bar.set_label("kWh in the hour", fontsize=FONT)
    bar.ax.tick_params(labelsize=FONT - 1)
    return _png(figure)


def shares_chart(fig: Figures) -> bytes:
    """Each channel's share of the month's energy, the untracked rest last."""
    shares = fig.shares
    figure = Figure(figsize=(7.2, 0.9 + 0.62 * len(shares)), layout="constrained")
    ax = figure.add_subplot()
    labels = [s["channel"] + (" (estimated)" if s.get("estimated") else "") for s in shares]
    values = [s["energy_kwh"] for s in shares]
    colors = [BEFORE if s["channel"] == "untracked" else THIS for s in shares]
    y = np.arange(len(shares))[::-1]
    ax.barh(y, values, color=colors, height=0.6)
    ax.set_yticks(y, labels)
    top = max(values) if values and max(values) > 0 else 1.0
    for yi, s in zip(y, shares, strict=True):
        ax.text(
            s["energy_kwh"] + top * 0.01,
            yi,
            f"{s['energy_kwh']:,.1f} kWh · {s['share_pct']:.0f}%",
            va="center",
            fontsize=FONT,
        )
    ax.set_xlim(0, top * 1.45)
    ax.set_xlabel("kWh", fontsize=FONT)
    _style(ax)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    return _png(figure)
