"""Fonts and estimated channels in the PDF: a name in Latin, Polish and CJK script prints (the
CJK characters from the fallback font, read back by ``pdftotext``); without a fallback font the
report is still made, with U+FFFD for what no font has and a warning naming it; disaggregated
channels are marked estimated wherever they appear."""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from pypdf import PdfReader

from server.reports import charts, fonts
from server.reports.charts import nice_ticks
from server.reports.generate import ReportTask, run_task
from tests.server.reports.test_pdf import _task

CJK_NAME = "Zoë Łukasiewicz – 東京"


def _pdftotext(pdf: bytes, tmp_path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext not found: install poppler-utils (make test does)")
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _named(task: ReportTask, name: str, **extra: object) -> ReportTask:
    return replace(task, info={**task.info, "name": name, **extra})


def _font_names(pdf: bytes) -> set[str]:
    import io

    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def test_a_cjk_name_prints_from_the_fallback_font(reports_dataset: Path, tmp_path: Path):
    if fonts.fallback_file() is None:
        pytest.fail("no CJK fallback font: install fonts-droid-fallback (make test does)")
    pdf, _ = run_task(_named(_task(reports_dataset, "2026-02"), CJK_NAME))
    text = _pdftotext(pdf, tmp_path)
    assert CJK_NAME in text
    assert "\ufffd" not in text
    # the fallback is embedded (a subset) beside DejaVu
    embedded = _font_names(pdf)
    assert any("DejaVu" in n for n in embedded)
    assert any("DejaVu" not in n for n in embedded), embedded


def test_a_latin_name_does_not_embed_the_fallback(reports_dataset: Path):
    pdf, _ = run_task(_task(reports_dataset, "2026-02"))
    assert all("DejaVu" in n for n in _font_names(pdf))


def test_without_a_fallback_font_the_report_is_made_with_replacement_characters(
    reports_dataset: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
):
    monkeypatch.setenv(fonts.FALLBACK_ENV, str(tmp_path / "no-such-font.ttf"))
    with caplog.at_level(logging.WARNING, logger="server.reports.fonts"):
        pdf, summary = run_task(_named(_task(reports_dataset, "2026-02"), CJK_NAME))
    text = _pdftotext(pdf, tmp_path)
    assert "Zoë Łukasiewicz – \ufffd\ufffd" in text
    assert summary["energy_kwh"] > 0
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "東" in m and "京" in m and "U+6771" in m and "no fallback font" in m for m in warned
    ), warned


def test_the_plan_takes_from_the_fallback_only_what_dejavu_lacks():
    if fonts.fallback_file() is None:
        pytest.fail("no CJK fallback font: install fonts-droid-fallback (make test does)")
    plan = fonts.plan_fonts([CJK_NAME, "Ålesund · 15 kWh"])
    assert plan.fallback_range == {ord("東"), ord("京")}
    # the fallback's two characters, cut into a small file once
    assert plan.fallback is not None and plan.fallback != fonts.fallback_file()
    assert plan.fallback.stat().st_size < 20_000 < fonts.fallback_file().stat().st_size
    assert fonts._codepoints(plan.fallback) >= {ord("東"), ord("京")}
    assert fonts.plan_fonts([CJK_NAME]).fallback == plan.fallback
    assert not plan.missing
    assert plan.printable(CJK_NAME) == CJK_NAME
    latin = fonts.plan_fonts(["Zoë's Café – Ålesund"])
    assert latin.fallback is None and not latin.fallback_range


def test_estimated_channels_are_marked(reports_dataset: Path, tmp_path: Path):
    pdf, _ = run_task(
        _named(_task(reports_dataset, "2026-02"), "Estimated house", estimated=["Heater"])
    )
    flat = " ".join(_pdftotext(pdf, tmp_path).split())
    assert "Heater (estimated)" in flat  # the list of shares below the chart
    # the chart is an image: its labels are read from the matplotlib figure that drew it (the
    # process keeps it, and run_task rendered inline)
    assert charts.chart("shares").labels() == ["Heater (estimated)", "untracked"]
    assert "Estimated channels (hatched) are not metered" in flat
    assert "Heater:" not in flat  # never unmarked
    metered, _ = run_task(_task(reports_dataset, "2026-02"))
    plain = " ".join(_pdftotext(metered, tmp_path).split())
    assert "(estimated)" not in plain and "Heater:" in plain
    assert charts.chart("shares").labels() == ["Heater", "untracked"]


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        (7.3, [0, 2, 4, 6, 8]),
        (41.0, [0, 10, 20, 30, 40, 50]),
        (1.0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (0.0, [0, 1]),
        (float("nan"), [0, 1]),
    ],
)
def test_nice_ticks(top: float, expected: list[float]):
    assert nice_ticks(top) == pytest.approx(expected)
