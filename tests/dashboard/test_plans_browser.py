"""The dashboard's forecast accuracy, untracked breakdown, device settings and schedule timeline
in headless Chromium (Debian's, through Playwright) against the app served on loopback:

* yesterday's forecast beside what happened: the error written on the page is the API's, the
  bars are the metered hours;
* "untracked" = Overall − the channels, per quarter-hour and clipped at 0, by hour of day and as
  a share, equal to the split computed here from the posted seconds;
* a device added, edited and removed from the settings form shows in GET …/controls, and the
  API's refusal (naming the field) appears next to the form;
* "apply" on a real recommendation (household A over four days) creates the schedule drawn in
  the timeline, one row per device;
* axe-core finds no serious or critical violation, and the page fits 360 px.

Screenshots go to ``$GRIDLIGHT_SCREENSHOTS_DIR`` when set (``docs/screenshots``), else to the
test's temporary directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests
from numpy.testing import assert_allclose
from playwright.sync_api import Page

from generator.dataset import write_dataset
from generator.synth import generate
from server.storage import KeyStore, command_database
from tests.dashboard.conftest import CHANNELS, Served, usual_history
from tests.dashboard.test_accounts_browser import fits_width, serious_violations

HEATER = {
    "id": "geyser1",
    "kind": "water_heater",
    "name": "Geyser",
    "capabilities": ["on_off"],
    "power_kw": 2.0,
}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def open_page(page: Page, url: str, household: str, key: str | None, errors: list[str]) -> None:
    page.on("pageerror", lambda err: errors.append(str(err)))
    if key is not None:
        page.add_init_script(
            f"localStorage.setItem('gridlight.key.{household}', {json.dumps(key)})"
        )
    response = page.goto(f"{url}/?household={household}")
    assert response is not None and response.ok
    # every section loads side by side (the forecast's and accuracy's fits in the insights
    # thread); on a loaded 2-core machine that took over the default 20 s once
    page.wait_for_selector(f"body[data-loaded='{household}']", timeout=60_000)


def shoot(page: Page, out_dir: Path, name: str, selector: str) -> None:
    """Screenshots of ``selector``'s section at 1280 px and 360 px (no sideways scrolling); the
    sticky section tabs are left in place meanwhile, so that they do not cover the section."""
    page.evaluate("() => { document.querySelector('.tabs').style.position = 'static'; }")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator(selector).screenshot(path=str(out_dir / f"{name}-1280.png"))
    fits_width(page, 360)
    page.locator(selector).screenshot(path=str(out_dir / f"{name}-360.png"))
    page.set_viewport_size({"width": 1280, "height": 900})
    page.evaluate("() => { document.querySelector('.tabs').style.position = ''; }")


# -- forecast accuracy (demo household A, 2 days: its last day is "yesterday") ---------------
def test_accuracy_shows_the_apis_error(served: Served, page: Page, out_dir: Path):
    errors: list[str] = []
    open_page(page, served.url, "A", None, errors)
    page.wait_for_selector("#accuracy-chart[data-wape]")
    doc = requests.get(f"{served.url}/api/v1/households/A/forecast/accuracy", timeout=60).json()
    assert doc["wape_pct"] is not None and doc["hours_compared"] > 0
    assert page.get_attribute("#accuracy-chart", "data-wape") == str(doc["wape_pct"])
    text = page.text_content("#accuracy-error")
    assert f"forecast error {doc['wape_pct']:.1f} %" in text
    sign = "+" if doc["daily_energy_error_pct"] > 0 else ""
    assert f"day total {sign}{doc['daily_energy_error_pct']:.1f} %" in text
    drawn = page.evaluate(
        """() => { const n = document.getElementById("accuracy-chart");
        return n.data.map((t) => ({type: t.type, name: t.name, y: Array.from(t.y)})); }"""
    )
    bars = next(t for t in drawn if t["type"] == "bar")
    p50 = next(t for t in drawn if t["name"].startswith("Forecast P50"))
    assert bars["y"] == [h["actual_kwh"] for h in doc["hours"]]
    assert p50["y"] == [h["forecast_kwh"]["p50"] for h in doc["hours"]]
    assert serious_violations(page) == []
    shoot(page, out_dir, "forecast-accuracy", "#forecast")
    assert errors == []


# -- untracked (live household L1: AC + Geyser often exceed Overall, so clipping shows) --------
def independent_split(first_s: int) -> tuple[list[float | None], float, int]:
    """Untracked by UTC hour of day [kW] and its share of Overall [%] from the posted seconds:
    quarter-hour means, untracked = max(0, Overall − AC − Geyser) per quarter-hour."""
    rows: dict[int, list[dict]] = {}
    for reading in usual_history(first_s, seed=5):
        rows.setdefault(reading["ts"] // 900, []).append(reading["power_kw"])
    by_hour: dict[int, list[float]] = {}
    untracked_sum = overall_sum = 0.0
    clipped = 0
    for quarter, readings in rows.items():
        mean = {c: float(np.mean([r[c] for r in readings])) for c in CHANNELS}
        raw = mean["Overall"] - mean["AC"] - mean["Geyser"]
        clipped += raw < 0
        rest = max(0.0, raw)
        by_hour.setdefault(quarter * 900 // 3600 % 24, []).append(rest)
        untracked_sum += rest
        overall_sum += mean["Overall"]
    hours = [float(np.mean(by_hour[h])) if h in by_hour else None for h in range(24)]
    return hours, 100 * untracked_sum / overall_sum, clipped


def test_untracked_is_overall_minus_the_channels_never_negative(
    served: Served, live_household: dict, page: Page, out_dir: Path
):
    errors: list[str] = []
    open_page(page, served.url, "L1", live_household["key"], errors)
    page.wait_for_selector("#untracked-chart[data-rows]")
    got = page.evaluate("() => window.gridlight.untracked")
    hours, share, clipped = independent_split(live_household["first_s"])
    assert [h is None for h in got["byHour"]] == [h is None for h in hours]
    assert_allclose(
        [h for h in got["byHour"] if h is not None],
        [h for h in hours if h is not None],
        rtol=1e-5,  # the rollups' sums are stored, not the seconds: float rounding differs
        # the readings API writes each channel's mean to 6 decimals (1 mW): Overall - AC -
        # Geyser of a quarter-hour can differ by 1.5e-6 kW, beyond rtol on a 1 W hour
        atol=2e-6,
    )
    assert all(h >= 0 for h in got["byHour"] if h is not None)
    assert_allclose(got["share"]["untracked"], share, rtol=1e-5)
    assert got["clipped"] == clipped > 0  # this history has quarter-hours to clip, and says so
    assert f"In {clipped} of them the channels add up to more than Overall" in page.text_content(
        "#untracked-note"
    )
    untracked = page.text_content("#shares li[data-channel='untracked']")
    assert f"{share:.1f} % of Overall" in untracked and "Untracked" in untracked
    drawn = page.evaluate(
        "() => document.getElementById('untracked-chart').data.map((t) => t.name)"
    )
    assert drawn == ["AC", "Geyser", "Untracked (the rest of Overall)"]
    assert serious_violations(page) == []
    shoot(page, out_dir, "breakdown", "#breakdown")
    assert errors == []


# -- devices from the settings ----------------------------------------------------------------
def controls(base: str, key: str) -> list[dict]:
    r = requests.get(f"{base}/api/v1/households/L1/controls", headers=auth(key), timeout=30)
    assert r.ok, r.text
    return r.json()["devices"]


def test_devices_added_edited_and_removed_from_the_settings(
    served: Served, live_key: str, page: Page, out_dir: Path
):
    errors: list[str] = []
    open_page(page, served.url, "L1", live_key, errors)
    page.wait_for_selector("#device-form:not([hidden])")
    # keyboard: from the id field, Tab walks the form in order
    page.focus("#device-id")
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("() => document.activeElement.name"))
    assert order == ["name", "kind", "capabilities", "capabilities", "power_kw"]
    page.fill("#device-id", "kettle")
    page.fill("#device-name", "Kettle")
    page.select_option("#device-kind", "plug")
    page.fill("#device-power", "-2")  # refused by the API, which names the field
    page.click("#device-submit")
    page.wait_for_selector("#device-form-msg.error:not([hidden])")
    message = page.text_content("#device-form-msg")
    assert message.startswith("Not added: devices[0].power_kw") and "-2" in message
    assert page.get_attribute("#device-power", "aria-invalid") == "true"
    assert controls(served.url, live_key) == []

    page.fill("#device-power", "2.2")
    page.click("#device-submit")
    page.wait_for_selector("#device-form-msg.ok:has-text('kettle added.')")
    assert controls(served.url, live_key) == [
        {
            "id": "kettle",
            "kind": "plug",
            "name": "Kettle",
            "capabilities": ["on_off"],
            "power_kw": 2.2,
        }
    ]
    # the devices section shows it, with its buttons
    page.wait_for_selector("#device-list li[data-device='kettle'] button:text-is('On')")

    # a thermostat without its setpoint range: the API says what is missing
    page.fill("#device-id", "thermo")
    page.select_option("#device-kind", "thermostat")
    page.check("#set-devices input[value='setpoint']")
    page.fill("#device-power", "")
    page.click("#device-submit")
    page.wait_for_selector("#device-form-msg.error:not([hidden])")
    assert "setpoint_c" in page.text_content("#device-form-msg")
    page.fill("#device-sp-min", "16")
    page.fill("#device-sp-max", "28")
    page.click("#device-submit")
    page.wait_for_selector("#device-form-msg.ok:has-text('thermo added.')")
    assert [d["id"] for d in controls(served.url, live_key)] == ["kettle", "thermo"]

    page.click("#device-settings-list li[data-device='kettle'] button:text-is('Edit')")
    assert page.input_value("#device-id") == "kettle"
    assert page.evaluate("() => document.activeElement.id") == "device-name"  # focus follows
    assert page.get_attribute("#device-id", "readonly") is not None
    page.fill("#device-power", "3")
    page.click("#device-submit")
    page.wait_for_selector("#device-form-msg.ok:has-text('kettle saved.')")
    kettle = next(d for d in controls(served.url, live_key) if d["id"] == "kettle")
    assert kettle["power_kw"] == 3

    assert serious_violations(page) == []
    shoot(page, out_dir, "devices-settings", "#set-devices")

    page.click("#device-settings-list li[data-device='kettle'] button:text-is('Remove')")
    page.wait_for_selector("#device-form-msg.ok:has-text('removed')")
    assert [d["id"] for d in controls(served.url, live_key)] == ["thermo"]
    page.wait_for_selector("#device-list li[data-device='kettle']", state="detached")
    assert errors == []


# -- the schedule: "apply" on a real recommendation, drawn as a timeline ----------------------
@pytest.fixture(scope="module")
def four_days(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Household A over four days: enough for its "shift-water-heating" recommendation."""
    root = tmp_path_factory.mktemp("four-days")
    return write_dataset(generate(households=("A",), days=4, seed=7), root / "demo")


