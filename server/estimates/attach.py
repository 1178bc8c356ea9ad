"""Attaching a disaggregation model to a live household, with the checks that make a bad one a
clear error (never a silent empty channel):

* unknown household → 404; a household served from a dataset (not live) → 409 (estimate it
  offline with ``python -m server nilm apply``);
* not a model file, or a centred model (``lag_s`` > 0: its estimates would come two hours late;
  train with ``--causal``) → 400 ``invalid_model``;
* an appliance the household meters for real → 409 ``appliance_metered``;
* readings coarser than the model's windows (a household reporting every 5 min given a 1-min
  model, judged from its latest stored readings) → 400 ``invalid_model``;
* a rating (``rated_w``: the household's appliance draws that much when on, where it differs
  from the one the model learned; see :meth:`server.nilm.Disaggregator.rated`) beyond a third
  to three times the model's learned level → 400 ``invalid_model``.

:func:`load_model` reads a model file's bytes as kept in the database. :func:`publish_model`
checks a file before the operator publishes it into the deployment's catalog (a model, causal,
not of ``Overall``); :func:`attach_published` attaches a published one by name (what the HTTP
API does: it never takes model bytes from a client, since loading them unpickles), and
:func:`usable_for` is the same checks from the catalog's headers, without loading anything.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from server.errors import GridlightError, NotFound, UnknownHousehold
from server.nilm import Disaggregator, NilmError
from server.stats.windows import epoch_seconds
from server.storage import KeyStore, LiveHousehold, ReadingStore
from server.storage.estimators import AttachedModel, CatalogModel, EstimatorStore, ModelCatalog

__all__ = [
    "ApplianceMetered",
    "InvalidModel",
    "NotLive",
    "UnknownModel",
    "attach_model",
    "attach_published",
    "load_model",
    "publish_model",
    "reporting_interval_s",
    "usable_for",
]

#: Latest stored seconds looked at to judge how often a household reports. [s]
SPACING_LOOKBACK_S = 6 * 3600


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


class UnknownModel(NotFound):
    """No model is published under that name in the deployment's catalog (404)."""

    code = "unknown_model"


def load_model(data: bytes) -> Disaggregator:
    """A :class:`Disaggregator` from a model file's bytes (trusted: it unpickles)."""
    fd, name = tempfile.mkstemp(prefix="gridlight-nilm-", suffix=".model")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return Disaggregator.load(name)
    finally:
        Path(name).unlink(missing_ok=True)


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


def _loaded(data: bytes) -> Disaggregator:
    try:
        return load_model(data)
    except (NilmError, EOFError, ValueError, KeyError, TypeError) as err:
        raise InvalidModel(f"not a usable Gridlight disaggregation model: {err}") from err
    except Exception as err:  # unpickling a damaged file raises about anything
        raise InvalidModel(f"not a usable Gridlight disaggregation model: {err!r}") from err


def _check_model(appliance: str, lag_s: int) -> None:
    """What makes a model unusable for any live household."""
    if appliance == "Overall":
        raise InvalidModel("the model estimates 'Overall', the whole-house channel itself")
    if lag_s > 0:
        raise InvalidModel(
            f"the {appliance} model is centred (its estimates come {lag_s} s late); "
            "train a live model with 'python -m server nilm train --causal'"
        )


def _check_fit(
    household: str,
    live: LiveHousehold,
    appliance: str,
    lag_s: int,
    resolution_s: int,
    spacing_s: float | None,
) -> None:
    """Raise unless a model of ``appliance`` (``lag_s``, ``resolution_s``) can estimate
    ``household``, which reports every ``spacing_s`` (``None``: not known yet)."""
    if appliance != "Overall" and appliance in live.channels:
        raise ApplianceMetered(
            f"household {household!r} meters {appliance!r} itself (channels: "
            f"{', '.join(live.channels)}); an estimate would not replace a real meter"
        )
    _check_model(appliance, lag_s)
    if "Overall" not in live.channels:
        raise InvalidModel(
            f"household {household!r} has no 'Overall' channel to estimate {appliance!r} from"
        )
    reported_s = 1 if spacing_s is None else max(1, round(spacing_s))
    problem = None
    if reported_s > resolution_s:
        problem = (
            f"readings at {reported_s} s are coarser than the model's {resolution_s} s; "
            f"train a model at {reported_s} s for this household"
        )
    elif resolution_s % reported_s:
        problem = f"readings at {reported_s} s do not divide the model's {resolution_s} s"
    if problem is not None:
        raise InvalidModel(f"household {household!r} reports every {spacing_s:g} s: {problem}")


