"""The insights routes: forecast, tariff, recommendations, and the readings' cost and carbon.

The app is the server tests' (2 days of synthetic A/B/C in demo mode, so forecasts are the
same-hour baseline and say so) with a live household ``L1`` registered with a key.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from numpy.testing import assert_allclose

from server.insights.tariff import default_tariff
from server.storage import KeyStore, command_database

CHANNELS = ("AC", "Geyser", "Overall")
FLAT = {"type": "flat", "currency": "EUR", "price_per_kwh": 0.25, "standing_charge_per_day": 0.4}


@pytest.fixture
def demo_key(server_data_dir: Path) -> str:
    db = command_database(server_data_dir)
    try:
        _, key = KeyStore(db).add_household("A", CHANNELS, timezone="Asia/Kolkata")
    finally:
        db.dispose()
    return key


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# -- forecast ---------------------------------------------------------------------------------
def test_forecast_of_a_demo_household(client) -> None:  # noqa: ANN001
    r = client.get("/api/v1/households/A/forecast?horizon_h=6")
    assert r.status_code == 200, r.json
    doc = r.json
    assert doc["household"] == "A" and len(doc["hours"]) == 6
    # two days of data: the seasonal baseline, and it says why
    assert doc["model"]["name"] == "baseline" and "14" in doc["model"]["reason"]
    # as of the end of the dataset: the local midnight after its last complete day
    assert doc["issued_at"].endswith("18:30:00Z")  # midnight in Asia/Kolkata
    assert doc["hours"][0]["ts"].endswith("19:00:00Z")  # the first whole UTC hour after it
    assert doc["model"]["currency"] == "INR" and doc["model"]["carbon"]["zone"] == "IN"
    for hour in doc["hours"]:
        p = hour["power_kw"]
        assert 0 <= p["p10"] <= p["p50"] <= p["p90"]
        assert hour["cost"] > 0 and hour["co2_kg"] > 0
    default = client.get("/api/v1/households/A/forecast")
    assert default.status_code == 200 and len(default.json["hours"]) == 24


@pytest.mark.parametrize("horizon", ["0", "169", "2.5", "abc", "-1", ""])
def test_forecast_horizon_outside_1_to_168_is_400(client, horizon: str) -> None:  # noqa: ANN001
    r = client.get(f"/api/v1/households/A/forecast?horizon_h={horizon}")
    assert r.status_code == 400
    assert r.json["error"]["code"] == "invalid_parameter"
    assert "horizon_h must be a whole number of hours from 1 to 168" in r.json["error"]["message"]


@pytest.mark.parametrize("route", ["forecast", "tariff", "recommendations"])
def test_unknown_household_is_404(client, route: str) -> None:  # noqa: ANN001
    r = client.get(f"/api/v1/households/NOPE/{route}")
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_household"


@pytest.mark.parametrize("route", ["forecast", "tariff", "recommendations"])
def test_a_live_household_needs_its_key(client, live_key: str, route: str) -> None:  # noqa: ANN001
    r = client.get(f"/api/v1/households/L1/{route}")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


def test_live_household_without_history(client, live_key: str) -> None:  # noqa: ANN001
    """No readings yet: the forecast is a clear 409; recommendations an empty list and why."""
    r = client.get("/api/v1/households/L1/forecast", headers=auth(live_key))
    assert r.status_code == 409 and r.json["error"]["code"] == "not_enough_history"
    assert "no complete hour" in r.json["error"]["message"]
    r = client.get("/api/v1/households/L1/recommendations", headers=auth(live_key))
    assert r.status_code == 200
    assert r.json["recommendations"] == [] and "no readings yet" in r.json["note"]
    assert r.json["currency"] is None and r.json["tariff"] == "none"


# -- tariff -----------------------------------------------------------------------------------
def test_demo_household_gets_the_default_tariff_until_one_is_put(client, demo_key: str) -> None:  # noqa: ANN001
    r = client.get("/api/v1/households/A/tariff")
    assert r.status_code == 200
    assert r.json["source"] == "default" and r.json["revision"] == 0
    assert r.json["tariff"] == default_tariff("Asia/Kolkata").to_json()
    put = client.put("/api/v1/households/A/tariff", json=FLAT, headers=auth(demo_key))
    assert put.status_code == 200, put.json
    assert put.json["source"] == "stored" and put.json["revision"] == 1
    assert put.json["tariff"]["price_per_kwh"] == 0.25
    again = client.get("/api/v1/households/A/tariff")
    assert again.json["tariff"] == put.json["tariff"] and again.json["updated_at"]
    # what GET answers can be PUT back
    back = client.put(
        "/api/v1/households/A/tariff", json=again.json["tariff"], headers=auth(demo_key)
    )
    assert back.status_code == 200 and back.json["revision"] == 2


def test_put_tariff_needs_the_key(client, demo_key: str) -> None:  # noqa: ANN001
    r = client.put("/api/v1/households/A/tariff", json=FLAT)
    assert r.status_code == 401
    r = client.put("/api/v1/households/A/tariff", json=FLAT, headers=auth("gl_wrong"))
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {**FLAT, "currency": "XYZ"},
            "unknown currency 'XYZ': expected an ISO 4217 code",
        ),
        ({**FLAT, "price_per_kwh": -0.1}, "price_per_kwh: expected a number in [0, 1e+06]"),
        (
            {
                "type": "tou",
                "currency": "INR",
                "periods": [
                    {"name": "night", "start": "22:00", "end": "07:00", "price_per_kwh": 6},
                    {"name": "day", "start": "06:00", "end": "22:00", "price_per_kwh": 8},
                ],
            },
            "time-of-use periods overlap at 06:00 on weekdays ('night' and 'day')",
        ),
        (
            {
                "type": "tou",
                "currency": "INR",
                "periods": [
                    {"name": "night", "start": "22:00", "end": "06:00", "price_per_kwh": 6},
                    {"name": "day", "start": "07:00", "end": "22:00", "price_per_kwh": 8},
                ],
            },
            "time-of-use periods leave 06:00-07:00 uncovered on weekdays",
        ),
        ({"type": "flat", "currency": "EUR"}, "flat tariff lacks 'price_per_kwh'"),
        (
            {"type": "hourly", "currency": "EUR"},
            "type: input should be 'flat', 'tou', 'time_of_use' or 'dynamic', got 'hourly'",
        ),
        ({**FLAT, "fee": 1}, "unknown field fee"),
        ([1, 2], "expected a JSON object"),
        (
            {
                "type": "dynamic",
                "currency": "GBP",
                "prices": [{"ts": "2026-04-06T00:30:00Z", "price_per_kwh": 0.2}],
            },
            "dynamic price at 2026-04-06T00:30:00+00:00 is not at the start of an hour",
        ),
    ],
)
def test_bad_tariffs_are_400_naming_the_problem(
    client, demo_key: str, doc: object, message: str
) -> None:  # noqa: ANN001
    r = client.put("/api/v1/households/A/tariff", json=doc, headers=auth(demo_key))
    assert r.status_code == 400, r.json
    assert r.json["error"]["code"] == "invalid_parameter"
    assert message in r.json["error"]["message"]
    assert client.get("/api/v1/households/A/tariff").json["source"] == "default"


def test_a_tariff_put_prices_the_next_answers_at_once(client, demo_key: str) -> None:  # noqa: ANN001
    """No restart: the forecast's cost and the recommendations' money follow the new tariff."""
    before = client.get("/api/v1/households/A/forecast?horizon_h=24").json
    recs_before = client.get("/api/v1/households/A/recommendations").json
    assert before["model"]["currency"] == "INR" and recs_before["currency"] == "INR"
    flat = {"type": "flat", "currency": "INR", "price_per_kwh": 100.0}
    assert (
        client.put("/api/v1/households/A/tariff", json=flat, headers=auth(demo_key)).status_code
        == 200
    )
    after = client.get("/api/v1/households/A/forecast?horizon_h=24").json
    assert after["model"]["tariff"] == "flat"
    energy = [h["energy_kwh"]["p50"] for h in after["hours"]]
    assert_allclose([h["cost"] for h in after["hours"]], [100.0 * e for e in energy], rtol=1e-3)
    assert [h["power_kw"] for h in after["hours"]] == [h["power_kw"] for h in before["hours"]]
    recs_after = client.get("/api/v1/households/A/recommendations").json
    assert recs_after["tariff"] == "stored"
    for rec in recs_after["recommendations"]:
        saving = rec["saving_per_month"]
        if saving["money"] is not None and rec["id"] == "baseload":
            assert_allclose(saving["money"], saving["energy_kwh"] * 100.0, rtol=0.02)


# -- recommendations ----------------------------------------------------------------------------
def test_recommendations_of_a_demo_household(client) -> None:  # noqa: ANN001
    r = client.get("/api/v1/households/A/recommendations")
    assert r.status_code == 200, r.json
    doc = r.json
    assert doc["household"] == "A" and doc["currency"] == "INR" and doc["tariff"] == "default"
    assert doc["carbon"]["zone"] == "IN" and doc["history_days"] == pytest.approx(2, abs=0.1)
    # two days: too few for recommendations, and it says so
    assert doc["recommendations"] == [] and "at least 3 days" in doc["note"]


# -- readings gain cost and co2_kg ------------------------------------------------------------
def test_readings_rows_gain_energy_cost_and_co2(client, live_key: str) -> None:  # noqa: ANN001
    now = int(time.time())
    start = now - now % 3600 - 3600  # a whole hour, an hour ago
    readings = [
        {"ts": start + i, "power_kw": {"AC": 1.0, "Geyser": 0.0, "Overall": 3.6}}
        for i in range(0, 3600, 2)  # every other second: 1800 readings of 3.6 kW
    ]
    url = "/api/v1/households/L1/readings"
    assert client.post(url, json={"readings": readings}, headers=auth(live_key)).status_code == 200
    tariff = {"type": "flat", "currency": "EUR", "price_per_kwh": 0.5}
    assert (
        client.put("/api/v1/households/L1/tariff", json=tariff, headers=auth(live_key)).status_code
        == 200
    )
    span = f"from={start}&to={start + 3600}"
    hourly = client.get(f"{url}?resolution=1h&{span}", headers=auth(live_key)).json
    assert hourly["currency"] == "EUR" and hourly["carbon"]["zone"] == "FR"
    (row,) = hourly["readings"]
    # what was measured: 1800 s at 3.6 kW = 1.8 kWh (missing seconds add nothing)
    assert_allclose(row["energy_kwh"]["Overall"], 1.8)
    assert_allclose(row["cost"]["Overall"], 0.9)
    g = hourly["carbon"]["g_per_kwh"]
    assert_allclose(row["co2_kg"]["Overall"], 1.8 * g / 1000, rtol=1e-6)
    assert_allclose(row["energy_kwh"]["AC"], 0.5)
    minutes = client.get(f"{url}?resolution=1m&{span}", headers=auth(live_key)).json["readings"]
    assert len(minutes) == 60
    assert_allclose(sum(m["cost"]["Overall"] for m in minutes), 0.9)
    raw = client.get(
        f"{url}?resolution=raw&from={start}&to={start + 10}", headers=auth(live_key)
    ).json["readings"]
    assert len(raw) == 5
    for one in raw:  # a raw row is one 1-second reading
        assert_allclose(one["energy_kwh"]["Overall"], 3.6 / 3600)
        assert_allclose(one["cost"]["Overall"], 0.5 * 3.6 / 3600)


def test_time_of_use_prices_each_minute_of_a_row(client, live_key: str) -> None:  # noqa: ANN001
    """A row that spans a tariff boundary is priced in proportion (minute by minute)."""
    tou = {
        "type": "tou",
        "currency": "EUR",
        "timezone": "UTC",
        "periods": [
            {"name": "a", "start": "00:00", "end": "12:30", "price_per_kwh": 1.0},
            {"name": "b", "start": "12:30", "end": "24:00", "price_per_kwh": 3.0},
        ],
    }
    assert (
        client.put("/api/v1/households/L1/tariff", json=tou, headers=auth(live_key)).status_code
        == 200
    )
    day = int(time.time()) // 86400 * 86400 - 86400  # yesterday, UTC
    start = day + 12 * 3600
    readings = [{"ts": start + i, "power_kw": {"Overall": 3.6}} for i in range(3600)]
    url = "/api/v1/households/L1/readings"
    assert client.post(url, json={"readings": readings}, headers=auth(live_key)).status_code == 200
    (row,) = client.get(
        f"{url}?resolution=1h&from={start}&to={start + 3600}", headers=auth(live_key)
    ).json["readings"]
    assert_allclose(row["energy_kwh"]["Overall"], 3.6)
    assert_allclose(row["cost"]["Overall"], 1.8 * 1.0 + 1.8 * 3.0)