@pytest.fixture
def site_a(make_app, four_days: Path, tmp_path: Path) -> Iterator[tuple[Served, str]]:  # noqa: ANN001
    data = tmp_path / "data4"
    data.mkdir()
    (data / "demo").symlink_to(four_days, target_is_directory=True)
    db = command_database(data)
    try:
        _, key = KeyStore(db).add_household("A", CHANNELS, timezone="Asia/Kolkata")
    finally:
        db.dispose()
    app = make_app(DATA_DIR=str(data), STATS_CACHE_DIR=str(tmp_path / "stats4"))
    with Served(app) as served:
        yield served, key


def test_apply_creates_the_schedule_drawn_in_the_timeline(site_a, page: Page, out_dir: Path):  # noqa: ANN001
    served, key = site_a
    r = requests.put(
        f"{served.url}/api/v1/households/A/controls",
        json={"devices": [HEATER]},
        headers=auth(key),
        timeout=30,
    )
    assert r.ok, r.text
    errors: list[str] = []
    open_page(page, served.url, "A", key, errors)
    assert "Nothing is scheduled" in page.text_content("#schedule-msg")
    apply = "#tip-list li[data-recommendation='shift-water-heating'] button:text-is('Apply')"
    page.click(apply)
    page.wait_for_selector(
        "#tip-list li[data-recommendation='shift-water-heating'] :text('Scheduled as load')"
    )
    page.wait_for_selector("#schedule-chart[data-runs]")
    plan = requests.get(
        f"{served.url}/api/v1/households/A/schedule", headers=auth(key), timeout=30
    ).json()["plan"]
    (load,) = plan["loads"]
    assert load["id"] == "shift-water-heating" and load["device"] == "geyser1"
    assert page.get_attribute("#schedule-chart", "data-runs") == str(len(load["slots"]))
    bars = page.evaluate(
        """() => document.getElementById("schedule-chart").data.map((t) =>
          ({y: Array.from(t.y), base: Array.from(t.base), x: Array.from(t.x)}))"""
    )
    assert len(bars) == 1 and set(bars[0]["y"]) == {"Geyser"}  # one row: the device's name
    local = [  # the timeline's axis is the household's wall clock
        pd.Timestamp(s["start"]).tz_convert("Asia/Kolkata").strftime("%Y-%m-%d %H:%M:%S")
        for s in load["slots"]
    ]
    assert bars[0]["base"] == local
    durations_ms = [
        (np.datetime64(s["end"][:-1]) - np.datetime64(s["start"][:-1])).astype("timedelta64[ms]")
        for s in load["slots"]
    ]
    assert bars[0]["x"] == [int(d.astype(int)) for d in durations_ms]
    runs = page.locator("#schedule-list li").all_text_contents()
    assert len(runs) == len(load["slots"]) and all(
        t.startswith("Geyser (shift-water-heating)") for t in runs
    )
    # the demo's time-of-use tariff has cheaper hours: shaded and named
    assert int(page.get_attribute("#schedule-chart", "data-cheap")) > 0
    assert "cheapest hours" in page.text_content("#schedule-note")
    assert serious_violations(page) == []
    shoot(page, out_dir, "schedule", "#devices")
    assert errors == []


