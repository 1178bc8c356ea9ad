"""Carbon: the shipped table, zones from time zones, live values that override it."""

from __future__ import annotations

import datetime as dt

import pytest

from server.insights.carbon import CarbonIntensity, carbon_table, co2_kg, zone_for_timezone
from server.insights.errors import CarbonError


def test_table_names_its_source_and_year_and_has_the_required_zones():
    table = carbon_table()
    assert "Ember" in table["source"] and table["year"] == 2023
    assert table["unit"] == "g CO2e/kWh"
    for zone in ("IN", "FR", "GB", "DE", "US"):
        assert 0 < table["zones"][zone] < 1000
    assert table["zones"]["FR"] < table["zones"]["GB"] < table["zones"]["IN"]


@pytest.mark.parametrize(
    ("timezone", "zone"),
    [
        ("Asia/Kolkata", "IN"),
        ("Asia/Calcutta", "IN"),
        ("Europe/Paris", "FR"),
        ("Europe/London", "GB"),
        ("Europe/Berlin", "DE"),
        ("America/New_York", "US"),
        ("America/Los_Angeles", "US"),
    ],
)
def test_zone_from_timezone(timezone, zone):
    assert zone_for_timezone(timezone) == zone


def test_zone_override_and_unknown():
    assert zone_for_timezone("UTC", "de") == "DE"
    with pytest.raises(CarbonError, match="no carbon zone for time zone 'UTC'"):
        zone_for_timezone("UTC")
    with pytest.raises(CarbonError, match="unknown carbon zone 'XX'"):
        CarbonIntensity().g_per_kwh("XX")


def test_live_value_overrides_and_survives_a_failed_feed():
    carbon = CarbonIntensity()
    assert carbon.g_per_kwh("IN") == 713.0
    carbon.update("in", 640.0, dt.datetime(2026, 4, 6, tzinfo=dt.UTC))
    assert carbon.g_per_kwh("IN") == 640.0
    assert carbon.describe("IN")["source"].startswith("live feed at 2026-04-06")
    carbon.failed("IN", "timeout")
    assert carbon.g_per_kwh("IN") == 640.0 and carbon.degraded() == {"IN": "timeout"}
    with pytest.raises(CarbonError, match="outside 0-2000"):
        carbon.update("IN", -5, dt.datetime(2026, 4, 6, tzinfo=dt.UTC))
    assert carbon.g_per_kwh("FR") == 56.0  # other zones keep the table


def test_co2_kg():
    assert co2_kg(10.0, 713.0) == pytest.approx(7.13)


def test_insights_package_is_pure():
    from tests.server.stats.test_purity import FORBIDDEN, ROOT, imported_modules, package_files
    from tests.test_layers import INSIGHTS_PURE

    allowed_internal = ("server.insights", "generator.dataset", "server.stats")
    pure = {f"{name}.py" for name in INSIGHTS_PURE}  # the adapters (views, service, ...) are not
    for path in package_files("server/insights"):
        if path.name not in pure:
            continue
        for name in imported_modules(path):
            assert name.split(".")[0] not in FORBIDDEN, f"{path.relative_to(ROOT)} imports {name}"
            if name.startswith(("server", "generator")):
                assert name.startswith(allowed_internal), f"{path.relative_to(ROOT)} imports {name}"
