"""Attaching a disaggregation model to a live household, with the checks that make a bad one a
clear error (never a silent empty channel):

* unknown household → 404; a household served from a dataset (not live) → 409 (estimate it
  offline with ``python -m server nilm apply``);
* not a model file, or a centred model (``lag_s`` > 0: its estimates would come two hours late;
  train with ``--causal``) → 400 ``invalid_model``;
* an appliance the household meters for real → 409 ``appliance_metered``;
* readings coarser than the model's windows (a household reporting every 5 min given a 1-min
  model, judged from its latest stored readings) → 400 ``invalid_model``.

:func:`load_model` reads a model file's bytes as kept in the database.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from server.errors import GridlightError, UnknownHousehold
from server.nilm import Disaggregator, NilmError
from server.storage import KeyStore, ReadingStore
from server.storage.estimators import AttachedModel, EstimatorStore

__all__ = ["ApplianceMetered", "InvalidModel", "attach_model", "load_model", "reporting_interval_s"]

#: Latest stored seconds looked at to judge how often a household reports. [s]
SPACING_LOOKBACK_S = 6 * 3600
EPOCH = pd.Timestamp(0, tz="UTC")


class InvalidModel(GridlightError):
    """The model cannot estimate this household's channel (400)."""

    status = 400
    code = "invalid_model"


class ApplianceMetered(GridlightError):
    """The household meters this appliance for real: no estimate replaces it (409)."""

    status = 409
    code = "appliance_metered"


class NotLive(GridlightError):
    """Models are attached to live households only (409)."""

    status = 409
    code = "not_live"


def load_model(data: bytes) -> Disaggregator:
    """A :class:`Disaggregator` from a model file's bytes (trusted: it unpickles)."""
    fd, name = tempfile.mkstemp(prefix="gridlight-nilm-", suffix=".model")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return Disaggregator.load(name)
    finally:
        Path(name).unlink(missing_ok=True)


def epoch_seconds(index: pd.DatetimeIndex) -> np.ndarray:
    """UTC epoch seconds of ``index`` (whatever its unit)."""
    return np.asarray((index - EPOCH) // pd.Timedelta(seconds=1), dtype=np.int64)


def reporting_interval_s(readings: ReadingStore, household: str, now_s: float) -> float | None:
    """Median spacing of the household's latest stored Overall readings [s]; ``None`` with
    fewer than three of them."""
    end_s = int(now_s) + 1
    frame = readings.query(household, end_s - SPACING_LOOKBACK_S, end_s, "raw")
    if "Overall" not in frame:
        return None
    ts = frame.index[frame["Overall"].notna()]
    if len(ts) < 3:
        return None
    seconds = epoch_seconds(ts)
    return float(np.median(np.diff(seconds)))


def attach_model(
    keys: KeyStore,
    estimators: EstimatorStore,
    readings: ReadingStore,
    household: str,
    data: bytes,
    now_s: float,
    *,
    is_dataset: bool = False,
) -> AttachedModel:
    """Check the model file ``data`` against ``household`` and attach it (replacing the model
    of the same appliance). Raises the errors of the module doc."""
    if is_dataset:
        raise NotLive(
            f"household {household!r} is served from a dataset; estimate it offline with "
            "'python -m server nilm apply' (models are attached to live households)"
        )
    live = keys.get(household)
    if live is None:
        raise UnknownHousehold(f"unknown live household {household!r}")
    try:
        model = load_model(data)
    except (NilmError, EOFError, ValueError, KeyError, TypeError) as err:
        raise InvalidModel(f"not a usable Gridlight disaggregation model: {err}") from err
    except Exception as err:  # unpickling a damaged file raises about anything
        raise InvalidModel(f"not a usable Gridlight disaggregation model: {err!r}") from err
    appliance = model.appliance
    if appliance == "Overall":
        raise InvalidModel("the model estimates 'Overall', the whole-house channel itself")
    if appliance in live.channels:
        raise ApplianceMetered(
            f"household {household!r} meters {appliance!r} itself (channels: "
            f"{', '.join(live.channels)}); an estimate would not replace a real meter"
        )
    if model.lag_s > 0:
        raise InvalidModel(
            f"the {appliance} model is centred (its estimates come {model.lag_s} s late); "
            "train a live model with 'python -m server nilm train --causal'"
        )
    if "Overall" not in live.channels:
        raise InvalidModel(
            f"household {household!r} has no 'Overall' channel to estimate {appliance!r} from"
        )
    spacing_s = reporting_interval_s(readings, household, now_s)
    try:
        model.check_resolution(1 if spacing_s is None else max(1, round(spacing_s)))
    except NilmError as err:
        raise InvalidModel(f"household {household!r} reports every {spacing_s:g} s: {err}") from err
    return estimators.attach(household, appliance, _header(model), data, now_s)


def _header(model: Disaggregator) -> dict[str, Any]:
    header = {k: v for k, v in model.header.items() if k != "feature_names"}
    header["context_samples"] = model.context_samples  # the history it needs, for descriptions
    return header
