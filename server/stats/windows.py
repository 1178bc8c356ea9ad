"""Averaging readings into fixed windows aligned to the epoch.

A window of ``interval_s`` seconds starts at a multiple of ``interval_s`` since 1970-01-01 UTC
and holds the mean of the readings whose timestamps fall inside it (missing readings are
skipped; a window with no reading is missing). Everything is vectorised: one sort-free pass
with ``np.add.reduceat`` over the (already increasing) timestamps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["StatsInputError", "epoch_seconds", "infer_resolution_s", "row_means", "window_means"]


class StatsInputError(ValueError):
    """Input to the statistics that cannot be used as given (the message names the value)."""


def epoch_seconds(index: pd.DatetimeIndex) -> np.ndarray:
    """Whole seconds since the epoch of a tz-aware index, whatever its unit. [s]"""
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise StatsInputError("expected a timezone-aware (UTC) DatetimeIndex")
    return np.asarray(index.as_unit("s").asi8, dtype=np.int64)


def infer_resolution_s(index: pd.DatetimeIndex) -> int:
    """The data's sample spacing: the median gap between timestamps, at least 1 s. [s]"""
    secs = epoch_seconds(index)
    if secs.size < 2:
        return 1
    return max(1, int(np.median(np.diff(secs))))


def row_means(rows: np.ndarray) -> np.ndarray:
    """The mean of the non-missing values of each column of ``rows`` (shape ``(n, channels)``):
    one window's average; NaN for a column with none."""
    data = np.asarray(rows, dtype="float64")
    present = np.isfinite(data)
    counts = present.sum(axis=0)
    sums = np.where(present, data, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def window_means(
    values: np.ndarray, seconds: np.ndarray, interval_s: int
) -> tuple[np.ndarray, np.ndarray]:
    """Average ``values`` (shape ``(n,)`` or ``(n, channels)``) into epoch-aligned windows.

    ``seconds`` are the increasing epoch seconds of the rows. Returns ``(starts_s, means)``:
    the start of every window that holds at least one row, and the per-window mean of the
    non-missing values (NaN where a window has none for that channel).
    """
    if interval_s <= 0:
        raise StatsInputError(f"interval_s must be positive, got {interval_s!r}")
    data = np.asarray(values, dtype="float64")
    squeeze = data.ndim == 1
    if squeeze:
        data = data[:, None]
    if data.shape[0] == 0:
        empty = np.empty((0, data.shape[1]))
        return np.empty(0, dtype=np.int64), (empty[:, 0] if squeeze else empty)
    keys = np.floor_divide(seconds, interval_s)
    if np.any(np.diff(keys) < 0):
        raise StatsInputError("timestamps must be increasing")
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    present = ~np.isnan(data)
    sums = np.add.reduceat(np.where(present, data, 0.0), starts, axis=0)
    counts = np.add.reduceat(present.astype(np.int64), starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    window_starts = keys[starts] * interval_s
    return window_starts, (means[:, 0] if squeeze else means)
