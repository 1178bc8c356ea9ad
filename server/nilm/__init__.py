"""Disaggregation (pure: no Flask, no Redis): Gridlight's estimates of appliance channels (AC,
Geyser, HeaterAC, ...) for homes that have only a whole-house ``Overall`` meter.

* :class:`Disaggregator` — trained where a sub-meter exists (``Disaggregator.fit``, or
  ``fit_pooled`` on several households for one it has not seen), applied to the whole-house
  series of this or another household (``estimate``), saved with a JSON header
  (``save``/``load``/:func:`read_header`); ``predict_tail`` is the live entry point;
  ``rated(rated_w)`` gives it another household's appliance rating (a 2.2 kW AC where it
  learned a 1.5 kW one).
* :func:`evaluate` / :func:`evaluate_pooled` / :func:`scores` — on/off F1, ``mae_w`` and
  energy-share error on a period (or a household) the model never saw, beside the baselines of
  :mod:`server.nilm.baselines`.
* :func:`apply_to_dataset` — writes a dataset whose appliance column is the estimate, marked
  ``estimated`` in ``households.json`` (read back as ``HouseholdInfo.estimated``).

The live layer (estimates as readings arrive) is :mod:`server.estimates`, which does this::

    model = Disaggregator.load(path)          # once; trained with causal=True (lag_s == 0)
    # the household's latest Overall readings averaged onto model.resolution_s windows,
    # oldest first, NaN for a missing window, at least model.context_samples of them:
    tail = model.predict_tail(overall_kw, ts_of_newest_window, household_timezone)
    tail.ts, tail.power_kw                     # the estimate for the window starting at tail.ts

``predict_tail`` equals the offline ``estimate`` at the same window (tested). A centred model
(the default of ``train``, more accurate offline) answers for the window ``lag_s`` (two hours)
before the newest; a causal one for the newest. Features are computed over the whole tail and the
estimators run on the one sample returned, so a call costs a few milliseconds at 1 min and tens
at 1 s (``context_samples`` is 29,408 there, four hours of memory included): call it once per
model window, off the request greenlets.
"""

from server.nilm.apply import (
    ESTIMATED_KEY,
    apply_to_dataset,
    estimated_channels,
    train_from_dataset,
)
from server.nilm.baselines import AlwaysOff, Combinatorial, MeanShare
from server.nilm.data import OVERALL, NilmError, load_channels, parse_until
from server.nilm.evaluate import evaluate, evaluate_pooled, scores
from server.nilm.features import FEATURES_VERSION, FeatureSpec, build_features
from server.nilm.model import (
    MIN_HISTORY_DAYS,
    Disaggregator,
    TailEstimate,
    default_threshold_w,
    read_header,
)

__all__ = [
    "ESTIMATED_KEY",
    "FEATURES_VERSION",
    "MIN_HISTORY_DAYS",
    "OVERALL",
    "AlwaysOff",
    "Combinatorial",
    "Disaggregator",
    "FeatureSpec",
    "MeanShare",
    "NilmError",
    "TailEstimate",
    "apply_to_dataset",
    "build_features",
    "default_threshold_w",
    "estimated_channels",
    "evaluate",
    "evaluate_pooled",
    "load_channels",
    "parse_until",
    "read_header",
    "scores",
    "train_from_dataset",
]
