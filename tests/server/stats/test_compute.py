"""compute_stats: percentiles, the 1% critical value, the on/off model, JSON."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats as sst

from server.stats import (
    EmptyChannelError,
    HouseholdStats,
    StatsInputError,
    classify,
    compute_stats,
)
from server.stats import tail as tail_module


def frame_of(values: dict[str, np.ndarray], resolution_s: int = 60) -> pd.DataFrame:
    n = len(next(iter(values.values())))
    index = pd.date_range("2026-03-02", periods=n, freq=f"{resolution_s}s", tz="UTC")
    return pd.DataFrame(values, index=index)


def test_continuous_channel_fits_the_tail_near_the_true_quantile():
    rng = np.random.default_rng(1)
    x = sst.gamma.rvs(2.0, scale=0.8, size=40_000, random_state=rng)
    stats = compute_stats(frame_of({"Overall": x}), 60)
    s = stats.channels["Overall"]
    truth = sst.gamma.ppf(0.99, 2.0, scale=0.8)
    assert s.method.startswith("fit: ")
    assert s.distribution in {"genpareto", "expon", "gamma", "lognorm", "weibull_min"}
    assert_allclose(s.critical_kw, truth, rtol=0.06)
    assert_allclose([s.p25_kw, s.median_kw, s.p75_kw], np.quantile(x, [0.25, 0.5, 0.75]))
    assert_allclose(s.empirical_p99_kw, np.quantile(x, 0.99))
    assert s.n_samples == x.size
    assert set(s.goodness_of_fit) >= {"ks_statistic", "ks_pvalue"}
    assert 0.005 < np.mean(x >= s.critical_kw) < 0.02


def test_appliance_threshold_sits_above_its_on_plateau():
    rng = np.random.default_rng(2)
    n = 30_000
    on = rng.random(n) < 0.35
    x = np.where(on, rng.normal(1.5, 0.03, n), 0.0)
    s = compute_stats(frame_of({"AC": x}), 60).channels["AC"]
    assert s.method.startswith("on/off: p_on=0.35")
    assert_allclose(s.p_on, 0.35, atol=0.01)
    # The usual on level (1.5 kW ± noise) is never red; a reading well above it is.
    assert s.critical_kw > np.quantile(x[on], 0.995)
    assert s.critical_kw <= 1.5 * x.max()
    levels = classify(compute_stats(frame_of({"AC": x}), 60), {"AC": 1.5})
    assert levels == {"AC": "yellow"}


def test_constant_channel_gets_usable_thresholds():
    n = 5000
    stats = compute_stats(frame_of({"Geyser": np.zeros(n), "Overall": np.linspace(0.1, 3, n)}), 60)
    g = stats.channels["Geyser"]
    assert (g.p25_kw, g.median_kw, g.p75_kw) == (0.0, 0.0, 0.0)
    assert g.critical_kw > 0 and g.method.startswith("constant")
    levels = classify(stats, pd.DataFrame({"Geyser": [0.0, 0.02, 2.0, np.nan, -1.0]}))
    assert list(levels["Geyser"]) == ["green", "yellow", "red", "critical", "critical"]
    text = json.dumps(stats.to_json(), allow_nan=False)  # no NaN or Infinity anywhere
    assert '"Geyser"' in text


def test_fit_that_disagrees_with_the_empirical_quantile_falls_back(monkeypatch):
    # An exponential tail on bounded (uniform) data overshoots the empirical 99th percentile.
    monkeypatch.setattr(tail_module, "TAIL_CANDIDATES", ("expon",))
    monkeypatch.setattr(tail_module, "AGREE_REL", 0.0)
    x = np.random.default_rng(3).uniform(0.0, 1.0, 20_000)
    s = compute_stats(frame_of({"Overall": x}), 60).channels["Overall"]
    assert s.method.startswith("empirical quantile: fitted expon gave")
    assert s.distribution == "expon"
    assert_allclose(s.critical_kw, np.quantile(x, 0.99))


def test_to_json_has_the_compatibility_keys_and_round_trips():
    rng = np.random.default_rng(4)
    frame = frame_of({"Overall": rng.gamma(2.0, 0.5, 3000), "AC": np.zeros(3000)})
    stats = compute_stats(frame, 60, timezone="Europe/Paris", fingerprint="abc123")
    body = json.loads(json.dumps(stats.to_json(), allow_nan=False))
    for key in ("25p", "median", "75p", "rt_critical_value_0.01", "best_distribution"):
        assert set(body[key]) == {"Overall", "AC"}
    assert body["interval_s"] == 60 and body["by_hour"] is False
    assert body["fingerprint"] == "abc123" and body["n_samples"] == {"Overall": 3000, "AC": 3000}
    for extra in ("method", "params", "empirical_p99", "goodness_of_fit"):
        assert extra in body["channels"]["Overall"]
    assert HouseholdStats.from_json(body) == stats


def test_deterministic():
    x = np.random.default_rng(5).lognormal(0.0, 0.6, 50_000)
    a = compute_stats(frame_of({"Overall": x}), 60).to_json()
    b = compute_stats(frame_of({"Overall": x}), 60).to_json()
    assert a == b


def test_interval_shorter_than_resolution_uses_the_resolution():
    stats = compute_stats(frame_of({"Overall": np.arange(100.0)}), 5, fit=False)
    assert (stats.interval_s, stats.requested_interval_s, stats.resolution_s) == (60, 5, 60)
    assert "shorter than the data's 60 s resolution" in stats.notes[0]


def test_averages_at_the_interval(day_worker):
    stats = compute_stats(day_worker[["Overall"]], 300, fit=False)
    assert stats.channels["Overall"].n_samples == 7 * 288
    means = day_worker["Overall"].resample("300s").mean()
    assert_allclose(stats.channels["Overall"].median_kw, means.median())


@pytest.mark.parametrize(
    ("interval", "match"),
    [(0, "positive"), (-5, "positive"), (True, "whole number"), (2.5, "whole number")],
)
def test_bad_interval(interval, match):
    with pytest.raises(StatsInputError, match=match):
        compute_stats(frame_of({"Overall": np.ones(10)}), interval)


def test_interval_longer_than_the_data():
    with pytest.raises(StatsInputError, match=r"interval 7200 s is longer than the data \(600 s"):
        compute_stats(frame_of({"Overall": np.ones(10)}), 7200)


def test_empty_channel_and_empty_history():
    with pytest.raises(EmptyChannelError, match="channel 'Geyser' has no readings"):
        compute_stats(frame_of({"Overall": np.ones(10), "Geyser": np.full(10, np.nan)}), 60)
    with pytest.raises(StatsInputError, match="empty"):
        compute_stats(frame_of({"Overall": np.ones(10)}).iloc[:0], 60)
    with pytest.raises(StatsInputError, match="unknown time zone 'Mars/Olympus'"):
        compute_stats(frame_of({"Overall": np.ones(10)}), 60, timezone="Mars/Olympus")


def test_by_hour_thresholds_follow_the_local_routine(day_worker):
    stats = compute_stats(day_worker, 60, timezone="Asia/Kolkata", by_hour=True)
    assert sorted(stats.hours["AC"]) == list(range(24))
    # Weekday 15:00 in Kolkata (09:30 UTC): the home is empty, AC at 1.5 kW is unusual.
    weekday_3pm = pd.Timestamp("2026-06-10 15:00", tz="Asia/Kolkata")
    weekday_9pm = pd.Timestamp("2026-06-10 21:00", tz="Asia/Kolkata")
    assert classify(stats, {"AC": 1.5}, ts=weekday_3pm)["AC"] == "red"
    assert classify(stats, {"AC": 1.5}, ts=weekday_9pm)["AC"] in {"green", "yellow"}
    assert classify(stats, {"AC": 1.45}, ts=weekday_9pm)["AC"] == "green"
    # Without by_hour, the same reading at 15:00 is not red (AC is common overall).
    flat = compute_stats(day_worker, 60, timezone="Asia/Kolkata")
    assert classify(flat, {"AC": 1.5}, ts=weekday_3pm)["AC"] != "red"
    assert json.dumps(stats.to_json(), allow_nan=False)


def test_fitting_prints_nothing(capsys):
    x = np.random.default_rng(6).gamma(2.0, 0.5, 20_000)
    compute_stats(frame_of({"Overall": x}), 60)
    out = capsys.readouterr()
    assert (out.out, out.err) == ("", "")


def test_channel_that_is_always_off_but_not_constant():
    x = np.where(np.arange(2000) % 7 == 0, 0.004, 0.0)  # standby flicker below the off level
    s = compute_stats(frame_of({"Geyser": x}), 60).channels["Geyser"]
    assert s.method.startswith("off: never above") and s.p_on == 0.0
    assert_allclose(s.critical_kw, 0.054)


EDGE_CASES = {
    "one value": np.array([1.2]),
    "two values": np.array([0.5, 2.0] * 50),
    "rare appliance": np.r_[np.zeros(9900), np.full(100, 2.0)],
    "very rare appliance": np.r_[np.zeros(9990), np.linspace(1.0, 3.0, 10)],
    "quantised": np.random.default_rng(8).integers(0, 5, 5000) * 0.06,
    "large": np.random.default_rng(9).gamma(3.0, 10.0, 5000),
    "tiny": np.random.default_rng(10).gamma(2.0, 1e-4, 5000),
    "heavy tail": np.random.default_rng(11).pareto(1.5, 5000),
    "with gaps": np.where(np.arange(5000) % 3 == 0, np.nan, np.linspace(0, 4, 5000)),
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_thresholds_are_ordered_and_json_safe(name):
    x = EDGE_CASES[name]
    stats = compute_stats(frame_of({"P": x}), 60, resolution_s=60)
    s = stats.channels["P"]
    finite = x[np.isfinite(x)]
    assert s.p25_kw <= s.median_kw <= s.p75_kw < s.critical_kw
    assert s.critical_kw <= max(1.5 * finite.max(), finite.max() + 0.05)
    json.dumps(stats.to_json(), allow_nan=False)
    assert classify(stats, {"P": s.p75_kw}) == {"P": "green"}
    assert classify(stats, {"P": s.critical_kw}) == {"P": "red"}


def test_compressor_plateau_above_a_fan_level():
    # AC: off, fan only (0.04 kW) or compressor running (about 1.45 kW); the fan dilutes the
    # on-values, yet the compressor's usual draw must not be red.
    rng = np.random.default_rng(12)
    state = rng.choice(3, size=40_000, p=[0.7, 0.2, 0.1])
    x = np.choose(state, [np.zeros(40_000), np.full(40_000, 0.04), rng.normal(1.45, 0.04, 40_000)])
    s = compute_stats(frame_of({"AC": x}), 60).channels["AC"]
    assert "main on level" in s.method
    assert s.critical_kw > np.quantile(x[state == 2], 0.99)
    assert s.critical_kw < 3.0  # a real surge (x2) is still red
