"""Models for households they were not trained on: several households pooled (``train
--household A --household B``), the ``transfer`` features (no hour of day, levels relative to
their surrounding steps), ``evaluate --train-household``, and the live ``predict_tail`` of
such a model equal to its offline estimate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from server.cli import main
from server.nilm import Disaggregator, FeatureSpec, NilmError, build_features, load_channels
from server.nilm.apply import train_from_dataset
from tests.server.nilm.conftest import UNTIL


@pytest.fixture(scope="module", params=[False, True], ids=["centred", "causal"])
def transfer_model(nilm_dir, request) -> Disaggregator:
    return train_from_dataset(
        nilm_dir, ["A", "B"], "AC", until=UNTIL, transfer=True, causal=request.param
    )


def test_pooled_training_from_the_cli(nilm_dir, tmp_path, capsys):
    out = tmp_path / "ab-ac.model"
    args = ["nilm", "train", "--dataset", str(nilm_dir), "--household", "A", "--household", "B"]
    args += ["--appliance", "AC", "--until", UNTIL.isoformat(), "--transfer", "--out", str(out)]
    assert main(args) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["trained_on"]["household"] == "A+B"
    assert body["trained_on"]["households"] == ["A", "B"]
    assert body["trained_on"]["archetype"] == "day-worker+office"
    assert body["transfer"] is True
    assert body["features"]["calendar"] is False and body["features"]["relative_steps"] is True
    one = train_from_dataset(nilm_dir, "A", "AC", until=UNTIL)
    assert body["training_period"]["samples"] > 1.9 * one.header["training_period"]["samples"]
    loaded = Disaggregator.load(out)
    assert "hour" not in loaded.header["feature_names"]
    assert "edge_rise_w" in loaded.header["feature_names"]
    # a model file from before these options (no calendar/relative_steps keys) reads as before
    assert "hour" in one.header["feature_names"] and one.header["transfer"] is False
    legacy = {k: v for k, v in one.header["features"].items()}
    del legacy["calendar"], legacy["relative_steps"]
    assert FeatureSpec.from_json(legacy) == one.spec


def test_pooling_refuses_a_household_twice_and_mixed_resolutions(nilm_dir):
    with pytest.raises(NilmError, match="household listed twice"):
        train_from_dataset(nilm_dir, ["A", "A"], "AC", until=UNTIL)
    a = load_channels(nilm_dir, "A", ["Overall", "AC"])
    b = load_channels(nilm_dir, "B", ["Overall", "AC"])
    coarse = b.info.__class__(**{**b.info.__dict__, "resolution_s": 120})
    with pytest.raises(NilmError, match="household 'B' is at 120 s, not 60 s"):
        Disaggregator.fit_pooled([(a.frame, a.info), (b.frame, coarse)], "AC")


def test_evaluate_on_a_household_not_trained_on(nilm_dir, capsys):
    args = ["nilm", "evaluate", "--dataset", str(nilm_dir), "--household", "A"]
    args += ["--appliance", "AC", "--train-until", UNTIL.isoformat(), "--train-household", "B"]
    assert main([*args, "--transfer"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["household"] == "A" and body["trained_on"] == "B" and body["transfer"] is True
    assert 0.0 <= body["f1"] <= 1.0 and set(body["baselines"]) >= {"combinatorial", "mean_share"}


def test_transfer_predict_tail_equals_the_offline_estimate(transfer_model, nilm_dir):
    overall = load_channels(nilm_dir, "A", ["Overall"]).frame["Overall"]
    # a time zone the model never saw changes nothing: it has no hour of day
    offline = transfer_model.estimate(overall, "America/Chicago", 60)
    assert_allclose(offline, transfer_model.estimate(overall, "Asia/Kolkata", 60))
    values = overall.to_numpy()
    n = transfer_model.context_samples
    checked = 0
    for end in range(n + 50, len(values), 499):
        tail = transfer_model.predict_tail(values[end - n : end], overall.index[end - 1], "UTC")
        assert tail.ts == overall.index[end - 1] - pd.Timedelta(seconds=transfer_model.lag_s)
        assert tail.power_kw == pytest.approx(offline[tail.ts], abs=1e-6)
        checked += 1
    assert checked >= 10


def test_relative_step_features_describe_the_stretch():
    """200 W, a 1 kW step up at sample 10 and down at sample 30: inside, the level is 1 kW
    above the one before the step up and after the step down, the steps match, 20 min apart."""
    overall = np.full(60, 200.0)
    overall[10:30] += 1000.0
    overall[18:22] += 300.0  # a smaller load riding on it
    spec = FeatureSpec(resolution_s=60, edge_w=400.0, on_level_w=1000.0, relative_steps=True)
    x, names = build_features(overall, None, spec)
    col = {name: x[:, j] for j, name in enumerate(names)}
    for tag in ("edge", "match"):
        assert_allclose(col[f"{tag}_rise_w"][[12, 25]], [1000.0, 1000.0])
        assert_allclose(col[f"{tag}_rise_share"][12], 1.0)
        assert_allclose(col[f"{tag}_fall_w"][[12, 25]], [1000.0, 1000.0])
        assert_allclose(col[f"{tag}_down_over_up"][[12, 25]], [1.0, 1.0])
        assert_allclose(col[f"{tag}_span_s"][12], 20 * 60.0)
    assert_allclose(col["edge_rise_w"][19], 1300.0)  # the 300 W step is below edge_w
    assert np.isnan(col["edge_rise_w"][5]) and np.isnan(col["edge_fall_w"][45])
    causal, causal_names = build_features(
        overall, None, FeatureSpec(60, 400.0, 1000.0, True, relative_steps=True)
    )
    assert "edge_fall_w" not in causal_names and "edge_rise_w" in causal_names


def test_memory_features_hold_a_long_run_and_ignore_short_spikes():
    """A 1 kW run of five hours from sample 30, a 1.2 kW kettle of 3 min on top at 200 and a
    2 kW oven for 40 min at 250 (a step too large to be the appliance's): three hours in, the
    run's start has left the two-hour windows but the memory still holds a step of its size,
    never undone."""
    overall = np.full(600, 250.0)
    overall[30:330] += 1000.0
    overall[200:203] += 1200.0
    overall[250:290] += 2000.0
    spec = FeatureSpec(resolution_s=60, edge_w=400.0, on_level_w=1000.0, memory_s=4 * 3600)
    x, names = build_features(overall, None, spec)
    col = {name: x[:, j] for j, name in enumerate(names)}
    # the filtered level (10-minute minimum) steps up at 39 (its two-sample step is seen at 39, 40)
    at = 210
    assert col["held_since_up_s"][at] == (at - 40) * 60.0
    assert col["held_since_down_s"][at] == 240 * 60.0  # none within the memory
    assert col["held_up_is_newer"][at] > 0
    assert_allclose(col["held_w"][[at, 280]], [1000.0, 1000.0])
    assert_allclose(col["held_share"][280], 1.0)
    assert_allclose(col["held_rise_w"][[at, 280]], [1000.0, 3000.0])
    assert_allclose(col["base_min_14400s"][[at, 400]], [250.0, 250.0])
    assert col["held_since_down_s"][400] < col["held_since_up_s"][400]  # switched off at 330
    assert spec.context_samples == 2 * 120 + 5 + 1 + 240 + 10 + 2


def test_a_spec_without_memory_builds_the_features_of_edges_2():
    """A model file from before ``edges-3`` has no ``memory_s``: it is rebuilt without the
    memory features and with the context it was trained with."""
    raw = FeatureSpec(resolution_s=60, edge_w=400.0, on_level_w=1000.0).to_json()
    del raw["memory_s"]
    raw["version"] = "edges-2"
    old = FeatureSpec.from_json(raw)
    assert old.memory_s == 0 and old.context_samples == 2 * 120 + 5 + 1
    _, names = build_features(np.full(300, 500.0), None, old)
    assert not any(n.startswith(("held_", "base_min_")) for n in names)
