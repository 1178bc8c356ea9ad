"""Classification of the generator's labelled faults, from thresholds of the clean table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from server.stats import classify, compute_stats

synth = pytest.importorskip("generator.synth")


@pytest.fixture(scope="module")
def faulty_week():
    return synth.generate(households=("A", "B", "C"), days=3, seed=0, fault_rate=0.01)


@pytest.mark.parametrize("household", ["A", "B", "C"])
def test_faults_are_flagged(faulty_week, household):
    info = faulty_week.household(household)
    clean = faulty_week.frame(household)
    stats = compute_stats(clean, 1, timezone=info.timezone, resolution_s=1)
    levels = classify(stats, faulty_week.frame(household, faulty=True))
    clean_levels = classify(stats, clean)
    faults = faulty_week.faults[faulty_week.faults["household"] == household]
    for channel in info.channels:
        labels = faults[faults["channel"] == channel]
        at = clean.index.get_indexer(pd.DatetimeIndex(labels["ts"]))
        kinds = labels["kind"].to_numpy()
        got = levels[channel].to_numpy()[at]
        assert (got[kinds == "negative"] == "critical").all(), channel
        assert (got[kinds == "missing"] == "critical").all(), channel
        history = clean[channel].to_numpy()
        on = history[history > 0.1 * history.max()]
        usual = np.median(on) if on.size else history.max()  # an idle channel: any spike
        faulty_values = faulty_week.frame(household, faulty=True)[channel].to_numpy()[at]
        big = (kinds == "spike") & (faulty_values >= 10 * usual)
        assert np.isin(got[big], ["red", "critical"]).all(), channel
        red = float((clean_levels[channel] == "red").mean())
        assert red <= 0.03, (channel, red)
        if channel == "Overall":
            assert red >= 0.003, red


def test_day_worker_ac_by_hour():
    # May in Kolkata: A runs AC in the evening; on weekdays the home is usually empty at 15:00.
    week = synth.generate(households=("A",), days=7, seed=0, start="2026-05-04")
    info = week.household("A")
    frame = week.frame("A")
    stats = compute_stats(frame, 60, timezone=info.timezone, by_hour=True, resolution_s=1)
    # Evening AC minutes (compressor running at 21:00): a low-end and a typical one.
    minutes = frame["AC"].resample("60s").mean()
    evening = minutes[(minutes.index.tz_convert(info.timezone).hour == 21) & (minutes > 0.5)]
    wednesday = pd.Timestamp("2026-05-06", tz=info.timezone)
    at_3pm, at_9pm = wednesday + pd.Timedelta(hours=15), wednesday + pd.Timedelta(hours=21)
    for power_kw in evening.quantile([0.1, 0.5]):
        # The same draw is unusual on a weekday afternoon and normal in the evening.
        assert classify(stats, {"AC": power_kw}, ts=at_3pm)["AC"] in {"yellow", "red"}
        assert classify(stats, {"AC": power_kw}, ts=at_9pm)["AC"] != "red"
    assert classify(stats, {"AC": evening.quantile(0.1)}, ts=at_9pm)["AC"] == "green"
    # Weekday afternoons have their own thresholds; without the day type the odd day off at
    # home would make AC at 15:00 look ordinary.
    assert stats.day_hours["weekday"]["AC"][15].p75_kw < 0.1
