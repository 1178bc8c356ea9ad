"""The Disaggregator itself: held-out accuracy against the baselines, the model file and its
header, live tail estimates equal to the offline ones, and resampling finer readings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from server.nilm import (
    Disaggregator,
    NilmError,
    evaluate,
    load_channels,
    read_header,
    scores,
)
from server.nilm.data import to_resolution
from tests.server.nilm.conftest import UNTIL


@pytest.mark.parametrize("appliance", ["AC", "Geyser"])
def test_beats_the_baselines_on_a_held_out_period(nilm_dir, appliance):
    report = evaluate(nilm_dir, "A", appliance, UNTIL)
    assert report["test"]["start"] == UNTIL.isoformat()
    assert pd.Timestamp(report["train"]["end"]) < UNTIL
    assert set(report["baselines"]) == {
        "current_reading_gbm",
        "combinatorial",
        "mean_share",
        "always_off",
    }
    for name, base in report["baselines"].items():
        assert report["f1"] > base["f1"], name
        assert report["mae_w"] < base["mae_w"], name
    assert report["f1"] >= 0.9
    assert report["energy_share_error"] <= 0.1
    assert report["beats_baselines"] == {"f1": True, "mae_w": True}


def test_scores_count_on_samples_above_the_threshold():
    true_w = np.array([0.0, 0.0, 1000.0, 1000.0, np.nan])
    est_w = np.array([0.0, 200.0, 900.0, 0.0, 5.0])
    overall_w = np.full(5, 2000.0)
    got = scores(true_w, est_w, overall_w, on_threshold_w=100.0)
    # tp=1 (900), fp=1 (200), fn=1 (0 for 1000); the NaN truth is skipped.
    assert got["f1"] == pytest.approx(0.5) and got["precision"] == pytest.approx(0.5)
    assert got["mae_w"] == pytest.approx((0 + 200 + 100 + 1000) / 4)
    assert got["energy_share_error"] == pytest.approx(abs(1100 - 2000) / 2000)
    assert got["energy_share_true"] == pytest.approx(2000 / 8000)


def test_model_file_round_trip(ac_model, nilm_dir, tmp_path):
    path = ac_model.save(tmp_path / "ac.model")
    header = read_header(path)
    assert header["appliance"] == "AC" and header["resolution_s"] == 60
    assert header["trained_on"]["household"] == "A"
    assert header["trained_on"]["archetype"] == "day-worker"
    assert header["features_version"] == ac_model.spec.version
    assert pd.Timestamp(header["training_period"]["end"]) < UNTIL
    assert header["on_threshold_w"] > 10
    json.dumps(header, allow_nan=False)
    loaded = Disaggregator.load(path)
    overall = load_channels(nilm_dir, "B", ["Overall"]).frame["Overall"]
    assert_allclose(
        loaded.estimate(overall, "Asia/Kolkata", 60).to_numpy(),
        ac_model.estimate(overall, "Asia/Kolkata", 60).to_numpy(),
    )


def test_not_a_model_file(tmp_path):
    bogus = tmp_path / "x.model"
    bogus.write_bytes(b"hello\n")
    with pytest.raises(NilmError, match="not a Gridlight disaggregation model"):
        Disaggregator.load(bogus)
    with pytest.raises(NilmError, match="cannot read the model file"):
        read_header(tmp_path / "missing.model")


@pytest.mark.parametrize("fixture", ["causal_model", "ac_model"])
def test_predict_tail_equals_the_offline_estimate(nilm_dir, fixture, request):
    model = request.getfixturevalue(fixture)
    overall = load_channels(nilm_dir, "A", ["Overall"]).frame["Overall"]
    offline = model.estimate(overall, "Asia/Kolkata", 60)
    values = overall.to_numpy()
    n = model.context_samples
    checked = 0
    for end in range(n + 100, len(values), 997):
        tail = model.predict_tail(values[end - n : end], overall.index[end - 1], "Asia/Kolkata")
        assert tail.ts == overall.index[end - 1] - pd.Timedelta(seconds=model.lag_s)
        assert tail.power_kw == pytest.approx(offline[tail.ts], abs=1e-6)
        checked += 1
    assert checked >= 5
    assert model.lag_s == (0 if fixture == "causal_model" else 7200)
    with pytest.raises(NilmError, match=f"needs the last {n} readings"):
        model.predict_tail(values[:10], overall.index[9], "Asia/Kolkata")


def test_finer_readings_are_averaged_onto_the_model_grid(ac_model, nilm_dir):
    coarse = load_channels(nilm_dir, "A", ["Overall"]).frame
    # 30 s readings whose 1-minute averages are the original series.
    fine_index = pd.date_range(coarse.index[0], periods=2 * len(coarse), freq="30s")
    wiggle = np.tile([0.01, -0.01], len(coarse))
    fine = pd.Series(np.repeat(coarse["Overall"].to_numpy(), 2) + wiggle, index=fine_index)
    assert_allclose(to_resolution(fine.to_frame("Overall"), 60)["Overall"], coarse["Overall"])
    est_fine = ac_model.estimate(fine, "Asia/Kolkata", 30)
    est = ac_model.estimate(coarse["Overall"], "Asia/Kolkata", 60)
    expected = np.minimum(np.repeat(est.to_numpy(), 2), fine.to_numpy())
    assert_allclose(est_fine.to_numpy(), expected)


def test_coarser_readings_are_refused(ac_model, nilm_dir):
    overall = load_channels(nilm_dir, "A", ["Overall"]).frame["Overall"]
    hourly = to_resolution(overall.to_frame("Overall"), 120)["Overall"]
    with pytest.raises(NilmError, match="readings at 120 s are coarser than the model's 60 s"):
        ac_model.estimate(hourly, "Asia/Kolkata", 120)
    with pytest.raises(NilmError, match="readings at 40 s do not divide the model's 60 s"):
        ac_model.estimate(overall, "Asia/Kolkata", 40)


def test_estimates_stay_within_the_whole_house_and_keep_gaps(ac_model, nilm_dir):
    overall = load_channels(nilm_dir, "A", ["Overall"]).frame["Overall"].copy()
    overall.iloc[3000:3100] = np.nan
    est = ac_model.estimate(overall, "Asia/Kolkata", 60)
    assert est.iloc[3000:3100].isna().all()
    ok = overall.notna()
    assert est[ok].notna().all()
    assert (est[ok] <= overall[ok] + 1e-12).all() and (est[ok] >= 0).all()


@pytest.mark.parametrize("fixture", ["ac_model", "causal_model"])
def test_the_binned_on_off_classification_equals_predict(nilm_dir, fixture, request):
    """``classify_on`` (the trees on the bins, twice as fast) answers as ``predict`` does, missing
    readings included; an estimator it does not know is simply asked to ``predict``."""
    from server.nilm.features import build_features, hour_of_day
    from server.nilm.model import classify_on

    model = request.getfixturevalue(fixture)
    overall = load_channels(nilm_dir, "A", ["Overall"]).frame["Overall"]
    overall_w = overall.to_numpy() * 1000.0
    overall_w[100:160] = np.nan
    x, _ = build_features(overall_w, hour_of_day(overall.index, "Asia/Kolkata"), model.spec)
    expected = model.classifier.predict(x).astype(bool)
    assert 0 < expected.sum() < expected.size
    assert np.array_equal(classify_on(model.classifier, x), expected)

    class Plain:
        def predict(self, rows: np.ndarray) -> np.ndarray:
            return rows[:, 0] > 1000.0

    assert np.array_equal(classify_on(Plain(), x), x[:, 0] > 1000.0)
