"""``GET …/forecast/accuracy``: the day-ahead forecast issued at a day's local midnight beside the
day's metered energy, and its errors, checked against numbers computed here from the dataset's
1-second readings (not through the insights code).

Household A of the server tests' dataset has two days (Asia/Kolkata, from 2026-01-05 local
midnight = 2026-01-04T18:30Z); its last complete day, 2026-01-06, is "yesterday". With one day of
history before it the forecast is the same-hour baseline: each hour's P50 is the same hour a day
earlier.
"""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from numpy.testing import assert_allclose

URL = "/api/v1/households/{h}/forecast/accuracy"


def independent_hourly(dataset) -> pd.Series:  # noqa: ANN001
    """Mean Overall power of each UTC hour with at least half its seconds [kW] (= kWh), only
    hours complete by the end of the data's last local day."""
    overall = dataset.frame("A")["Overall"]
    grouped = overall.groupby(overall.index.floor("h"))
    means = grouped.mean()[grouped.count() >= 1800]
    end = pd.Timestamp("2026-01-06T18:30:00Z")  # local midnight ending the dataset
    return means[means.index + pd.Timedelta(hours=1) <= end]


def test_yesterdays_forecast_beside_what_happened(client, dataset) -> None:  # noqa: ANN001
    r = client.get(URL.format(h="A"))
    assert r.status_code == 200, r.json
    doc = r.json
    assert doc["day"] == "2026-01-06" and doc["timezone"] == "Asia/Kolkata"
    assert doc["issued_at"] == "2026-01-05T18:30:00Z"  # that day's local midnight
    assert doc["model"]["name"] == "baseline" and doc["model"]["trained_at"] == doc["issued_at"]
    # the UTC hours starting within the local day: 19:00Z .. 18:00Z (00:30 .. 00:30 local)
    ts = [h["ts"] for h in doc["hours"]]
    assert len(ts) == 24 and ts[0] == "2026-01-05T19:00:00Z" and ts[-1] == "2026-01-06T18:00:00Z"
    hourly = independent_hourly(dataset)
    # the last hour ends 30 min after the data: unknown, null, and left out of the errors
    assert doc["hours"][-1]["actual_kwh"] is None
    compared = [h for h in doc["hours"] if h["actual_kwh"] is not None]
    assert doc["hours_compared"] == len(compared) == 23
    times = pd.DatetimeIndex([pd.Timestamp(h["ts"]) for h in compared])
    actual = hourly.reindex(times).to_numpy()
    forecast = hourly.reindex(times - pd.Timedelta(hours=24)).to_numpy()  # the day before
    assert_allclose([h["actual_kwh"] for h in compared], actual, atol=1e-4)
    assert_allclose([h["forecast_kwh"]["p50"] for h in compared], forecast, atol=1e-4)
    for hour in doc["hours"]:
        band = hour["forecast_kwh"]
        assert 0 <= band["p10"] <= band["p50"] <= band["p90"]
    wape = 100 * abs(forecast - actual).sum() / actual.sum()
    daily = 100 * (forecast.sum() - actual.sum()) / actual.sum()
    assert_allclose(doc["wape_pct"], wape, atol=0.02)
    assert_allclose(doc["daily_energy_error_pct"], daily, atol=0.02)
    assert_allclose(doc["actual_kwh"], actual.sum(), atol=1e-3)
    assert_allclose(doc["forecast_kwh"], forecast.sum(), atol=1e-3)
    inside = ((actual >= forecast - 1e-4) & (actual <= forecast + 1e-4)).mean()  # band = P50 here
    assert_allclose(doc["band_coverage_pct"], 100 * inside, atol=0.1)
    assert wape > 0  # the days differ: a forecast equal to the actual would hide a mix-up

    # the same day asked for by date: the same answer (cached)
    again = client.get(URL.format(h="A") + "?day=2026-01-06")
    assert again.status_code == 200 and again.json == doc


def test_a_day_without_history_before_it_is_409(client) -> None:  # noqa: ANN001
    r = client.get(URL.format(h="A") + "?day=2026-01-05")  # the dataset's first day
    assert r.status_code == 409 and r.json["error"]["code"] == "not_enough_history"
    assert "before 2026-01-05" in r.json["error"]["message"]


