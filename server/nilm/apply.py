"""Training from a dataset and writing estimated channels back as a dataset.

:func:`train_from_dataset` fits a :class:`~server.nilm.model.Disaggregator` on one household's
``Overall`` and appliance channels, or on several households' pooled, only on readings before
``until`` when given.
:func:`apply_to_dataset` reads nothing but a household's ``Overall`` channel and writes a dataset
(same format as :mod:`generator.dataset`) holding ``{H}_Overall`` and ``{H}_{appliance}``, the
estimate. The household's entry in ``households.json`` keeps its fields and gains
``"estimated": ["<appliance>"]`` (channels listed there are estimates, not meter readings) and
``"estimates": {"<appliance>": {model provenance}}``; readers that do not know these keys see an
ordinary dataset.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from generator.dataset import Dataset, HouseholdInfo, column_name, write_dataset
from server.nilm.data import OVERALL, NilmError, load_channels
from server.nilm.evaluate import split_at
from server.nilm.model import MIN_HISTORY_DAYS, Disaggregator

__all__ = ["ESTIMATED_KEY", "apply_to_dataset", "estimated_channels", "train_from_dataset"]

#: The households.json key listing a household's estimated channels.
ESTIMATED_KEY = "estimated"


def estimated_channels(info: HouseholdInfo) -> list[str]:
    """The channels of ``info`` that are estimates (empty for metered households)."""
    return list(info.estimated)


def train_from_dataset(
    dataset_dir: str | os.PathLike[str],
    household: str | Sequence[str],
    appliance: str,
    *,
    until: pd.Timestamp | None = None,
    causal: bool = False,
    transfer: bool = False,
    stacked: bool = False,
    on_threshold_w: float | None = None,
    min_history_days: float = MIN_HISTORY_DAYS,
) -> Disaggregator:
    """Train on the ``Overall`` and ``appliance`` readings (before ``until``) of ``household``,
    or of several households pooled (a model for households it has not seen, with
    ``transfer``; ``stacked`` for the second stage: see :meth:`Disaggregator.fit_pooled`)."""
    if appliance == OVERALL:
        raise NilmError("the appliance cannot be 'Overall', the whole-house channel itself")
    households = [household] if isinstance(household, str) else list(household)
    if len(set(households)) != len(households):
        raise NilmError(f"household listed twice in {households}; name each once")
    parts = []
    for h in households:
        series = load_channels(dataset_dir, h, [OVERALL, appliance])
        if appliance in estimated_channels(series.info):
            raise NilmError(
                f"channel {appliance!r} of household {h!r} is itself an estimate; "
                "train on a metered channel"
            )
        frame = series.frame
        if until is not None:
            frame, _ = split_at(frame, until)
        parts.append((frame, series.info))
    return Disaggregator.fit_pooled(
        parts,
        appliance,
        causal=causal,
        transfer=transfer,
        stacked=stacked,
        on_threshold_w=on_threshold_w,
        min_history_days=min_history_days,
    )


def apply_to_dataset(
    dataset_dir: str | os.PathLike[str],
    household: str,
    model: Disaggregator,
    out_dir: str | os.PathLike[str],
) -> dict[str, Any]:
    """Estimate ``model.appliance`` for ``household`` from its Overall channel alone and write
    the dataset to ``out_dir`` (which must not be ``dataset_dir``). Returns a summary."""
    if Path(out_dir).resolve() == Path(dataset_dir).resolve():
        raise NilmError(f"--out {str(out_dir)!r} is the input dataset; write elsewhere")
    series = load_channels(dataset_dir, household, [OVERALL])
    info = series.info
    overall = series.frame[OVERALL]
    if overall.notna().sum() == 0:
        raise NilmError(f"household {household!r} has no whole-house readings to estimate from")
    est = model.estimate(overall, info.timezone, info.resolution_s)
    appliance = model.appliance
    trained = model.header["trained_on"]
    notes = []
    if trained.get("archetype") != info.archetype:
        notes.append(
            f"model trained on household {trained.get('household')!r} "
            f"({trained.get('archetype')}) applied to {household!r} ({info.archetype})"
        )
    extra = dict(info.extra)
    extra[ESTIMATED_KEY] = [appliance]
    extra["estimates"] = {
        appliance: {
            "method": "gridlight-nilm",
            "features_version": model.header["features_version"],
            "on_threshold_w": model.on_threshold_w,
            "rated_w": model.rated_w,
            "model_resolution_s": model.resolution_s,
            "lag_s": model.lag_s,
            "trained_on": trained,
            "training_period": model.header["training_period"],
        }
    }
    out_info = HouseholdInfo(
        id=info.id,
        name=info.name,
        archetype=info.archetype,
        timezone=info.timezone,
        channels=(OVERALL, appliance),
        resolution_s=info.resolution_s,
        source=info.source,
        extra=extra,
    )
    table = pd.DataFrame(
        {column_name(household, OVERALL): overall, column_name(household, appliance): est},
        index=series.frame.index,
    )
    write_dataset(Dataset(households={household: out_info}, table=table), out_dir)
    present = est.notna()
    return {
        "household": household,
        "appliance": appliance,
        "estimated": [appliance],
        "samples": int(present.sum()),
        "energy_kwh": round(float(est.sum()) * info.resolution_s / 3600.0, 3),
        "out": str(out_dir),
        "notes": notes,
    }
