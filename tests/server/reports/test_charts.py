"""The charts are matplotlib's: each chart page embeds its charts as images of the chart's size
and resolution, in the report's colours, and ``pdftoppm`` renders the chart area non-blank; a
channel named in a non-Latin script is drawn from the fonts (no missing glyph)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from server.reports import charts
from tests.server.reports.test_pdf import _task

A4_W_MM = 210.0


def _rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])


def _share_of(pixels: np.ndarray, hex_colour: str, tolerance: int = 8) -> float:
    """The fraction of ``pixels`` (h × w × 3) within ``tolerance`` of a colour."""
    near = np.abs(pixels.astype("int64") - _rgb(hex_colour)).max(axis=-1) <= tolerance
    return float(near.mean())


def _images(pdf: bytes) -> list[list[np.ndarray]]:
    """Each page's embedded images as RGB arrays."""
    reader = PdfReader(io.BytesIO(pdf))
    return [
        [np.asarray(image.image.convert("RGB")) for image in page.images] for page in reader.pages
    ]


@pytest.fixture(scope="module")
def february(reports_dataset: Path) -> tuple[bytes, dict]:
    from server.reports.generate import run_task

    return run_task(_task(reports_dataset, "2026-02"))


@pytest.fixture(scope="module")
def estimated(reports_dataset: Path) -> bytes:
    from dataclasses import replace

    from server.reports.generate import run_task

    task = _task(reports_dataset, "2026-02")
    pdf, _ = run_task(replace(task, info={**task.info, "estimated": ["Heater"]}))
    return pdf


def test_each_chart_page_embeds_its_matplotlib_charts(february, estimated):
    pages = _images(february[0])
    assert [len(p) for p in pages] == [0, 2, 1, 0]  # page 2: by day, heat map; page 3: shares
    (daily, heat), (shares,) = pages[1], pages[2]
    for image in (daily, heat, shares):  # the page's width at the charts' resolution
        assert image.shape[1] == pytest.approx(180 / 25.4 * charts.DPI, abs=2)
    # energy by day: February's bars (dark) and January's beside them (light)
    assert _share_of(daily, charts.THIS) > 0.03
    assert _share_of(daily, charts.BEFORE) > 0.005
    # the heat map: the evening hours (17-21, +1.5 kW) in the darkest shades, the night's
    # base load (0.4 kW + 0.02 × the day) in the lightest three
    assert _share_of(heat, charts.HEAT[-1]) + _share_of(heat, charts.HEAT[-2]) > 0.05
    assert sum(_share_of(heat, colour) for colour in charts.HEAT[:3]) > 0.2
    # the shares: a metered channel dark, untracked light; an estimated one hatched (its
    # outline and stripes in the dark colour over the light fill)
    assert _share_of(shares, charts.THIS) > 0.005 and _share_of(shares, charts.BEFORE) > 0.02
    (hatched,) = _images(estimated)[2]
    assert _share_of(hatched, charts.THIS) < _share_of(shares, charts.THIS)
    assert _share_of(hatched, charts.THIS, tolerance=40) > 0.002


def test_pdftoppm_renders_the_chart_area_non_blank(february, tmp_path: Path):
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm not found: install poppler-utils (make test does)")
    path = tmp_path / "r.pdf"
    path.write_bytes(february[0])
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "2", "-l", "2", str(path), str(tmp_path / "p")],
        check=True,
    )
    (png,) = tmp_path.glob("p-*.png")
    page = np.asarray(Image.open(png).convert("RGB"))
    height, width, _ = page.shape
    # the by-day chart: 95 mm high, starting about 35 mm down the page, 15 mm from the left
    box = page[
        int(height * 40 / 297) : int(height * 120 / 297),
        int(width * 20 / A4_W_MM) : int(width * 190 / A4_W_MM),
    ]
    ink = (box < 200).any(axis=-1).mean()
    assert ink > 0.15, f"the chart area is {ink:.0%} ink"
    assert _share_of(box, charts.THIS, tolerance=30) > 0.05


def test_a_channel_in_any_script_is_drawn_from_the_fonts():
    # a missing glyph is a warning, and warnings are errors in the tests
    fig = SimpleNamespace(
        shares=[
            {"channel": "Küche – 東京", "energy_kwh": 12.5, "share_pct": 40.0},
            {"channel": "Łazienka", "energy_kwh": 6.0, "share_pct": 20.0, "estimated": True},
            {"channel": "untracked", "energy_kwh": 12.5, "share_pct": 40.0},
        ]
    )
    image = charts.chart_image("shares", fig, 180, 33)  # type: ignore[arg-type]
    assert image.mode == "RGB" and image.size[0] == pytest.approx(1063, abs=2)
    assert charts.chart("shares").labels() == [
        "Küche – 東京",
        "Łazienka (estimated)",
        "untracked",
    ]
