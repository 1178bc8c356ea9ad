"""Classification on the real UCI house: three weeks of thresholds, judged on the week after.

The bands are DESIGN.md's ("Classification"), which refine the issue's. The full table, by-hour
figures and the issue's stricter HeaterAC band are printed by ``benchmarks/eval_stats.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from generator.importers.uci import UCI_TIMEZONE, read_uci
from server.stats import classify, compute_stats
from server.stats.windows import epoch_seconds, window_means

JAN = "uci_household_power_2007-01.txt"


def windows(frame: pd.DataFrame, interval_s: int) -> pd.DataFrame:
    starts, means = window_means(frame.to_numpy(), epoch_seconds(frame.index), interval_s)
    return pd.DataFrame(
        means, index=pd.to_datetime(starts, unit="s", utc=True), columns=frame.columns
    )


@pytest.fixture(scope="module")
def january(real_data_dir):
    frame = read_uci(real_data_dir / JAN)
    cut = frame.index[0] + pd.Timedelta(days=21)
    return frame[frame.index < cut], frame[frame.index >= cut]


@pytest.fixture(scope="module", params=[60, 300, 900])
def judged(request, january):
    train, test = january
    interval_s = request.param
    stats = compute_stats(train, interval_s, timezone=UCI_TIMEZONE)
    return interval_s, stats, windows(train, interval_s), windows(test, interval_s)


def red_share(stats, frame: pd.DataFrame, channel: str) -> float:
    values = frame[[channel]].dropna()
    return float((classify(stats, values)[channel] == "red").mean())


def test_whole_house_red_share(judged):
    _, stats, _, test = judged
    assert 0.001 <= red_share(stats, test, "Overall") <= 0.05


def test_heater_at_its_usual_level_is_not_red(judged):
    # The seed's whole-distribution fit put the heater threshold below its on level: 90% of
    # the next week's readings were red. Here its plateau is normal.
    _, stats, _, test = judged
    assert red_share(stats, test, "HeaterAC") <= 0.05
    on = test["HeaterAC"][test["HeaterAC"] > 0.5].dropna()
    levels = classify(stats, on.to_frame())["HeaterAC"]
    assert (levels != "red").mean() >= 0.95


def test_thresholds_are_reachable(judged):
    _, stats, _, _ = judged
    for channel, s in stats.channels.items():
        assert s.p75_kw < s.critical_kw <= 1.5 * s.max_kw, channel


def test_spikes_are_red_or_critical(judged):
    # Spikes like the generator's: x10 from at least the channel's usual on level.
    _, stats, train, test = judged
    for channel in ("Overall", "HeaterAC"):
        history = train[channel].dropna().to_numpy()
        usual = np.median(history[history > 0.1 * history.max()])
        values = test[[channel]].dropna()
        spiked = values.clip(lower=usual) * 10
        levels = classify(stats, spiked)[channel]
        assert levels.isin(["red", "critical"]).mean() >= 0.99, channel


def test_by_hour_on_real_data(january):
    train, test = january
    stats = compute_stats(train, 900, timezone=UCI_TIMEZONE, by_hour=True)
    test_w = windows(test, 900)
    assert 0.001 <= red_share(stats, test_w, "Overall") <= 0.05
    assert red_share(stats, test_w, "HeaterAC") <= 0.05
    for channel, per_hour in stats.hours.items():
        for hour, s in per_hour.items():
            assert s.critical_kw <= max(1.5 * s.max_kw, s.max_kw + 0.05), (channel, hour)
