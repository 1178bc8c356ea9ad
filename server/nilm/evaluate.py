"""How well Gridlight estimates an appliance, on a period the model never saw.

:func:`scores` compares an estimate with the sub-meter's truth over the samples where both and
the whole-house reading exist:

* ``f1`` (with ``precision``, ``recall``) of the on/off state, "on" meaning above the
  appliance's ``on_threshold_w`` (stated in the output);
* ``mae_w`` — mean absolute error of the power [W];
* ``energy_share_error`` — |estimated − true appliance energy| / true appliance energy, which is
  also the relative error of the appliance's share of the whole house (``energy_share`` true
  and estimated are given beside it).

:func:`evaluate` trains on the readings before ``train_until``, scores the readings from it on,
and runs the baselines of :mod:`server.nilm.baselines` in the same run. :func:`evaluate_pooled`
trains on several households (the "unseen household" protocol: train on the others, score one)
and its baselines learn from the same pooled readings.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from generator.dataset import HouseholdInfo
from server.nilm.baselines import AlwaysOff, Combinatorial, MeanShare
from server.nilm.data import OVERALL, NilmError, load_channels
from server.nilm.model import MIN_HISTORY_DAYS, Disaggregator, check_rating

__all__ = ["evaluate", "evaluate_frames", "evaluate_pooled", "scores", "split_at"]


def scores(
    true_w: np.ndarray, est_w: np.ndarray, overall_w: np.ndarray, on_threshold_w: float
) -> dict[str, float]:
    """On/off F1, precision, recall, ``mae_w`` and energy-share figures of one estimate."""
    ok = np.isfinite(true_w) & np.isfinite(est_w) & np.isfinite(overall_w)
    t, e, o = true_w[ok], est_w[ok], overall_w[ok]
    if t.size == 0:
        raise NilmError("no samples with both the appliance and the whole-house reading to score")
    on_t, on_e = t > on_threshold_w, e > on_threshold_w
    tp = float(np.sum(on_t & on_e))
    fp = float(np.sum(~on_t & on_e))
    fn = float(np.sum(on_t & ~on_e))
    precision = tp / (tp + fp) if tp + fp else (1.0 if not fn else 0.0)
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0
    total_w = float(o.sum())
    true_sum, est_sum = float(t.sum()), float(e.sum())
    return {
        "f1": round(f1, 4),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "mae_w": round(float(np.mean(np.abs(e - t))), 2),
        "energy_share_error": round(abs(est_sum - true_sum) / true_sum, 4)
        if true_sum > 0
        else None,  # type: ignore[dict-item]
        "energy_share": round(est_sum / total_w, 4) if total_w > 0 else None,  # type: ignore[dict-item]
        "energy_share_true": round(true_sum / total_w, 4) if total_w > 0 else None,  # type: ignore[dict-item]
    }


def split_at(frame: pd.DataFrame, until: pd.Timestamp) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows before ``until`` and the rows from it on; raise if either side is empty."""
    if frame.empty or until <= frame.index[0]:
        first = frame.index[0].isoformat() if not frame.empty else "none"
        raise NilmError(
            f"--until {until.isoformat()} is not after the first reading ({first}): "
            "nothing to train on"
        )
    before = frame.loc[frame.index < until]
    after = frame.loc[frame.index >= until]
    return before, after


def evaluate(
    dataset_dir: str | os.PathLike[str],
    household: str,
    appliance: str,
    train_until: pd.Timestamp,
    *,
    causal: bool = False,
    transfer: bool = False,
    stacked: bool = False,
    train_households: Sequence[str] | None = None,
    on_threshold_w: float | None = None,
    rated_w: float | None = None,
    min_history_days: float = MIN_HISTORY_DAYS,
) -> dict[str, Any]:
    """Train on ``household``'s readings before ``train_until`` (or on those of
    ``train_households``, pooled), score ``household``'s after it, with the baselines; returns
    the JSON-able report ``python -m server nilm evaluate`` prints."""
    if appliance == OVERALL:
        raise NilmError("the appliance cannot be 'Overall', the whole-house channel itself")

    def frame_of(h: str) -> tuple[pd.DataFrame, HouseholdInfo]:
        info = load_channels(dataset_dir, h, [OVERALL, appliance]).info
        submeters = [c for c in info.channels if c not in (OVERALL, appliance)]
        return load_channels(dataset_dir, h, [OVERALL, appliance, *submeters]).frame, info

    frame, info = frame_of(household)
    trains = []
    for h in train_households or [household]:
        train_frame, train_info = (frame, info) if h == household else frame_of(h)
        trains.append((split_at(train_frame, train_until)[0], train_info))
    return evaluate_pooled(
        trains,
        frame,
        info,
        appliance,
        train_until,
        causal=causal,
        transfer=transfer,
        stacked=stacked,
        on_threshold_w=on_threshold_w,
        rated_w=rated_w,
        min_history_days=min_history_days,
    )


