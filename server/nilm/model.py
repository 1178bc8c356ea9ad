"""Gridlight's appliance estimator: a :class:`Disaggregator` learns one appliance channel (AC,
Geyser, HeaterAC, ...) from a household that has its sub-meter, then estimates that appliance's
power from the whole-house ``Overall`` reading alone, in this household or another of its kind.

Two gradient-boosted stages on the features of :mod:`server.nilm.features`: a classifier says
whether the appliance is on (above ``on_threshold_w``), a regressor trained on the "on" samples
gives its level; an "off" sample gets the appliance's usual off level (a fan, a standby draw).
An estimate never exceeds the whole-house reading and is missing where that reading is.

A model learns from one household or from several pooled (:meth:`Disaggregator.fit_pooled`; for
households it was not trained on, train on others of their kind, optionally with ``transfer``
features that leave out the hour of day). An optional second stage (``stacked``) decides "on"
from the first stage's probabilities over windows of hours, out-of-fold in training. Every
model but the current-reading baseline remembers four hours of sustained steps
(:data:`~server.nilm.features.MEMORY_S`), which lengthens the live context, not the lag.

Model files (``save``/``load``) are one line of magic, one line of JSON header (appliance,
threshold, resolution, features and their version, the household and period trained on) and a
joblib pickle of the two estimators. Load only model files you trust: unpickling runs code.

Another household's appliance may be larger or smaller than the one the model learned (an office's
2.2 kW AC against a home's 1.5 kW): :meth:`Disaggregator.rated` gives the model that household's
rating, and it then reads the household's Overall scaled so that the appliance's steps match
the ones it learned, and scales its estimates back.

Live use: :meth:`Disaggregator.predict_tail` takes the most recent ``context_samples`` of
Overall and returns one :class:`TailEstimate`; a causal model (``causal=True``) estimates the
newest sample, a centred one the sample ``lag_s`` before it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from threadpoolctl import threadpool_limits

from generator.dataset import HouseholdInfo
from server.nilm.data import NilmError, regular_grid, to_resolution
from server.nilm.features import (
    MEMORY_S,
    FeatureSpec,
    build_features,
    hour_of_day,
    stack_features,
)

__all__ = [
    "MAGIC",
    "MIN_HISTORY_DAYS",
    "RATED_RANGE",
    "Disaggregator",
    "TailEstimate",
    "check_rating",
    "default_threshold_w",
    "read_header",
]

MAGIC = b"GRIDLIGHT-NILM/1\n"
#: How far a household's rated appliance may lie from the level the model learned (see
#: :meth:`Disaggregator.rated`): beyond a factor of three the other loads, scaled alike, no
#: longer resemble the training household's.
RATED_RANGE = (1.0 / 3.0, 3.0)
MIN_HISTORY_DAYS = 7.0
MAX_TRAIN_ROWS = 300_000
MIN_THRESHOLD_W = 10.0
#: Stretches of each household whose first-stage probabilities a second stage learns from.
STACK_FOLDS = 3
TREND_WINDOWS_S: tuple[int, ...] = (6 * 3600, 24 * 3600)
#: Half-widths of the second stage's windows [s]: at 1 min, windows of 3 to 241 samples.
STACK_HALF_S: tuple[int, ...] = (60, 120, 420, 900, 1800, 3600, 7200)
#: OpenMP threads for fitting and predicting. One: on a shared host OpenMP's spinning threads
#: made a 10,000-row fit take 54 s instead of 1.4 s (benchmarks/README.md, disaggregation).
THREADS = 1


def check_rating(rated_w: object) -> None:
    """Raise :class:`NilmError` unless ``rated_w`` is a finite, positive number of watts."""
    ok = isinstance(rated_w, (int, float)) and not isinstance(rated_w, bool)
    if not (ok and math.isfinite(rated_w) and rated_w > 0):  # type: ignore[arg-type]
        raise NilmError(f"a rating must be a finite number of watts above 0, got {rated_w!r}")


def one_thread() -> Any:
    """A context in which scikit-learn's OpenMP loops use :data:`THREADS` threads."""
    return threadpool_limits(limits=THREADS, user_api="openmp")


@dataclass(frozen=True)
class TailEstimate:
    """One live estimate: the appliance's average power over the sample starting at ``ts``."""

    ts: pd.Timestamp
    power_kw: float


