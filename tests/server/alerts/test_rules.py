"""The rules on crafted windows: spike, held level, offline, recovery, dedup, cooldown, quiet."""

from __future__ import annotations

import calendar

import pytest
from numpy.testing import assert_allclose

from server.alerts.rules import (
    SPIKE_MESSAGE,
    HouseholdRules,
    Observation,
    RuleSettings,
    in_quiet_hours,
)

T0 = calendar.timegm((2026, 11, 22, 6, 0, 0))  # 11:30 in Asia/Kolkata
INTERVAL_S = 60


def obs(i: int, overall_kw: float | None, level: str = "green", base: float = 0.5) -> Observation:
    power = {"Overall": overall_kw}
    levels = {} if overall_kw is None else {"Overall": level}
    return Observation(T0 + i * INTERVAL_S, INTERVAL_S, power, levels, {"Overall": base})


def feed(rules: HouseholdRules, windows: list[Observation]) -> list:
    out = []
    for w in windows:
        out += rules.observe(w)
    return out


def only(rule: str, alerts: list) -> list:
    return [(a.rule, a.kind, a.level) for a in alerts if a.rule == rule]


def test_spike_fires_above_baseline_times_threshold_once_then_recovers():
    rules = HouseholdRules("A", RuleSettings(level_enabled=False, clear_intervals=2))
    values = [0.5, 0.99, 1.01, 3.0, 0.4, 0.4, 0.4]
    alerts = feed(rules, [obs(i, v) for i, v in enumerate(values)])
    assert only("spike", alerts) == [("spike", "alert", "red"), ("spike", "recovery", "green")]
    first = alerts[0]
    assert first.message == SPIKE_MESSAGE
    assert first.ts_s == T0 + 3 * INTERVAL_S  # the end of the window at 1.01 kW
    assert_allclose([first.values["power_kw"], first.values["baseline_kw"]], [1.01, 0.5])
    assert alerts[1].values["power_kw"] == 3.0  # the recovery reports the peak
    assert alerts[1].ts_s == T0 + 6 * INTERVAL_S  # after two clear windows


def test_spike_threshold_is_per_household_and_baseline_has_a_floor():
    rules = HouseholdRules("A", RuleSettings(level_enabled=False, spike_threshold=3.0))
    assert feed(rules, [obs(0, 1.4), obs(1, 1.49)]) == []
    assert only("spike", feed(rules, [obs(2, 1.6)])) == [("spike", "alert", "red")]
    zero = HouseholdRules("B", RuleSettings(level_enabled=False))
    assert feed(zero, [obs(0, 0.09, base=0.0)]) == []  # 2 × MIN_BASELINE_KW = 0.1 kW
    assert only("spike", feed(zero, [obs(1, 0.11, base=0.0)])) == [("spike", "alert", "red")]


def test_one_event_is_one_alert_and_the_cooldown_holds_back_the_next():
    rules = HouseholdRules("A", RuleSettings(level_enabled=False, cooldown_s=30 * 60))
    spiky = [2.0, 0.4, 2.0, 2.0, 0.4, 0.4]  # one blip back within clear_intervals: same event
    alerts = feed(rules, [obs(i, v) for i, v in enumerate(spiky)])
    assert only("spike", alerts) == [("spike", "alert", "red"), ("spike", "recovery", "green")]
    # a new event 10 minutes after the first alert: inside the cooldown, silent (no recovery)
    assert feed(rules, [obs(i, v) for i, v in enumerate([2.0, 0.4, 0.4], start=10)]) == []
    # 31 minutes after: alerted again
    later = feed(rules, [obs(31, 2.0)])
    assert only("spike", later) == [("spike", "alert", "red")]


def test_red_held_for_n_intervals_and_critical_is_the_worst_of_the_run():
    rules = HouseholdRules("A", RuleSettings(spike_enabled=False, level_intervals=3))
    assert feed(rules, [obs(0, 1.0, "red"), obs(1, 1.0, "red"), obs(2, 0.4, "yellow")]) == []
    run = [obs(3, 1.0, "red"), obs(4, 1.0, "critical"), obs(5, 1.0, "red")]
    alerts = feed(rules, run)
    assert only("level", alerts) == [("level", "alert", "critical")]
    assert alerts[0].values["intervals"] == 3
    alerts = feed(rules, [obs(6, 0.4, "green"), obs(7, 0.4, "green")])
    assert only("level", alerts) == [("level", "recovery", "green")]


def test_offline_after_m_minutes_of_silence_and_back_on_a_reading():
    rules = HouseholdRules("A", RuleSettings(spike_enabled=False, offline_after_s=15 * 60))
    feed(rules, [obs(0, 0.4)])  # last reading ends at T0 + 60
    assert rules.tick(T0 + 60 + 15 * 60 - 1) == []
    alerts = rules.tick(T0 + 60 + 15 * 60)
    assert only("offline", alerts) == [("offline", "alert", "red")]
    assert "15 minutes" in alerts[0].message
    assert rules.tick(T0 + 3600) == []  # still the same event
    assert feed(rules, [obs(i, None) for i in range(16, 30)]) == []  # empty windows: same event
    back = feed(rules, [obs(60, 0.4)])
    assert only("offline", back) == [("offline", "recovery", "green")]


def test_quiet_hours_mark_alerts_except_critical():
    quiet = RuleSettings(
        timezone="Asia/Kolkata", level_intervals=1, quiet_start_min=11 * 60, quiet_end_min=12 * 60
    )
    assert in_quiet_hours(quiet, T0)  # 11:30 local
    assert not in_quiet_hours(quiet, T0 + 3600)  # 12:30 local
    wrapping = RuleSettings(timezone="UTC", quiet_start_min=22 * 60, quiet_end_min=7 * 60)
    assert in_quiet_hours(wrapping, calendar.timegm((2026, 11, 22, 23, 0, 0)))
    assert in_quiet_hours(wrapping, calendar.timegm((2026, 11, 22, 6, 59, 0)))
    assert not in_quiet_hours(wrapping, calendar.timegm((2026, 11, 22, 7, 0, 0)))

    rules = HouseholdRules("A", quiet)
    red = feed(rules, [obs(0, 2.0, "red")])
    assert {(a.rule, a.quiet) for a in red} == {("spike", True), ("level", True)}
    other = HouseholdRules("B", quiet)
    critical = feed(other, [obs(0, 2.0, "critical")])
    assert {(a.rule, a.level, a.quiet) for a in critical} == {
        ("spike", "critical", False),
        ("level", "critical", False),
    }


@pytest.mark.parametrize("recovery", [True, False])
def test_recovery_notices_can_be_turned_off(recovery: bool):
    rules = HouseholdRules("A", RuleSettings(level_enabled=False, notify_recovery=recovery))
    alerts = feed(rules, [obs(0, 2.0), obs(1, 0.4), obs(2, 0.4)])
    assert [a.kind for a in alerts] == (["alert", "recovery"] if recovery else ["alert"])


def test_rules_import_no_flask():
    import ast
    import pathlib

    import server.alerts.rules as module

    tree = ast.parse(pathlib.Path(module.__file__).read_text())
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert not {"flask", "redis", "paho"} & {str(n).split(".")[0] for n in names}
