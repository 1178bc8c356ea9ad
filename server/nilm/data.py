"""Reading what Gridlight's disaggregation needs from a dataset directory, and checking it.

* :func:`load_channels` reads only the asked columns of one household (``apply`` asks for
  ``Overall`` alone, so a dataset holding nothing else is enough) onto a regular grid at the
  household's resolution (a gap becomes NaN rows, never zeros).
* :func:`parse_until` reads an ISO 8601 instant (a time without an offset is UTC).
* :func:`to_resolution` averages a finer series onto a model's coarser grid.

Bad input raises :class:`NilmError` (a ``ValueError``; the CLI exits 2) naming the value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from generator.dataset import (
    CLEAN_FILE,
    CSV_CLEAN_FILE,
    HouseholdInfo,
    column_name,
    read_meta,
)
from server.stats.windows import window_means

__all__ = [
    "OVERALL",
    "HouseholdSeries",
    "NilmError",
    "load_channels",
    "parse_until",
    "to_resolution",
]

OVERALL = "Overall"


class NilmError(ValueError):
    """Input that disaggregation cannot use as given; the message names the bad value."""


@dataclass
class HouseholdSeries:
    """Some channels of one household on a regular grid: ``frame`` is indexed by UTC ``ts`` at
    ``info.resolution_s`` with plain channel names as columns. [kW]"""

    info: HouseholdInfo
    frame: pd.DataFrame


def _household(path: Path, household: str) -> HouseholdInfo:
    households, _ = read_meta(path)
    if household not in households:
        known = ", ".join(sorted(households)) or "none"
        raise NilmError(f"unknown household {household!r} in {str(path)!r} (known: {known})")
    return households[household]


def load_channels(
    dataset_dir: str | os.PathLike[str], household: str, channels: list[str]
) -> HouseholdSeries:
    """Read ``channels`` of ``household`` (and nothing else) from a dataset directory."""
    root = Path(dataset_dir)
    info = _household(root, household)
    for channel in channels:
        if channel not in info.channels:
            have = ", ".join(info.channels) or "none"
            what = "whole-house channel" if channel == OVERALL else "channel"
            raise NilmError(f"household {household!r} has no {what} {channel!r} (it has: {have})")
    cols = [column_name(household, c) for c in channels]
    if (root / CLEAN_FILE).exists():
        table = pd.read_parquet(root / CLEAN_FILE, engine="pyarrow", columns=cols)
        if "ts" in table.columns:
            table = table.set_index("ts")
    elif (root / CSV_CLEAN_FILE).exists():
        table = pd.read_csv(root / CSV_CLEAN_FILE, usecols=["ts", *cols], index_col="ts")
    else:
        raise NilmError(f"{str(root)!r} is not a dataset: it has no {CLEAN_FILE}")
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise NilmError(f"{str(root)!r} lists {missing[0]!r} but its table lacks that column")
    table.index = pd.DatetimeIndex(pd.to_datetime(table.index, utc=True), name="ts")
    table = table.astype("float64")
    table.columns = list(channels)
    return HouseholdSeries(info=info, frame=regular_grid(table, info.resolution_s))


def regular_grid(frame: pd.DataFrame, resolution_s: int) -> pd.DataFrame:
    """``frame`` on every step of ``resolution_s`` between its first and last rows (NaN in gaps)."""
    if frame.empty:
        return frame
    start, end = frame.index[0], frame.index[-1]
    grid = pd.date_range(start, end, freq=pd.Timedelta(seconds=resolution_s), name="ts")
    if len(grid) == len(frame) and grid.equals(frame.index):
        return frame
    return frame.reindex(grid)


def to_resolution(frame: pd.DataFrame, resolution_s: int) -> pd.DataFrame:
    """Average a regular ``frame`` onto epoch-aligned windows of ``resolution_s`` (regular)."""
    seconds = np.asarray(frame.index.as_unit("s").asi8, dtype=np.int64)
    starts, means = window_means(frame.to_numpy(dtype=np.float64), seconds, resolution_s)
    index = pd.DatetimeIndex(pd.to_datetime(starts, unit="s", utc=True), name="ts")
    out = pd.DataFrame(means, index=index, columns=frame.columns)
    return regular_grid(out, resolution_s)


def parse_until(text: str) -> pd.Timestamp:
    """An ISO 8601 instant as a UTC timestamp (no offset means UTC); raise naming ``text``."""
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError) as err:
        raise NilmError(
            f"invalid time {text!r}: expected ISO 8601, e.g. 2026-01-19T00:00:00Z"
        ) from err
    if ts is pd.NaT:
        raise NilmError(f"invalid time {text!r}: expected ISO 8601")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
