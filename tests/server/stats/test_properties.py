"""Properties that hold for any history: ordered thresholds, monotone classification."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from server.stats import LEVELS, classify, compute_stats

powers = st.lists(
    st.one_of(
        st.just(0.0),
        st.floats(min_value=0.0, max_value=20.0, allow_nan=False),
        st.just(float("nan")),
    ),
    min_size=2,
    max_size=400,
).filter(lambda xs: any(np.isfinite(xs)))


@settings(max_examples=60, deadline=None)
@given(powers)
def test_thresholds_ordered_and_levels_monotone(values):
    index = pd.date_range("2026-03-01", periods=len(values), freq="60s", tz="UTC")
    stats = compute_stats(pd.DataFrame({"P": values}, index=index), 60, fit=False)
    s = stats.channels["P"]
    finite = np.asarray(values)[np.isfinite(values)]
    assert s.p25_kw <= s.median_kw <= s.p75_kw < s.critical_kw
    assert s.critical_kw <= max(1.5 * finite.max(), finite.max() + 0.05)
    json.dumps(stats.to_json(), allow_nan=False)
    grid = np.linspace(0.0, 2 * s.critical_kw, 200)
    levels = classify(stats, pd.DataFrame({"P": grid}))["P"].map(LEVELS.index).to_numpy()
    assert (np.diff(levels) >= 0).all()
    assert levels[0] == 0 and levels[-1] == 2
