from __future__ import annotations

import pytest
from numpy.testing import assert_allclose

from generator.times import format_ts, parse_ts
from server.streaming.aggregate import EventKey, WindowAggregator

T0 = 1_763_792_750  # a multiple of 5 and 10


def reading(ts: int, ac: float | None, index: int | None = None) -> dict:
    out = {"ts": format_ts(ts), "power_kw": {"AC": ac, "Overall": 1.0}}
    if index is not None:
        out["index"] = index
    return out


def feed(agg: WindowAggregator, entries):  # noqa: ANN001, ANN201
    out = []
    for entry_id, r in entries:
        out.extend(agg.feed(entry_id, r))
    return out


def test_windows_align_to_epoch_and_close_on_next_window():
    agg = WindowAggregator(("AC", "Overall"), 5)
    entries = [(f"{1000 + i}-0", reading(T0 + 2 + i, float(i), index=100 + i)) for i in range(8)]
    windows = feed(agg, entries[:3])
    # readings at T0+2..T0+9: window [T0, T0+5) holds i=0..2 and closes with its last second
    assert len(windows) == 1
    w = windows[0]
    assert w.start_s == T0
    assert_allclose(w.power_kw["AC"], (0 + 1 + 2) / 3)
    assert w.key == EventKey(1002, 0)
    assert str(w.key) == "1002-0"
    assert w.index == 100 - 2  # the dataset second at the window's start
    assert agg.open_start_s is None
    assert feed(agg, entries[3:7]) == []
    assert agg.open_start_s == T0 + 5
    (w2,) = feed(agg, entries[7:])
    assert w2.start_s == T0 + 5 and w2.key == EventKey(1007, 0)
    assert_allclose(w2.power_kw["AC"], (3 + 4 + 5 + 6 + 7) / 5)


def test_a_window_missing_its_last_second_closes_on_the_next_reading():
    agg = WindowAggregator(("AC",), 5)
    assert feed(agg, [("1-0", reading(T0, 1.0)), ("2-0", reading(T0 + 3, 3.0))]) == []
    (w,) = feed(agg, [("3-0", reading(T0 + 6, 1.0))])
    assert w.start_s == T0 and w.power_kw["AC"] == 2.0 and w.key == EventKey(2, 0)


def test_missing_values_are_null_never_zero():
    agg = WindowAggregator(("AC", "Overall"), 5)
    entries = [(f"{i + 1}-0", reading(T0 + i, None)) for i in range(6)]
    (w,) = feed(agg, entries)
    assert w.power_kw["AC"] is None
    assert w.power_kw["Overall"] == 1.0
    agg2 = WindowAggregator(("AC",), 5)
    bad = [("1-0", {"ts": format_ts(T0), "power_kw": {"AC": float("nan")}})]
    bad.append(("2-0", {"ts": format_ts(T0 + 1), "power_kw": {"AC": "x"}}))
    bad.append(("3-0", reading(T0 + 5, 1.0)))
    (w2,) = feed(agg2, bad)
    assert w2.power_kw["AC"] is None


def test_silence_between_readings_gives_empty_windows_with_ordered_keys():
    agg = WindowAggregator(("AC",), 5)
    windows = feed(agg, [("10-0", reading(T0, 1.0)), ("11-0", reading(T0 + 17, 2.0))])
    assert [w.start_s for w in windows] == [T0, T0 + 5, T0 + 10]
    assert [w.power_kw["AC"] for w in windows] == [1.0, None, None]
    keys = [w.key for w in windows]
    assert keys == sorted(keys)
    assert str(keys[1]) == f"10-0.{T0 + 5}"
    assert EventKey.parse(str(keys[1])) == keys[1]
    assert keys[-1] < EventKey(11, 0)


def test_late_readings_are_dropped_and_counted():
    agg = WindowAggregator(("AC",), 5)
    feed(agg, [("1-0", reading(T0, 1.0)), ("2-0", reading(T0 + 5, 1.0))])
    assert feed(agg, [("3-0", reading(T0 + 1, 9.0))]) == []
    assert agg.late == 1


def test_tick_closes_a_silent_meters_windows_after_grace():
    agg = WindowAggregator(("AC",), 5)
    feed(agg, [("1-0", reading(T0 + 1, 2.0))])  # and then nothing
    assert agg.tick(T0 + 5 + 9.9, grace_s=10) == []
    (w,) = agg.tick(T0 + 5 + 10, grace_s=10)
    assert w.power_kw["AC"] == 2.0
    empty = agg.tick(T0 + 20 + 10, grace_s=10)
    assert [e.start_s for e in empty] == [T0 + 5, T0 + 10, T0 + 15]
    assert all(e.power_kw["AC"] is None for e in empty)
    assert agg.tick(T0 + 20 + 10, grace_s=10) == []