# -- untracked split by appliance estimates ---------------------------------------------------
@pytest.fixture
def estimated_site(make_app, widget_dataset_dir: Path, tmp_path: Path) -> Iterator[Served]:  # noqa: ANN001
    """Demo household A whose Geyser channel is marked estimated (as ``nilm apply`` marks it)."""
    copy = tmp_path / "estimated" / "demo"
    copy.mkdir(parents=True)
    for item in widget_dataset_dir.iterdir():
        if item.name != "households.json":
            (copy / item.name).symlink_to(item)
    meta = json.loads((widget_dataset_dir / "households.json").read_text())
    for entry in meta["households"]:
        entry["estimated"] = ["Geyser"]
    (copy / "households.json").write_text(json.dumps(meta))
    app = make_app(DATA_DIR=str(copy.parent), STATS_CACHE_DIR=str(tmp_path / "stats-est"))
    with Served(app) as served:
        yield served


def test_untracked_is_split_by_the_appliance_estimates(estimated_site: Served, page: Page):
    errors: list[str] = []
    open_page(page, estimated_site.url, "A", None, errors)
    page.wait_for_selector("#untracked-chart[data-rows]")
    drawn = page.evaluate(
        """() => document.getElementById('untracked-chart').data.map((t) =>
          ({name: t.name, pattern: (t.marker.pattern || {}).shape || null}))"""
    )
    assert drawn == [
        {"name": "AC", "pattern": None},
        {"name": "Geyser (estimated)", "pattern": "."},  # marked by more than its colour
        {"name": "Untracked (the rest of Overall)", "pattern": "/"},
    ]
    assert "Geyser (estimated)" in page.text_content("#shares li[data-channel='Geyser']")
    # the shares, from the rows the readings API gives for the same week
    got = page.evaluate("() => window.gridlight.untracked")
    now_s = int(page.evaluate("() => Date.now() / 1000"))
    rows = requests.get(
        f"{estimated_site.url}/api/v1/households/A/readings",
        params={"resolution": "15m", "from": now_s - 7 * 86400, "to": now_s + 1},
        timeout=60,
    ).json()["readings"]
    full = [r["power_kw"] for r in rows if None not in r["power_kw"].values()]
    overall = sum(p["Overall"] for p in full)
    untracked = sum(max(0.0, p["Overall"] - p["AC"] - p["Geyser"]) for p in full)
    geyser = sum(p["Geyser"] for p in full)
    # a quarter-hour may have turned over between the page's query and this one
    assert_allclose(got["share"]["untracked"], 100 * untracked / overall, rtol=0.02)
    assert_allclose(got["share"]["Geyser"], 100 * geyser / overall, rtol=0.02)
    assert got["rows"] == pytest.approx(len(full), abs=1)
    assert errors == []
