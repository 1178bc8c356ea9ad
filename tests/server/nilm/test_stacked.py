"""The second stage (``stacked``): trained on out-of-fold first-stage probabilities, saved and
loaded with the model, its live ``predict_tail`` equal to the offline estimate (centred and
causal), and ``on_probability`` equal to scikit-learn's ``predict_proba``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from server.nilm import Disaggregator, load_channels, train_from_dataset
from server.nilm.features import build_features, hour_of_day
from server.nilm.model import on_probability
from tests.server.nilm.conftest import UNTIL


@pytest.fixture(scope="module", params=[False, True], ids=["centred", "causal"])
def stacked_model(nilm_dir, request) -> Disaggregator:
    return train_from_dataset(nilm_dir, "A", "AC", until=UNTIL, stacked=True, causal=request.param)


def test_stacked_header_lag_and_context(stacked_model):
    assert stacked_model.header["stacked"] is True and stacked_model.stacker is not None
    names = stacked_model.header["feature_names"]
    assert "trend_mean_86400s" in names and "trend_mean_21600s" in names
    spec = stacked_model.spec
    assert spec.stack_halves() == [1, 2, 7, 15, 30, 60, 120]
    # centred: two hours of features plus the second stage's two hours; causal: none
    assert stacked_model.lag_s == (0 if spec.causal else 4 * 3600)
    # ... and the memory: four hours, the 10-minute minimum filter and the level before a step
    memory = 240 + 10 + 2
    assert stacked_model.context_samples == 2 * 120 + 5 + 1 + 1440 + 2 * 120 + memory


def test_stacked_predict_tail_equals_the_offline_estimate(stacked_model, nilm_dir):
    overall = load_channels(nilm_dir, "B", ["Overall"]).frame["Overall"].copy()
    overall.iloc[9000:9030] = np.nan  # a gap inside some tails' windows
    offline = stacked_model.estimate(overall, "Asia/Kolkata", 60)
    assert offline.notna().sum() == overall.notna().sum()
    values = overall.to_numpy()
    n = stacked_model.context_samples
    checked = 0
    for end in [*range(n + 30, len(values), 613), 9100, 9200]:
        tail = stacked_model.predict_tail(
            values[end - n : end], overall.index[end - 1], "Asia/Kolkata"
        )
        assert tail.ts == overall.index[end - 1] - pd.Timedelta(seconds=stacked_model.lag_s)
        expected = offline[tail.ts]
        if np.isnan(expected):
            assert np.isnan(tail.power_kw)
        else:
            assert tail.power_kw == pytest.approx(expected, abs=1e-6)
            checked += 1
    assert checked >= 10


def test_stacked_model_file_round_trip(stacked_model, nilm_dir, tmp_path):
    path = stacked_model.save(tmp_path / "stacked.model")
    loaded = Disaggregator.load(path)
    assert loaded.stacker is not None and loaded.header == stacked_model.header
    overall = load_channels(nilm_dir, "A", ["Overall"]).frame["Overall"]
    assert_allclose(
        loaded.estimate(overall, "Asia/Kolkata", 60),
        stacked_model.estimate(overall, "Asia/Kolkata", 60),
    )


def test_on_probability_equals_predict_proba(stacked_model, nilm_dir):
    overall = load_channels(nilm_dir, "A", ["Overall"]).frame["Overall"]
    hours = hour_of_day(overall.index, "Asia/Kolkata")
    x, _ = build_features(overall.to_numpy() * 1000.0, hours, stacked_model.spec)
    x[::50, 3] = np.nan
    expected = stacked_model.classifier.predict_proba(x)[:, 1]
    assert_allclose(on_probability(stacked_model.classifier, x), expected, rtol=1e-9, atol=1e-12)


def test_an_unstacked_model_is_unchanged(ac_model):
    """Without ``stacked`` (the default) nothing of the second stage is built or stored."""
    assert ac_model.stacker is None and ac_model.header["stacked"] is False
    assert ac_model.spec.stack_half_s == () and ac_model.spec.trend_windows_s == ()
    assert ac_model.lag_s == 7200 and ac_model.context_samples == 2 * 120 + 5 + 1 + 240 + 10 + 2