@pytest.mark.parametrize("day", ["2026-13-01", "2026-02-30", "yesterday", "20260106", "", "1-1-1"])
def test_a_bad_day_is_400_naming_it(client, day: str) -> None:  # noqa: ANN001
    r = client.get(URL.format(h="A") + f"?day={day}")
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_parameter"
    assert r.json["error"]["message"].startswith("day must be a date YYYY-MM-DD")


@pytest.mark.parametrize("day", ["0338-08-16", "1969-12-31", "0001-01-01"])
def test_a_day_before_1970_is_400(client, day: str) -> None:  # noqa: ANN001
    r = client.get(URL.format(h="A") + f"?day={day}")
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_parameter"
    assert r.json["error"]["message"] == f"day must be 1970-01-02 or later, got '{day}'"


@pytest.mark.parametrize("day", ["2026-01-07", "2099-01-01"])
def test_a_day_not_over_yet_is_400(client, day: str) -> None:  # noqa: ANN001
    r = client.get(URL.format(h="A") + f"?day={day}")
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_parameter"
    message = r.json["error"]["message"]
    assert message.startswith(f"day: {day} is not over yet") and "2026-01-06" in message


def test_unknown_household_is_404(client) -> None:  # noqa: ANN001
    r = client.get(URL.format(h="NOPE"))
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_household"


def test_a_live_household_needs_its_key_and_history(client, live_key: str) -> None:  # noqa: ANN001
    assert client.get(URL.format(h="L1")).status_code == 401
    r = client.get(URL.format(h="L1"), headers={"Authorization": f"Bearer {live_key}"})
    assert r.status_code == 409 and r.json["error"]["code"] == "not_enough_history"


def test_the_forecast_is_computed_off_the_request_and_cached(app, client) -> None:  # noqa: ANN001
    """While the day's forecast is being fitted the request waits at most INSIGHTS_WAIT_S, then
    answers 503 with Retry-After; the job goes on, and its answer is served from then on."""
    service = app.extensions["insights"].service
    client.get("/api/v1/households/A/forecast")  # the household's readings are loaded
    gate = threading.Event()
    started = threading.Event()
    calls: list[int] = []

    def gated(fn):  # noqa: ANN001, ANN202 - the trainer's runner, held until the test opens it
        calls.append(1)
        started.set()
        assert gate.wait(30), "the test never opened the gate"
        return fn()

    service.trainer.runner = gated
    service.wait_s = 0.05
    r = client.get(URL.format(h="A"))
    assert r.status_code == 503 and r.json["error"]["code"] == "insights_not_ready"
    assert r.headers["Retry-After"] == "5" and "2026-01-06" in r.json["error"]["message"]
    assert started.wait(30)
    r = client.get(URL.format(h="A"))  # the same job is still running: not started again
    assert r.status_code == 503 and len(calls) == 1
    gate.set()
    service.wait_s = 30.0
    r = client.get(URL.format(h="A"))
    assert r.status_code == 200 and r.json["day"] == "2026-01-06" and len(calls) == 1
    assert client.get(URL.format(h="A")).json == r.json and len(calls) == 1  # cached


def test_a_forgotten_household_leaves_no_accuracy_behind(app, client) -> None:  # noqa: ANN001
    """An erased household's past forecasts and metered hours go with it: the cached answer
    and an answer still being computed (it finishes into nothing)."""
    service = app.extensions["insights"].service
    assert client.get(URL.format(h="A")).status_code == 200
    assert any(k[0] == "A" for k in service._accuracy)
    service.forget("A")
    assert not any(k[0] == "A" for k in service._accuracy)

    client.get("/api/v1/households/A/forecast")  # the household's readings are loaded again
    gate = threading.Event()
    started = threading.Event()

    def gated(fn):  # noqa: ANN001, ANN202
        started.set()
        assert gate.wait(30), "the test never opened the gate"
        return fn()

    service.trainer.runner = gated
    service.wait_s = 0.05
    assert client.get(URL.format(h="A")).status_code == 503
    assert started.wait(30)
    (job,) = [j for k, j in service._accuracy_jobs.items() if k[0] == "A"]
    service.forget("A")
    assert not any(k[0] == "A" for k in service._accuracy_jobs)
    gate.set()
    assert job.done.wait(30)
    assert not any(k[0] == "A" for k in service._accuracy)
