"""Epoch-aligned window averages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from server.stats.windows import StatsInputError, epoch_seconds, infer_resolution_s, window_means


def test_windows_are_aligned_to_the_epoch_and_skip_missing():
    index = pd.date_range("2026-01-01 00:00:03", periods=8, freq="1s", tz="UTC")
    values = np.array([1.0, 3.0, np.nan, 5.0, 7.0, 9.0, np.nan, np.nan])
    starts, means = window_means(values, epoch_seconds(index), 5)
    t0 = int(pd.Timestamp("2026-01-01", tz="UTC").timestamp())
    # 00:00:03-04 fall in [0, 5), 05-09 in [5, 10), 10 in [10, 15).
    assert_array_equal(starts, [t0, t0 + 5, t0 + 10])
    assert_allclose(means, [2.0, 7.0, np.nan], equal_nan=True)


def test_two_dimensional_and_index_units_agree():
    index = pd.date_range("2026-01-01", periods=120, freq="1s", tz="UTC")
    data = np.column_stack([np.arange(120.0), np.ones(120)])
    for unit in ("s", "ms", "us", "ns"):
        starts, means = window_means(data, epoch_seconds(index.as_unit(unit)), 60)
        assert_allclose(means, [[29.5, 1.0], [89.5, 1.0]])
        assert starts[1] - starts[0] == 60


def test_resolution_and_bad_input():
    index = pd.date_range("2026-01-01", periods=10, freq="60s", tz="UTC")
    assert infer_resolution_s(index) == 60
    with pytest.raises(StatsInputError, match="positive"):
        window_means(np.ones(10), epoch_seconds(index), 0)
    with pytest.raises(StatsInputError, match="timezone-aware"):
        epoch_seconds(pd.DatetimeIndex(index.tz_localize(None)))
