"""PushPolicy: escalation at once, de-escalation after a hold, flicker never pushes."""

from __future__ import annotations

import pytest

from widget_api.policy import NORMAL, URGENT, PushPolicy


def run(levels: list[str], hold: int = 3) -> list[str | None]:
    policy = PushPolicy(hold)
    return [policy.observe(level) for level in levels]


def test_the_first_level_is_the_baseline():
    assert run(["red"]) == [None]
    assert run(["green", "green", "green"]) == [None, None, None]


@pytest.mark.parametrize("to", ["red", "critical"])
def test_escalation_is_pushed_at_once_and_once(to):
    assert run(["green", to, to, to]) == [None, URGENT, None, None]


def test_red_to_critical_and_back_to_red_are_urgent():
    assert run(["green", "red", "critical", "red"]) == [None, URGENT, URGENT, URGENT]


@pytest.mark.parametrize("hold", [1, 2, 3, 5])
def test_a_change_to_green_must_hold(hold):
    levels = ["red"] + ["green"] * (hold + 2)
    expected = [None] * hold + [NORMAL] + [None, None]
    assert run(levels, hold) == expected


def test_yellow_after_green_also_holds():
    assert run(["green", "yellow", "yellow", "yellow", "yellow"]) == [
        None,
        None,
        None,
        NORMAL,
        None,
    ]


def test_flicker_around_a_threshold_never_pushes():
    flicker = ["green", "yellow", "green", "yellow", "yellow", "green", "yellow", "green"]
    assert run(flicker) == [None] * len(flicker)


def test_a_new_candidate_restarts_the_hold():
    # red → yellow, yellow, then green: the hold restarts for green
    assert run(["red", "yellow", "yellow", "green", "green", "green"]) == [
        None,
        None,
        None,
        None,
        None,
        NORMAL,
    ]


def test_escalation_during_a_hold_cancels_it():
    assert run(["red", "green", "green", "red", "green", "green", "green"]) == [
        None,
        None,
        None,
        None,
        None,
        None,
        NORMAL,
    ]


@pytest.mark.parametrize("hold", [0, -1, 1.5, True, "3"])
def test_bad_hold(hold):
    with pytest.raises(ValueError, match="hold_windows must be a whole number >= 1"):
        PushPolicy(hold)


def test_unknown_level():
    with pytest.raises(ValueError, match="unknown level 'blue'"):
        PushPolicy().observe("blue")