def evaluate_frames(
    train: pd.DataFrame,
    train_info: HouseholdInfo,
    target: pd.DataFrame,
    target_info: HouseholdInfo,
    appliance: str,
    score_from: pd.Timestamp,
    **options: Any,
) -> dict[str, Any]:
    """Train on ``train`` (household ``train_info``; its other sub-meters feed the
    combinatorial baseline), estimate from ``target``'s Overall (the same household or another)
    and score ``target``'s rows from ``score_from`` on, beside the baselines; the options are
    :func:`evaluate_pooled`'s."""
    return evaluate_pooled(
        [(train, train_info)], target, target_info, appliance, score_from, **options
    )


def evaluate_pooled(
    trains: Sequence[tuple[pd.DataFrame, HouseholdInfo]],
    target: pd.DataFrame,
    target_info: HouseholdInfo,
    appliance: str,
    score_from: pd.Timestamp,
    *,
    causal: bool = False,
    transfer: bool = False,
    stacked: bool = False,
    on_threshold_w: float | None = None,
    rated_w: float | None = None,
    min_history_days: float = MIN_HISTORY_DAYS,
) -> dict[str, Any]:
    """As :func:`evaluate_frames`, trained on several households pooled
    (:meth:`Disaggregator.fit_pooled`; ``transfer`` for a model meant for other households).
    The baselines learn from the same pooled readings. ``rated_w``: the target household's
    appliance rating (:meth:`Disaggregator.rated`), given to the model; "on" is then judged
    above the rated model's threshold, and the current-reading baseline runs twice, as trained
    (``current_reading_gbm``) and rated (``current_reading_gbm_rated``): the model must beat
    both."""
    if rated_w is not None:
        check_rating(rated_w)  # before a training of minutes
    test_mask = target.index >= score_from
    if appliance not in target.columns or target.loc[test_mask, appliance].notna().sum() == 0:
        raise NilmError(
            f"no readings of {appliance!r} from {score_from.isoformat()} on: nothing to score"
        )
    columns = [c for c in trains[0][0].columns if all(c in f.columns for f, _ in trains)]
    pooled = pd.concat([f[columns] for f, _ in trains], ignore_index=True)
    submeters = [c for c in columns if c not in (OVERALL, appliance)]
    fit: dict[str, Any] = dict(on_threshold_w=on_threshold_w, min_history_days=min_history_days)
    started = time.perf_counter()
    model = Disaggregator.fit_pooled(
        trains, appliance, causal=causal, transfer=transfer, stacked=stacked, **fit
    ).rated(rated_w)
    train_s = time.perf_counter() - started
    threshold_w = model.on_threshold_w
    overall = target[OVERALL]
    zone, resolution_s = target_info.timezone, target_info.resolution_s
    started = time.perf_counter()
    est_kw = model.estimate(overall, zone, resolution_s)
    apply_s = time.perf_counter() - started
    overall_w = overall.to_numpy()[test_mask] * 1000.0
    true_w = target[appliance].to_numpy()[test_mask] * 1000.0

    def score(est_w: np.ndarray) -> dict[str, float]:
        return scores(true_w, est_w, overall_w, threshold_w)

    result = score(est_kw.to_numpy()[test_mask] * 1000.0)
    fit["on_threshold_w"] = model.header["on_threshold_w"]
    current = Disaggregator.fit_pooled(trains, appliance, current_only=True, **fit)
    gbms = {"current_reading_gbm": current}
    if rated_w is not None:
        gbms["current_reading_gbm_rated"] = current.rated(rated_w)
    baselines: dict[str, dict[str, float]] = {
        name: score(gbm.estimate(overall, zone, resolution_s).to_numpy()[test_mask] * 1000.0)
        for name, gbm in gbms.items()
    }
    others = [
        Combinatorial(pooled, appliance, submeters),
        MeanShare(pooled, appliance),
        AlwaysOff(pooled, appliance),
    ]
    for baseline in others:
        baselines[baseline.name] = score(baseline.predict_w(overall_w))
    days_total = len(target) * resolution_s / 86400.0
    test_index = target.index[test_mask]
    return {
        "household": target_info.id,
        "appliance": appliance,
        "trained_on": model.header["trained_on"]["household"],
        "resolution_s": resolution_s,
        "on_threshold_w": threshold_w,
        "causal": causal,
        "transfer": transfer,
        "stacked": stacked,
        "rated_w": rated_w,
        "features_version": model.header["features_version"],
        "train": model.header["training_period"],
        "test": {
            "start": test_index[0].isoformat(),
            "end": test_index[-1].isoformat(),
            "days": round(int(test_mask.sum()) * resolution_s / 86400.0, 2),
        },
        **result,
        "baselines": baselines,
        "beats_baselines": {
            "f1": all(result["f1"] > b["f1"] for b in baselines.values()),
            "mae_w": all(result["mae_w"] < b["mae_w"] for b in baselines.values()),
        },
        "timing": {
            "train_s": round(train_s, 2),
            "apply_s_per_day": round(apply_s / max(days_total, 1e-9), 3),
        },
    }