def _binned_raw(classifier: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The raw score (log-odds of the second class) of a binary
    :class:`HistGradientBoostingClassifier` for every row of ``x``, walking its trees on the bins
    of its own training (``predict_binned``, what scikit-learn scores early stopping with), and
    its two classes; None for anything else (categorical features, another estimator or a
    scikit-learn whose private names moved)."""
    try:
        mapper = classifier._bin_mapper
        predictors = classifier._predictors
        baseline = float(np.ravel(classifier._baseline_prediction)[0])
        simple = classifier.n_trees_per_iteration_ == 1 and not np.any(
            getattr(classifier, "is_categorical_", None) or False
        )
        classes = np.asarray(classifier.classes_)
    except (AttributeError, IndexError, TypeError):
        return None
    if not simple or classes.size != 2:
        return None
    binned = mapper.transform(np.asarray(x, dtype=np.float64))
    raw = np.full(binned.shape[0], baseline)
    missing = mapper.missing_values_bin_idx_
    for trees in predictors:
        raw += trees[0].predict_binned(binned, missing, THREADS)
    return raw, classes


def classify_on(classifier: Any, x: np.ndarray) -> np.ndarray:
    """``classifier.predict(x)`` as booleans; for a binary :class:`HistGradientBoostingClassifier`
    the trees walk their bins (:func:`_binned_raw`): the same answers in about half the time,
    since they read one byte per feature instead of a float64."""
    binned = _binned_raw(classifier, x)
    if binned is None:
        return np.asarray(classifier.predict(x)).astype(bool)
    raw, classes = binned
    # predict() takes the class of the larger probability; a tie (raw 0) goes to the first
    return classes[(raw > 0).astype(np.intp)].astype(bool)


def on_probability(classifier: Any, x: np.ndarray) -> np.ndarray:
    """The probability that the appliance is on, per row of ``x`` (``predict_proba`` of the
    class True, computed on the bins as :func:`classify_on` does)."""
    binned = _binned_raw(classifier, x)
    if binned is None:
        proba = classifier.predict_proba(x)
        return np.asarray(proba[:, list(classifier.classes_).index(True)], dtype=np.float64)
    raw, classes = binned
    p_second = 1.0 / (1.0 + np.exp(-raw))
    return p_second if bool(classes[1]) else 1.0 - p_second


def default_threshold_w(target_w: np.ndarray) -> float:
    """The "on" threshold of an appliance from its training readings: a tenth of its high
    level (99.5th percentile), at least 10 W, so fans and standby draws count as off. [W]"""
    values = target_w[np.isfinite(target_w)]
    high = float(np.percentile(values, 99.5)) if values.size else 0.0
    return max(MIN_THRESHOLD_W, round(0.1 * high, 1))


def _estimators(random_state: int) -> tuple[Any, Any]:
    common = dict(max_iter=200, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=40)
    return (
        HistGradientBoostingClassifier(**common, random_state=random_state),
        HistGradientBoostingRegressor(**common, random_state=random_state),
    )


def _fit_stacker(
    features: list[np.ndarray],
    overall: list[np.ndarray],
    picked: list[np.ndarray],
    x: np.ndarray,
    on: np.ndarray,
    spec: FeatureSpec,
    random_state: int,
) -> Any:
    """The second stage (see :meth:`Disaggregator.fit_pooled`): every household's series cut
    into :data:`STACK_FOLDS` stretches, each stretch's first-stage probabilities from a
    classifier trained on the picked rows of the other stretches, then a classifier on the
    windows of those probabilities beside the features of the picked rows ``x``."""
    offsets = np.cumsum([0, *(r.size for r in picked)])
    blocks = [np.array_split(np.arange(f.shape[0]), STACK_FOLDS) for f in features]
    probs = [np.full(f.shape[0], np.nan) for f in features]
    for k in range(STACK_FOLDS):
        train_rows = []
        for i, rows in enumerate(picked):
            block = blocks[i][k]
            outside = (rows < block[0]) | (rows > block[-1]) if block.size else rows >= 0
            train_rows.append(offsets[i] + np.flatnonzero(outside))
        fold_rows = np.concatenate(train_rows)
        if np.unique(on[fold_rows]).size < 2:
            raise NilmError("too few 'on' stretches to train the second stage; pass stacked=False")
        fold_model, _ = _estimators(random_state)
        fold_model.fit(x[fold_rows], on[fold_rows])
        for i, f in enumerate(features):
            block = blocks[i][k]
            finite = block[np.isfinite(overall[i][block])]
            if finite.size:
                probs[i][finite] = on_probability(fold_model, f[finite])
    stacked = np.concatenate(
        [stack_features(p, spec)[0][rows] for p, rows in zip(probs, picked, strict=True)]
    )
    stacker, _ = _estimators(random_state + 1)
    stacker.fit(np.hstack([stacked, x]), on)
    return stacker


class Disaggregator:
    """A trained estimator of one appliance's power from the whole-house reading.

    ``header`` is the JSON-able description saved with the model (see :meth:`fit`)."""

    def __init__(
        self,
        header: dict[str, Any],
        classifier: Any,
        regressor: Any | None,
        stacker: Any | None = None,
    ) -> None:
        self.header = header
        self.spec = FeatureSpec.from_json(header["features"])
        self.classifier = classifier
        self.regressor = regressor
        self.stacker = stacker
        #: The appliance's rated power in the household estimated [W] (None: as trained).
        self.rated_w: float | None = None

    def rated(self, rated_w: float | None) -> Disaggregator:
        """This model for a household whose appliance draws ``rated_w`` [W] when on (its
        nameplate rating; None: the model as trained). Overall is multiplied by the learned
        on level over ``rated_w`` before the features are built, so the appliance's steps
        have the size the model learned, and the estimates are divided by it: the on level,
        the off level (an AC's fan grows with it) and ``on_threshold_w`` alike. The rest of
        the house is scaled too, so the rating must lie within :data:`RATED_RANGE` of the
        learned level (:class:`NilmError` otherwise, as for anything but a finite number)."""
        out = Disaggregator(self.header, self.classifier, self.regressor, self.stacker)
        if rated_w is None:
            return out
        level_w = float(self.header["on_level_w"])
        low_w = math.ceil(RATED_RANGE[0] * level_w)
        high_w = math.floor(RATED_RANGE[1] * level_w)
        check_rating(rated_w)
        if not low_w <= rated_w <= high_w:
            raise NilmError(
                f"a rating of {rated_w:g} W is not within {low_w}-{high_w} W, a third to three "
                f"times the {level_w:g} W this {self.appliance} model learned on household "
                f"{self.header['trained_on']['household']!r}: leave the rating out, or use a "
                "model trained on an appliance of about that size"
            )
        out.rated_w = float(rated_w)
        return out

    @property
    def scale(self) -> float:
        """Watts of the training household per watt of the household estimated."""
        if self.rated_w is None:
            return 1.0
        return float(self.header["on_level_w"]) / self.rated_w

    # ------------------------------------------------------------------ properties
    @property
    def appliance(self) -> str:
        return str(self.header["appliance"])

    @property
    def resolution_s(self) -> int:
        """The grid the model works on. [s]"""
        return self.spec.resolution_s

    @property
    def on_threshold_w(self) -> float:
        """Power above which the appliance counts as on, in the household estimated. [W]"""
        return float(self.header["on_threshold_w"]) / self.scale

    @property
    def lag_s(self) -> int:
        """How long after a sample its estimate is known (0 for a causal model). [s]"""
        return self.spec.lag_samples * self.spec.resolution_s

    @property
    def context_samples(self) -> int:
        """Most recent samples of Overall that :meth:`predict_tail` needs."""
        return self.spec.context_samples

    # ------------------------------------------------------------------ training
    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        appliance: str,
        info: HouseholdInfo,
        **options: Any,
    ) -> Disaggregator:
        """Train on ``frame`` (columns ``Overall`` and ``appliance`` [kW], regular grid at
        ``info.resolution_s``) of the household ``info``; the options are :meth:`fit_pooled`'s.
        Raise :class:`NilmError` with under ``min_history_days`` of readings or an appliance
        that is never on."""
        return cls.fit_pooled([(frame, info)], appliance, **options)

    @classmethod
    def fit_pooled(
        cls,
        parts: Sequence[tuple[pd.DataFrame, HouseholdInfo]],
        appliance: str,
        *,
        causal: bool = False,
        current_only: bool = False,
        transfer: bool = False,
        stacked: bool = False,
        on_threshold_w: float | None = None,
        min_history_days: float = MIN_HISTORY_DAYS,
        max_train_rows: int = MAX_TRAIN_ROWS,
        random_state: int = 0,
    ) -> Disaggregator:
        """Train on the readings of one or several households (``(frame, info)`` pairs, each
        frame as in :meth:`fit`, all at the same resolution), pooled: the threshold and the
        appliance's usual level are taken over all of them, each household's features are
        built on its own series (and its own time zone), and at most ``max_train_rows`` rows
        are drawn from them in proportion to their readings.

        ``transfer`` builds a model meant for households it was not trained on: no hour of
        day (another household keeps other hours) and the level relative to the surrounding
        steps (``relative_steps``). Each household needs ``min_history_days`` of readings.

        ``stacked`` adds trailing means over 6 and 24 hours to the features and a second stage: a classifier that reads
        the first stage's "on" probabilities over windows of up to four hours around a sample
        (:func:`~server.nilm.features.stack_features`) beside its features. The first stage's
        probabilities it learns from are out-of-fold (each of :data:`STACK_FOLDS` stretches of
        every household predicted by a classifier trained on the others), as they are on
        readings it never saw. It decides whole stretches at once, where the first stage
        flickers, at about five times the training time, a centred estimate two hours later
        (``lag_s``) and, live, first-stage predictions over the last four hours (two, centred) at
        every estimate: meant for 1-minute models. Measured in benchmarks/README.md: +0.009 F1
        on UCI HeaterAC's test weeks with the features ``edges-2``, +0.004 with ``edges-3``
        (the memory of sustained steps), none on a later fortnight, so it is not the default."""
        if not parts:
            raise NilmError("no household to train on")
        resolution_s = parts[0][1].resolution_s
        overall, target, valid = [], [], []
        for frame, info in parts:
            if info.resolution_s != resolution_s:
                raise NilmError(
                    f"household {info.id!r} is at {info.resolution_s} s, not {resolution_s} s as "
                    f"{parts[0][1].id!r}; pool households at one resolution"
                )
            o_w = frame["Overall"].to_numpy(dtype=np.float64) * 1000.0
            t_w = frame[appliance].to_numpy(dtype=np.float64) * 1000.0
            ok = np.isfinite(o_w) & np.isfinite(t_w)
            days = ok.sum() * resolution_s / 86400.0
            if days < min_history_days:
                raise NilmError(
                    f"household {info.id!r} has {days:.1f} days of readings with {appliance!r} "
                    f"to train on; at least {min_history_days:g} are needed"
                )
            overall.append(o_w)
            target.append(t_w)
            valid.append(ok)
        all_target = np.concatenate(target)
        all_valid = np.concatenate(valid)
        names_of = "+".join(info.id for _, info in parts)
        threshold_w = (
            default_threshold_w(all_target[all_valid])
            if on_threshold_w is None
            else float(on_threshold_w)
        )
        all_on = all_target > threshold_w
        if not (all_on & all_valid).any() or (all_on | ~all_valid).all():
            raise NilmError(
                f"appliance {appliance!r} of household {names_of!r} is never "
                f"{'on' if not (all_on & all_valid).any() else 'off'} around {threshold_w:g} W "
                "in the training readings; nothing to learn"
            )
        on_level_w = float(np.median(all_target[all_on & all_valid]))
        spec = FeatureSpec(
            resolution_s=resolution_s,
            edge_w=max(50.0, round(0.4 * on_level_w, 1)),
            on_level_w=round(on_level_w, 1),
            causal=causal,
            current_only=current_only,
            calendar=not (transfer or current_only),
            relative_steps=transfer and not current_only,
            memory_s=0 if current_only else MEMORY_S,
        )
        if stacked and not current_only:
            spec = replace(spec, trend_windows_s=TREND_WINDOWS_S, stack_half_s=STACK_HALF_S)
        total = int(all_valid.sum())
        rng = np.random.default_rng(random_state)
        xs, ys, ws, kept, picked = [], [], [], [], []
        names: list[str] = []
        for (frame, info), o_w, t_w, ok in zip(parts, overall, target, valid, strict=True):
            hours = hour_of_day(frame.index, info.timezone) if spec.calendar else None
            features, names = build_features(o_w, hours, spec)
            rows = np.flatnonzero(ok)
            if total > max_train_rows:
                take = max(1, round(rows.size * max_train_rows / total))
                rows = np.sort(rng.choice(rows, size=min(take, rows.size), replace=False))
            xs.append(features[rows])
            ys.append(t_w[rows] > threshold_w)
            ws.append(t_w[rows])
            picked.append(rows)
            if spec.stack_half_s:
                kept.append(features)
        x, on, target_w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
        classifier, regressor = _estimators(random_state)
        stacker = None
        with one_thread():
            classifier.fit(x, on)
            regressor.fit(x[on], target_w[on])
            if spec.stack_half_s:
                stacker = _fit_stacker(kept, overall, picked, x, on, spec, random_state)
        spans = [frame.index[ok] for (frame, _), ok in zip(parts, valid, strict=True)]
        infos = [info for _, info in parts]
        trained_on: dict[str, Any] = {
            "household": names_of,
            "archetype": "+".join(dict.fromkeys(i.archetype for i in infos)),
            "timezone": "+".join(dict.fromkeys(i.timezone for i in infos)),
            "source": "+".join(dict.fromkeys(str(i.source) for i in infos))
            if len(infos) > 1
            else infos[0].source,
        }
        if len(infos) > 1:
            trained_on["households"] = [i.id for i in infos]
        header = {
            "kind": "gridlight-nilm",
            "appliance": appliance,
            "on_threshold_w": threshold_w,
            "on_level_w": round(on_level_w, 1),
            "off_level_w": round(float(np.median(all_target[all_valid & ~all_on])), 1),
            "resolution_s": resolution_s,
            "lag_s": spec.lag_samples * spec.resolution_s,
            "transfer": bool(transfer),
            "stacked": stacker is not None,
            "features_version": spec.version,
            "features": spec.to_json(),
            "feature_names": names,
            "trained_on": trained_on,
            "training_period": {
                "start": min(s[0] for s in spans).isoformat(),
                "end": max(s[-1] for s in spans).isoformat(),
                "samples": total,
                "days": round(total * resolution_s / 86400.0, 2),
            },
            "sklearn_version": sklearn.__version__,
        }
        return cls(header, classifier, regressor, stacker)

    # ------------------------------------------------------------------ estimating
    def predict_w(self, overall_w: np.ndarray, hours: np.ndarray | None) -> np.ndarray:
        """Estimates [W] on the model's own grid for a regular series of Overall [W]."""
        seen_w = np.asarray(overall_w, dtype=np.float64) * self.scale
        features, _ = build_features(seen_w, hours, self.spec)
        rows = np.flatnonzero(np.isfinite(seen_w))
        return self._predict_rows(features, seen_w, rows, rows) / self.scale

    def _predict_rows(
        self, features: np.ndarray, overall_w: np.ndarray, rows: np.ndarray, around: np.ndarray
    ) -> np.ndarray:
        """Estimates [W] of the samples ``rows`` (finite Overall), NaN elsewhere: the "on"
        classifier on those rows only (with a second stage, the first stage's probabilities on
        the finite rows ``around`` them, which its windows read), the level regressor on the
        rows called on."""
        out = np.full(overall_w.shape, np.nan)
        if rows.size:
            x = features[rows]
            level = np.full(x.shape[0], float(self.header["off_level_w"]))
            with one_thread():
                if self.stacker is None:
                    on = classify_on(self.classifier, x)
                else:
                    prob = np.full(overall_w.shape, np.nan)
                    prob[around] = on_probability(self.classifier, features[around])
                    stacked, _ = stack_features(prob, self.spec)
                    on = classify_on(self.stacker, np.hstack([stacked[rows], x]))
                if on.any():
                    level[on] = self.regressor.predict(x[on])
            out[rows] = np.clip(level, 0.0, overall_w[rows])
        return out

    def _hours(self, index: pd.DatetimeIndex, timezone: str) -> np.ndarray | None:
        if self.spec.current_only or not self.spec.calendar:
            return None
        return hour_of_day(index, timezone)

    def estimate(self, overall_kw: pd.Series, timezone: str, resolution_s: int) -> pd.Series:
        """The appliance's estimated power [kW] at every timestamp of ``overall_kw`` (a regular
        series at ``resolution_s``); finer readings are averaged onto the model's grid and each
        sample gets its window's estimate. Coarser readings than the model's are refused."""
        self.check_resolution(resolution_s)
        series = overall_kw.astype("float64")
        if resolution_s == self.resolution_s:
            coarse = series
        else:
            coarse = to_resolution(series.to_frame("Overall"), self.resolution_s)["Overall"]
        coarse = regular_grid(coarse.to_frame("Overall"), self.resolution_s)["Overall"]
        est_w = self.predict_w(coarse.to_numpy() * 1000.0, self._hours(coarse.index, timezone))
        est = pd.Series(est_w / 1000.0, index=coarse.index, name=self.appliance)
        if resolution_s != self.resolution_s:
            keys = series.index.floor(pd.Timedelta(seconds=self.resolution_s))
            est = pd.Series(est.reindex(keys).to_numpy(), index=series.index)
            est = est.clip(upper=series).where(series.notna())
        return est.rename(self.appliance)

    def check_resolution(self, resolution_s: int) -> None:
        """Raise unless readings at ``resolution_s`` can be averaged onto the model's grid."""
        if resolution_s > self.resolution_s:
            raise NilmError(
                f"readings at {resolution_s} s are coarser than the model's {self.resolution_s} "
                f"s; train a model at {resolution_s} s for this household"
            )
        if self.resolution_s % resolution_s:
            raise NilmError(
                f"readings at {resolution_s} s do not divide the model's {self.resolution_s} s"
            )

    def predict_tail(self, overall_kw: np.ndarray, ts: pd.Timestamp, timezone: str) -> TailEstimate:
        """Live estimate from the latest Overall readings [kW] on the model's grid, oldest
        first, the newest starting at ``ts`` (UTC). Needs :attr:`context_samples` of them
        (raise otherwise); returns the estimate of the sample :attr:`lag_s` before ``ts``
        (the newest, for a causal model), equal to what :meth:`estimate` gives offline."""
        values = np.asarray(overall_kw, dtype=np.float64)[-self.context_samples :]
        if values.size < self.context_samples:
            raise NilmError(
                f"predict_tail needs the last {self.context_samples} readings at "
                f"{self.resolution_s} s, got {values.size}"
            )
        end = pd.Timestamp(ts)
        end = end.tz_localize("UTC") if end.tzinfo is None else end.tz_convert("UTC")
        step = pd.Timedelta(seconds=self.resolution_s)
        index = pd.date_range(end=end, periods=values.size, freq=step)
        overall_w = values * 1000.0 * self.scale
        # the features need the whole tail; the estimators only the one sample asked for
        # (at 1 s the whole call took 193 ms when it predicted all 14,406 samples of a tail)
        features, _ = build_features(overall_w, self._hours(index, timezone), self.spec)
        at = values.size - 1 - self.spec.lag_samples
        rows = np.array([at] if np.isfinite(overall_w[at]) else [], dtype=np.intp)
        half = self.spec.stack_half_samples
        # the second stage's windows: centred on the sample, or behind it for a causal model
        first = at - (2 * half if self.spec.causal else half)
        span = np.arange(
            max(0, first), min(values.size, at + half + 1) if not self.spec.causal else at + 1
        )
        around = span[np.isfinite(overall_w[span])]
        est_w = self._predict_rows(features, overall_w, rows, around)
        return TailEstimate(ts=index[at], power_kw=float(est_w[at] / 1000.0 / self.scale))

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model file (magic, JSON header line, joblib pickle) atomically."""
        import joblib

        out = Path(path)
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            with tmp.open("wb") as fh:
                fh.write(MAGIC)
                fh.write(json.dumps(self.header, allow_nan=False).encode() + b"\n")
                payload = {"classifier": self.classifier, "regressor": self.regressor}
                if self.stacker is not None:
                    payload["stacker"] = self.stacker
                joblib.dump(payload, fh)
            os.replace(tmp, out)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise NilmError(f"cannot write the model to {str(out)!r}: {err}") from err
        return out

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Disaggregator:
        """Read a model file written by :meth:`save` (trusted files only: it unpickles)."""
        import joblib

        with _open_model(path) as fh:
            header = _read_header(fh, path)
            payload = joblib.load(fh)
        return cls(header, payload["classifier"], payload["regressor"], payload.get("stacker"))


def _open_model(path: str | os.PathLike[str]) -> Any:
    try:
        return Path(path).open("rb")
    except OSError as err:
        raise NilmError(f"cannot read the model file {str(path)!r}: {err.strerror}") from err


def _read_header(fh: Any, path: str | os.PathLike[str]) -> dict[str, Any]:
    if fh.readline() != MAGIC:
        raise NilmError(f"{str(path)!r} is not a Gridlight disaggregation model file")
    try:
        header = json.loads(fh.readline())
    except json.JSONDecodeError as err:
        raise NilmError(f"{str(path)!r} has a damaged model header: {err}") from err
    return header  # type: ignore[no-any-return]


def read_header(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The JSON header of a model file, without unpickling the estimators."""
    with _open_model(path) as fh:
        return _read_header(fh, path)