def test_resume_state_continues_identically():
    entries = [(f"{100 + i}-0", reading(T0 + i, float(i % 7))) for i in range(40)]
    full = feed(WindowAggregator(("AC",), 5), entries)
    cut = full[2]
    resumed = WindowAggregator(("AC",), 5, last_closed_s=cut.start_s, anchor=cut.key)
    after = [e for e in entries if EventKey(*map(int, e[0].split("-"))) > cut.key]
    assert feed(resumed, after) == full[3:]


@pytest.mark.parametrize("bad", ["", "abc", "1-", "-1", "1-2.x", "1.5-2"])
def test_bad_event_ids(bad):
    with pytest.raises(ValueError, match="invalid event id"):
        EventKey.parse(bad)


def test_parse_ts():
    assert parse_ts("2026-11-22T06:25:50Z") == parse_ts("2026-11-22T11:55:50+05:30")
    assert parse_ts(12.7) == 12
    with pytest.raises(ValueError, match="no time zone"):
        parse_ts("2026-11-22T06:25:50")


def test_a_channel_value_counts_once_per_second():
    """A reading sent twice (re-sent after a broker restart, a publish retried after a lost
    reply) leaves the average as it was; channels of one second may come in separate readings."""
    agg = WindowAggregator(("AC", "Overall"), 5)
    once = feed(agg, [(f"{1000 + i}-0", reading(T0 + i, float(i))) for i in range(5)])
    agg = WindowAggregator(("AC", "Overall"), 5)
    entries = [(f"{1000 + i}-0", reading(T0 + i, float(i))) for i in range(3)]
    entries += [("1003-0", reading(T0 + 1, 99.0)), ("1004-0", reading(T0 + 2, 1.0))]
    entries += [("1005-0", {"ts": format_ts(T0 + 3), "power_kw": {"AC": 3.0}})]
    entries += [("1006-0", {"ts": format_ts(T0 + 3), "power_kw": {"Overall": 1.0, "AC": 7.0}})]
    entries += [("1007-0", reading(T0 + 4, 4.0))]
    twice = feed(agg, entries)
    assert [w.power_kw for w in twice] == [w.power_kw for w in once]
    assert twice[0].power_kw == {"AC": 2.0, "Overall": 1.0}
    assert twice[0].key == EventKey(1007, 0)


class _Feed:
    """Entries in stream order, ids increasing."""

    def __init__(self, agg: WindowAggregator) -> None:
        self.agg, self.n = agg, 0

    def __call__(self, ts: int, **power_kw: float) -> list:
        self.n += 1
        return self.agg.feed(f"{self.n}-0", {"ts": format_ts(ts), "power_kw": power_kw})


def test_a_held_estimate_fills_the_finer_windows_of_its_model_window():
    """A 60 s model's estimates (one reading a minute, stamped at the start of the minute after
    the one estimated) in 1 s windows: each second shows the latest estimate; one a little late
    leaves the previous one showing; with none for two model windows the value is None."""
    m0 = T0 - T0 % 60 + 60
    agg = WindowAggregator(("Overall", "AC"), 1, estimates={"AC": 60})
    assert agg.held == {"AC": 60} and agg.estimated == ("AC",)
    feed = _Feed(agg)
    # no estimate yet: the second has its Overall, the AC None; an estimate alone closes nothing
    assert [w.power_kw for w in feed(m0, Overall=1.0)] == [{"Overall": 1.0, "AC": None}]
    assert feed(m0, AC=0.5) == []
    (w,) = feed(m0 + 1, Overall=2.0)
    assert w.power_kw == {"Overall": 2.0, "AC": 0.5} and w.estimated == ("AC",)
    # the next minute's estimate arrives after that minute's first two seconds: they show 0.5
    shown = [feed(m0 + 60 + k, Overall=1.0)[-1].power_kw["AC"] for k in range(2)]
    assert shown == [0.5, 0.5]
    assert feed(m0 + 60, AC=0.7) == []
    assert feed(m0 + 62, Overall=1.0)[-1].power_kw["AC"] == 0.7
    # the estimator stops: 0.7 (of the model window m0+60) shows until m0+60 + 2 * 60
    assert feed(m0 + 179, Overall=1.0)[-1].power_kw["AC"] == 0.7
    assert feed(m0 + 180, Overall=1.0)[-1].power_kw["AC"] is None


def test_reconfigure_keeps_the_open_windows_sums_of_the_channels_it_keeps():
    """A channel dropped or added while a window is open (a model detached or attached): the
    channels kept keep what the window had, the new one starts empty."""
    agg = WindowAggregator(("AC", "Overall"), 5)
    feed = _Feed(agg)
    start = T0
    feed(start, AC=1.0, Overall=2.0)
    feed(start + 1, AC=3.0, Overall=4.0)
    agg.reconfigure(("Overall", "Geyser"))
    feed(start + 1, Overall=100.0, Geyser=9.0)  # a repeat of Overall's second: not counted
    (w,) = feed(start + 4, Overall=6.0, Geyser=1.0)
    assert w.power_kw == {"Overall": 4.0, "Geyser": 5.0}
