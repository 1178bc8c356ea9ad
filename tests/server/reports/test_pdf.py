"""The PDF: its pages, its text (a non-ASCII name, figures equal to those computed here from
the readings) and its rendering with poppler's ``pdftoppm``."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from server.insights import CarbonIntensity
from server.reports.generate import ReportTask, carbon_for, run_task
from tests.server.reports.conftest import FLAT, NAME, ZONE

FEB = ("2026-02-01", "2026-03-01")


def _task(reports_dataset: Path, month: str, **extra: object) -> ReportTask:
    from generator.dataset import read_meta

    info = read_meta(reports_dataset)[0]["Z"]
    return ReportTask(
        info=info.to_json(),
        month=month,
        dataset=str(reports_dataset),
        tariff=FLAT,
        carbon=carbon_for(info),
        alerts=[
            {"level": "red", "rule": "spike", "kind": "alert"},
            {"level": "red", "rule": "spike", "kind": "recovery"},
            {"level": "critical", "rule": "level", "kind": "alert"},
        ],
        **extra,
    )


@pytest.fixture(scope="module")
def february(reports_dataset: Path) -> tuple[bytes, dict]:
    return run_task(_task(reports_dataset, "2026-02"))


def _text(pdf: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_two_to_four_pages_with_the_name_as_text(february):
    pages, text = _text(february[0])
    assert 2 <= pages <= 4
    assert NAME in text
    assert "February 2026" in text


def test_the_figures_are_the_readings(february, frame: pd.DataFrame):
    start = pd.Timestamp(FEB[0], tz=ZONE)
    end = pd.Timestamp(FEB[1], tz=ZONE)
    local = frame.index.tz_convert(ZONE)
    month = frame[(local >= start) & (local < end)]
    energy_kwh = month["Overall"].sum() / 60.0  # one-minute means [kW] → kWh
    heater_kwh = month["Heater"].sum() / 60.0
    cost = energy_kwh * FLAT["price_per_kwh"] + 28 * FLAT["standing_charge_per_day"]
    co2_kg = energy_kwh * CarbonIntensity().g_per_kwh("DK") / 1000.0
    peak_kw = month["Overall"].resample("15min").mean().max()
    _, text = _text(february[0])
    flat = " ".join(text.split())
    assert f"{energy_kwh:,.1f} kWh" in flat
    assert f"EUR {cost:,.2f}" in flat
    assert f"{co2_kg:,.1f} kg CO2" in flat
    assert f"{peak_kw:,.2f} kW" in flat
    assert f"{heater_kwh:,.1f} kWh" in flat  # the Heater channel's share
    summary = february[1]
    assert summary["energy_kwh"] == pytest.approx(energy_kwh, abs=0.01)
    assert summary["coverage"] == 1.0
    # the month's alerts by level (recoveries are not alerts)
    assert "critical 1 level 1" in flat and "red 1 spike 1" in flat


def test_pdftotext_reads_the_same_and_pdftoppm_renders_every_page(february, tmp_path: Path):
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm not found: install poppler-utils (make test does)")
    path = tmp_path / "r.pdf"
    path.write_bytes(february[0])
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert NAME in text
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(path), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.png"))
    assert len(pages) == _text(february[0])[0]
    assert all(p.stat().st_size > 2000 for p in pages)


def test_the_previous_month_and_the_savings_are_compared(february, frame: pd.DataFrame):
    local = frame.index.tz_convert(ZONE)
    jan = frame[local < pd.Timestamp(FEB[0], tz=ZONE)]["Overall"].sum() / 60.0
    feb = frame[(local >= pd.Timestamp(FEB[0], tz=ZONE)) & (local < pd.Timestamp(FEB[1], tz=ZONE))]
    feb_kwh = feb["Overall"].sum() / 60.0
    jan_per_day = jan / 12  # January 20-31
    _, text = _text(february[0])
    flat = " ".join(text.split())
    change = 100 * ((feb_kwh / 28) / jan_per_day - 1)
    assert (
        f"January 2026 (previous month): {jan:,.1f} kWh, {jan_per_day:,.1f} kWh a day — "
        f"{abs(change):.0f}% less a day this month" in flat
    )
    assert "February 2025 (same month a year earlier): no readings to compare with" in flat
    # with 12 days before February the baseline is the same-hour mean of those days, so it
    # expects January's days again; the crafted load grows with the day of the month, and
    # January 20-31 are late days: February used less, and says so
    expected = 28 * jan_per_day - feb_kwh
    assert february[1]["saved_kwh"] == pytest.approx(expected, rel=0.02)
    assert "You saved" in flat and "against that baseline" in flat
    assert "Cumulative CO2 reduction since January 2026" in flat


def test_a_month_without_readings_is_a_short_report(reports_dataset: Path):
    pdf, summary = run_task(_task(reports_dataset, "2025-11"))
    pages, text = _text(pdf)
    assert pages == 1
    assert "No readings this month" in text and NAME in text
    assert summary["energy_kwh"] == 0.0 and summary["coverage"] == 0.0
