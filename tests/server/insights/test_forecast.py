"""Forecasts: JSON shape, ordered quantiles, no look-ahead, the short-history baseline, horizons."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from generator.dataset import Dataset, HouseholdInfo, column_name, write_dataset
from server.cli import main
from server.insights.errors import ForecastError
from server.insights.features import HourGrid, feature_names
from server.insights.forecast import (
    ANCHOR_PERSISTENCE,
    _anchor,
    check_horizon,
    fit_model,
    forecast,
    hourly_history,
)
from server.insights.hourly import hourly_power_kw
from server.insights.tariff import default_tariff

from .helpers import TZ, household

AT = pd.Timestamp("2026-04-22T00:00:00", tz=TZ)  # 16 days into the data


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return household(days=20, seed=3)


@pytest.fixture(scope="module")
def result(frame) -> dict:
    return forecast(frame, TZ, AT, 30, default_tariff(), 713.0, household="T")


def test_json_shape_and_ordered_quantiles(result):
    assert list(result) == ["household", "issued_at", "model", "hours"]
    assert result["issued_at"] == "2026-04-21T18:30:00Z"
    model = result["model"]
    assert model["name"] == "hgb-quantile" and model["history_days"] == pytest.approx(16.0)
    assert model["currency"] == "INR" and model["carbon"]["g_per_kwh"] == 713.0
    hours = result["hours"]
    assert len(hours) == 30
    stamps = pd.DatetimeIndex([h["ts"] for h in hours])
    assert hours[0]["ts"] == "2026-04-21T19:00:00Z"  # the first whole hour after issue
    assert (np.diff(stamps) == pd.Timedelta(hours=1)).all()
    for h in hours:
        assert set(h) == {"ts", "power_kw", "energy_kwh", "cost", "co2_kg"}
        q = h["power_kw"]
        assert 0 <= q["p10"] <= q["p50"] <= q["p90"]
        assert h["energy_kwh"] == q
        price = default_tariff().hourly_prices(pd.DatetimeIndex([h["ts"]]))[0]
        assert h["cost"] == pytest.approx(q["p50"] * price, abs=1e-3)
        assert h["co2_kg"] == pytest.approx(q["p50"] * 0.713, abs=1e-3)


def test_p50_follows_the_household_pattern(result):
    p50 = pd.Series(
        [h["power_kw"]["p50"] for h in result["hours"]],
        index=pd.DatetimeIndex([h["ts"] for h in result["hours"]]).tz_convert(TZ).hour,
    )
    evening = p50[(p50.index >= 19) & (p50.index < 23)].mean()
    small_hours = p50[(p50.index >= 1) & (p50.index < 5)].mean()
    assert evening > small_hours + 0.2  # occupants' evening use over the always-on 0.08 kW


def test_readings_after_issue_do_not_move_the_forecast(frame, result):
    changed = frame.copy()
    after = changed.index >= AT
    rng = np.random.default_rng(9)
    changed.loc[after, "Overall"] = rng.uniform(0, 9, after.sum())
    again = forecast(changed, TZ, AT, 30, default_tariff(), 713.0, household="T")
    assert again == result


def test_cached_model_gives_the_same_forecast(frame, result):
    model = fit_model(hourly_history(frame, AT), TZ, AT)
    cached = forecast(frame, TZ, AT, 30, default_tariff(), 713.0, household="T", model=model)
    assert cached == result


def test_short_history_uses_the_seasonal_baseline(frame):
    at = pd.Timestamp("2026-04-16T00:00:00", tz=TZ)  # 10 days of readings
    out = forecast(frame, TZ, at, 24)
    assert out["model"]["name"] == "baseline"
    assert "10.0 days" in out["model"]["reason"] and "14" in out["model"]["reason"]
    hours = out["hours"]
    local = pd.DatetimeIndex([h["ts"] for h in hours]).tz_convert(TZ)
    history = hourly_power_kw(frame["Overall"], until=at)
    history_local = history.index.tz_convert(TZ)
    for h, when in zip(hours, local, strict=True):
        same = history[(history_local.hour == when.hour)]
        assert h["power_kw"]["p50"] == pytest.approx(same.mean(), abs=1e-3)
        assert h["power_kw"]["p10"] <= h["power_kw"]["p50"] <= h["power_kw"]["p90"]
        assert h["cost"] is None and h["co2_kg"] is None


def test_missing_readings_are_nan_not_zero(frame):
    holed = frame["Overall"].copy()
    holed.iloc[100:140] = np.nan  # 40 minutes of the hour from 20:00 UTC (the data start 18:30)
    hourly = hourly_power_kw(holed)
    assert np.isnan(hourly.iloc[2])  # fewer than half of the hour's minutes
    assert_allclose(hourly.iloc[1], frame["Overall"].iloc[30:90].mean())
    assert_allclose(hourly.iloc[0], frame["Overall"].iloc[:30].mean())  # half an hour counts


def test_models_start_from_the_same_hour_median_a_week_away_hardly_moves():
    # 30 days at 1.5 kW each hour, the last 9 of them (a week away) at 0.36 kW but one known
    # hour at 2 kW: the 28-day same-hour median stays at the usual level, the mean does not
    hours = pd.date_range("2026-03-01", periods=30 * 24, freq="h", tz="UTC")
    power = pd.Series(1.5, index=hours)
    power.iloc[-9 * 24 :] = 0.36
    power.iloc[-24] = 2.0
    grid = HourGrid(power, "UTC")
    target = pd.DatetimeIndex([hours[-1] + pd.Timedelta(hours=1)])
    x = grid.features(target, np.array([0]), season=False)
    row = dict(zip(feature_names(False, False), x[0], strict=True))
    assert row["median28_kw"] == pytest.approx(1.5)
    assert row["mean28_kw"] == pytest.approx((19 * 1.5 + 8 * 0.36 + 2.0) / 28)
    assert row["dev24_kw"] < -0.5  # the last day, away, below its 28-day means
    # the level the models learn from: the median plus half the last day's deviation
    assert _anchor(x)[0] == pytest.approx(1.5 + ANCHOR_PERSISTENCE * row["dev24_kw"])


@pytest.mark.parametrize("bad", [0, 169, -1, 1.5, "x", None])
def test_bad_horizon(bad):
    with pytest.raises(
        ForecastError, match=r"horizon_h must be a whole number of hours from 1 to 168"
    ):
        check_horizon(bad)


def test_no_history_is_an_error(frame):
    with pytest.raises(ForecastError, match="no readings"):
        forecast(frame, TZ, "2026-04-01T00:00:00Z", 24)


def _write(frame: pd.DataFrame, root, name: str):
    info = HouseholdInfo("T", "test", "test", TZ, tuple(frame.columns), 60, "test")
    table = frame.copy()
    table.columns = [column_name("T", c) for c in frame.columns]
    return write_dataset(Dataset({"T": info}, table), root / name)


def test_cli_forecast_ignores_readings_after_at(frame, tmp_path, capsys):
    changed = frame.copy()
    changed.loc[changed.index >= AT, "Overall"] *= 5.0
    outputs = []
    for name, data in (("a", frame), ("b", changed)):
        path = _write(data, tmp_path, name)
        argv = ["forecast", "--dataset", str(path), "--household", "T", "--at", AT.isoformat()]
        assert main([*argv, "--horizon-h", "6"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    assert len(outputs[0]["hours"]) == 6 and outputs[0]["hours"][0]["co2_kg"] is not None


@pytest.mark.parametrize("horizon", ["0", "169", "two"])
def test_cli_bad_horizon_exits_2(frame, tmp_path, capsys, horizon):
    path = _write(frame.iloc[: 1440 * 2], tmp_path, "small")
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "forecast",
                "--dataset",
                str(path),
                "--household",
                "T",
                "--at",
                "2026-04-07",
                "--horizon-h",
                horizon,
            ]
        )
    assert exit_info.value.code == 2
    assert "horizon_h must be a whole number of hours from 1 to 168" in capsys.readouterr().err


def test_cli_insights_prints_every_part(frame, tmp_path, capsys):
    path = _write(frame, tmp_path, "full")
    tariff = tmp_path / "tariff.json"
    tariff.write_text(json.dumps(default_tariff(TZ).to_json()))
    assert (
        main(["insights", "--dataset", str(path), "--household", "T", "--tariff", str(tariff)]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"household", "as_of", "history", "forecast", "recommendations"}
    assert doc["history"]["currency"] == "INR" and doc["history"]["carbon"]["zone"] == "IN"
    assert doc["history"]["cost"] > doc["history"]["energy_cost"] > 0
    assert isinstance(doc["recommendations"], list)
