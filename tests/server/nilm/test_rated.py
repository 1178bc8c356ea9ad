"""A model given another household's appliance rating (``Disaggregator.rated``): it reads that
household's Overall scaled so that the appliance's steps have the size it learned, and scales its
estimates back. Office B's AC draws 2.2 kW where A's, which the model learned, draws 1.5 kW."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from generator.dataset import read_dataset
from server.cli import main
from server.nilm import Disaggregator, NilmError
from server.nilm.evaluate import evaluate_frames
from tests.server.nilm.conftest import UNTIL, only_overall

TZ = "Asia/Kolkata"


def test_a_house_twice_as_large_rated_twice_as_large_gets_twice_the_estimates(ac_model, nilm_dir):
    overall = read_dataset(nilm_dir).frame("B")["Overall"]
    level_w = ac_model.header["on_level_w"]
    doubled = ac_model.rated(2 * level_w)
    assert doubled.rated_w == 2 * level_w and doubled.scale == 0.5
    assert doubled.on_threshold_w == 2 * ac_model.on_threshold_w
    plain = ac_model.estimate(overall, TZ, 60)
    twice = doubled.estimate(overall * 2, TZ, 60)
    assert plain.notna().sum() > 0 and (plain * 1000 > ac_model.on_threshold_w).any()
    assert_allclose(twice.to_numpy(), 2 * plain.to_numpy(), rtol=1e-12)
    # the model itself is untouched, and a rating of None is the model as trained
    assert ac_model.rated_w is None and ac_model.scale == 1.0
    assert_allclose(ac_model.rated(None).estimate(overall, TZ, 60), plain)


def test_predict_tail_of_a_rated_model_equals_its_estimate(causal_model, nilm_dir):
    model = causal_model.rated(2200.0)
    overall = read_dataset(nilm_dir).frame("B")["Overall"]
    offline = model.estimate(overall, TZ, 60)
    n = model.context_samples
    assert (offline.iloc[n:] > model.on_threshold_w / 1000.0).any()
    for end in (n, n + 137, len(overall) - 1):
        tail = model.predict_tail(overall.to_numpy()[end - n + 1 : end + 1], overall.index[end], TZ)
        assert tail.ts == overall.index[end]
        assert tail.power_kw == pytest.approx(offline.iloc[end], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("factor", [0.2, 0.333, 3.01, 3.5])
def test_a_rating_far_from_the_learned_level_is_refused(ac_model, factor):
    level_w = ac_model.header["on_level_w"]
    low, high = math.ceil(level_w / 3), math.floor(3 * level_w)
    with pytest.raises(NilmError, match=rf"rating of .* W is not within {low}-{high} W, a third"):
        ac_model.rated(factor * level_w)
    # the bounds printed are the ones that hold
    assert ac_model.rated(low).rated_w == low and ac_model.rated(high).rated_w == high


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -2200.0, 0, True, "2200"])
def test_a_rating_that_is_not_a_number_of_watts_is_refused(ac_model, value):
    with pytest.raises(NilmError, match="a rating must be a finite number of watts above 0, got"):
        ac_model.rated(value)


def test_the_rating_scales_finer_readings_averaged_onto_the_model_grid(ac_model, nilm_dir):
    model = ac_model.rated(2200.0)
    coarse = read_dataset(nilm_dir).frame("B")["Overall"]
    fine_index = pd.date_range(coarse.index[0], periods=2 * len(coarse), freq="30s")
    fine = pd.Series(np.repeat(coarse.to_numpy(), 2), index=fine_index)
    est = model.estimate(coarse, TZ, 60)
    expected = np.minimum(np.repeat(est.to_numpy(), 2), fine.to_numpy())
    assert_allclose(model.estimate(fine, TZ, 30).to_numpy(), expected)
    assert (est * 1000 > model.on_threshold_w).any()


def test_the_office_ac_is_estimated_better_with_its_rating(nilm_dir):
    """A model of A's 1.5 kW AC, applied to office B (2.2 kW): given B's rating, it estimates
    B's AC power and energy better (on/off F1 moves either way at 1 minute: see
    benchmarks/README.md), and the current-reading baseline is rated alike."""
    dataset = read_dataset(nilm_dir)
    info_a, info_b = dataset.household("A"), dataset.household("B")
    frame_a, frame_b = dataset.frame("A"), dataset.frame("B")
    train = frame_a[frame_a.index < UNTIL]
    plain = evaluate_frames(train, info_a, frame_b, info_b, "AC", UNTIL)
    rated = evaluate_frames(train, info_a, frame_b, info_b, "AC", UNTIL, rated_w=2200.0)
    assert plain["rated_w"] is None and rated["rated_w"] == 2200.0
    assert rated["on_threshold_w"] > plain["on_threshold_w"]
    assert rated["mae_w"] < 0.9 * plain["mae_w"], (rated["mae_w"], plain["mae_w"])
    assert rated["energy_share_error"] < 0.6 * plain["energy_share_error"]
    # without the rating, B's 2.2 kW steps read as 1.5 kW ones: its AC energy is a third short
    assert plain["energy_share"] < 0.75 * plain["energy_share_true"]
    # the current-reading baseline runs as trained and rated: the model is judged against both
    as_trained = rated["baselines"]["current_reading_gbm"]
    assert as_trained["mae_w"] == plain["baselines"]["current_reading_gbm"]["mae_w"]
    assert "current_reading_gbm_rated" not in plain["baselines"]
    assert rated["baselines"]["current_reading_gbm_rated"]["mae_w"] != as_trained["mae_w"]
    assert rated["baselines"]["mean_share"]["mae_w"] == plain["baselines"]["mean_share"]["mae_w"]


def test_apply_with_a_rating_marks_it_and_a_bad_one_exits_2(ac_model, nilm_dir, tmp_path, capsys):
    path = ac_model.save(tmp_path / "a-ac.model")
    source = only_overall(nilm_dir, "B", tmp_path / "b-overall")
    args = ["nilm", "apply", "--dataset", str(source), "--household", "B", "--model", str(path)]
    assert main([*args, "--rated-w", "2200", "--out", str(tmp_path / "rated")]) == 0
    capsys.readouterr()
    raw = json.loads((tmp_path / "rated" / "households.json").read_text())["households"][0]
    described = raw["estimates"]["AC"]
    assert described["rated_w"] == 2200.0
    assert described["on_threshold_w"] == pytest.approx(ac_model.rated(2200.0).on_threshold_w)
    estimate = read_dataset(tmp_path / "rated").frame("B")["AC"]
    overall = read_dataset(source).frame("B")["Overall"]
    assert_allclose(estimate, ac_model.rated(2200.0).estimate(overall, TZ, 60))

    assert main([*args, "--rated-w", "20000", "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "python -m server nilm: error: --rated-w: a rating of 20000 W is not within" in err
    assert not (tmp_path / "bad").exists()
    for bad in ("nan", "-5", "big"):
        with pytest.raises(SystemExit) as exit_:
            main([*args, "--rated-w", bad, "--out", str(tmp_path / "bad")])
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert f"argument --rated-w: expected a number of watts above 0, got '{bad}'" in err


def test_evaluate_refuses_a_bad_rating_before_training(nilm_dir, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("trained before the rating was checked")

    monkeypatch.setattr(Disaggregator, "fit_pooled", no_training)
    dataset = read_dataset(nilm_dir)
    frame = dataset.frame("A")
    info = dataset.household("A")
    with pytest.raises(NilmError, match="a rating must be a finite number of watts above 0"):
        evaluate_frames(frame, info, frame, info, "AC", UNTIL, rated_w=float("nan"))


def test_a_rated_model_keeps_gaps_and_stays_within_the_whole_house(ac_model, nilm_dir):
    overall = read_dataset(nilm_dir).frame("B")["Overall"].copy()
    overall.iloc[500:560] = np.nan
    est = ac_model.rated(2200.0).estimate(overall, TZ, 60)
    assert est.iloc[500:560].isna().all()
    known = overall.notna()
    assert est[known].notna().all()
    assert (est[known] <= overall[known] + 1e-12).all() and (est[known] >= 0).all()
    assert isinstance(est.index, pd.DatetimeIndex)


def test_rated_is_a_new_model_not_a_file_change(ac_model, tmp_path):
    rated = ac_model.rated(2200.0)
    assert isinstance(rated, Disaggregator) and rated is not ac_model
    assert rated.header is ac_model.header  # the file's header: the rating is not saved in it
    loaded = Disaggregator.load(rated.save(tmp_path / "m.model"))
    assert loaded.rated_w is None and loaded.header == ac_model.header
