"""Steps every importer shares: local times → UTC, a regular grid, a one-household dataset.

An importer reads its format into a frame of plain channel columns (average power [kW], NaN
where missing) on a UTC index, then :func:`onto_grid` puts it on a regular index at the
household's resolution and :func:`household_dataset` names the columns ``{household}_{channel}``
and adds the household's metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from generator.dataset import (
    Dataset,
    DatasetError,
    HouseholdInfo,
    column_name,
    validate_channel,
    validate_household_id,
    validate_timezone,
)

__all__ = ["household_dataset", "import_summary", "onto_grid", "to_utc"]


def to_utc(local: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Naive wall-clock times in ``timezone`` → UTC.

    The autumn hour that repeats is resolved by order (the first pass is the earlier one);
    where order cannot tell, and for spring-forward times that never happened, the time is NaT.
    """
    try:
        aware = local.tz_localize(timezone, ambiguous="infer", nonexistent="NaT")
    except Exception:  # noqa: BLE001 - pytz/zoneinfo raise various errors for 'infer'
        aware = local.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    return aware.tz_convert("UTC")


def onto_grid(frame: pd.DataFrame, resolution_s: int, *, origin: str = "start") -> pd.DataFrame:
    """``frame`` (sorted, unique UTC index) on a regular index every ``resolution_s`` seconds.

    Samples are averaged within each bin (a bin holds the samples from its label up to the next
    one); a bin without a sample is a NaN row, never zero. ``origin`` is ``"start"`` (bins start
    at the first timestamp, so data already on its own grid is unchanged) or ``"epoch"`` (bins at
    whole multiples of ``resolution_s`` since 1970, as the statistics' windows are).
    """
    if resolution_s <= 0:
        raise DatasetError(f"invalid resolution {resolution_s!r}: must be a positive number of s")
    if frame.empty:
        raise DatasetError("no readings to import")
    binned = frame.resample(f"{resolution_s}s", origin=origin, closed="left", label="left").mean()
    full = pd.date_range(
        binned.index[0], binned.index[-1], freq=f"{resolution_s}s", tz="UTC", name="ts"
    )
    return binned.reindex(full).astype("float64")


def household_dataset(
    frame: pd.DataFrame,
    household: str,
    *,
    name: str,
    timezone: str,
    resolution_s: int,
    source: str,
    archetype: str = "real",
) -> Dataset:
    """A one-household :class:`Dataset` from ``frame`` (columns are the channel names)."""
    validate_household_id(household)
    validate_timezone(timezone)
    channels: Sequence[str] = [validate_channel(str(c)) for c in frame.columns]
    table = frame.rename(columns={c: column_name(household, c) for c in channels})
    table.index.name = "ts"
    info = HouseholdInfo(
        id=household,
        name=name,
        archetype=archetype,
        timezone=timezone,
        channels=tuple(channels),
        resolution_s=int(resolution_s),
        source=source,
    )
    return Dataset(households={household: info}, table=table)


def import_summary(dataset: Dataset, household: str, out: Path, notes: Sequence[str] = ()) -> str:
    """The line an ``import`` command prints: rows, resolution, missing rows, notes."""
    rows = len(dataset.table)
    missing = int(dataset.table.isna().any(axis=1).sum())
    res = dataset.household(household).resolution_s
    extra = "".join(f"; {n}" for n in notes)
    return (
        f"imported {rows} rows at {res} s ({missing} with a missing value{extra}) "
        f"of household {household} into {out}"
    )