def _live(keys: KeyStore, household: str, is_dataset: bool) -> LiveHousehold:
    if is_dataset:
        raise NotLive(
            f"household {household!r} is served from a dataset; estimate it offline with "
            "'python -m server nilm apply' (models are attached to live households)"
        )
    live = keys.get(household)
    if live is None:
        raise UnknownHousehold(f"unknown live household {household!r}")
    return live


def attach_model(
    keys: KeyStore,
    estimators: EstimatorStore,
    readings: ReadingStore,
    household: str,
    data: bytes,
    now_s: float,
    *,
    is_dataset: bool = False,
    catalog_name: str | None = None,
    rated_w: float | None = None,
) -> AttachedModel:
    """Check the model file ``data`` against ``household`` and attach it (replacing the model
    of the same appliance); ``catalog_name``: the catalog's name it was published under;
    ``rated_w``: the household's appliance rating, kept with the attachment and given to the
    model wherever it is loaded. Raises the errors of the module doc."""
    live = _live(keys, household, is_dataset)
    model = _loaded(data)
    try:
        model = model.rated(rated_w)
    except NilmError as err:
        raise InvalidModel(f"rated_w: {err}") from err
    spacing_s = reporting_interval_s(readings, household, now_s)
    _check_fit(household, live, model.appliance, model.lag_s, model.resolution_s, spacing_s)
    header = _header(model)
    if catalog_name is not None:
        header["catalog_name"] = catalog_name
    return estimators.attach(household, model.appliance, header, data, now_s)


def attach_published(
    keys: KeyStore,
    estimators: EstimatorStore,
    readings: ReadingStore,
    catalog: ModelCatalog,
    household: str,
    name: str,
    now_s: float,
    *,
    appliance: str | None = None,
    is_dataset: bool = False,
    rated_w: float | None = None,
) -> AttachedModel:
    """Attach the model published as ``name`` to ``household`` (``rated_w`` as
    :func:`attach_model`'s); with ``appliance``, the model must be of that appliance (400
    otherwise). :class:`UnknownModel` (404) for an unknown name;
    else the errors of :func:`attach_model`."""
    _live(keys, household, is_dataset)
    found = catalog.model(name)
    if found is None:
        raise UnknownModel(
            f"no model is published as {name!r}: see GET /api/v1/households/{household}/"
            "estimates/catalog (the operator publishes with 'python -m server nilm publish')"
        )
    entry, data = found
    if appliance is not None and entry.appliance != appliance:
        raise InvalidModel(
            f"the model {name!r} estimates {entry.appliance!r}, not {appliance!r}: attach it "
            f"under /estimates/{entry.appliance}"
        )
    return attach_model(
        keys,
        estimators,
        readings,
        household,
        data,
        now_s,
        is_dataset=is_dataset,
        catalog_name=name,
        rated_w=rated_w,
    )


def usable_for(
    keys: KeyStore,
    readings: ReadingStore,
    catalog: list[CatalogModel],
    household: str,
    now_s: float,
    *,
    is_dataset: bool = False,
) -> list[CatalogModel]:
    """The published models that ``household`` (live) could attach now: the checks of
    :func:`attach_model`, read from their headers (a dataset household: :class:`NotLive`)."""
    live = _live(keys, household, is_dataset)
    spacing_s = reporting_interval_s(readings, household, now_s)
    usable = []
    for entry in catalog:
        try:
            lag_s = int(entry.header.get("lag_s") or 0)
            _check_fit(household, live, entry.appliance, lag_s, entry.resolution_s, spacing_s)
        except GridlightError:
            continue
        usable.append(entry)
    return usable


def publish_model(catalog: ModelCatalog, name: str, data: bytes, now_s: float) -> CatalogModel:
    """Check the model file ``data`` (the operator's, trusted) and publish it as ``name``: a
    Gridlight model, causal, of an appliance (not ``Overall``). :class:`InvalidModel` else."""
    model = _loaded(data)
    _check_model(model.appliance, model.lag_s)
    return catalog.publish(name, model.appliance, _header(model), data, now_s)


def _header(model: Disaggregator) -> dict[str, Any]:
    header = {k: v for k, v in model.header.items() if k != "feature_names"}
    header["context_samples"] = model.context_samples  # the history it needs, for descriptions
    if model.rated_w is not None:  # what the household's estimates are scaled and judged by
        header["rated_w"] = model.rated_w
        header["rated_on_threshold_w"] = model.on_threshold_w
    return header
