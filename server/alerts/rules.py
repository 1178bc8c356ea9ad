"""Alert rules of one household, pure: fed closed windows and a clock, they answer alerts.

No Flask, no Redis, no I/O: :class:`HouseholdRules` is fed :class:`Observation` values (one per
closed window of the household, in order) and ``tick(now_s)`` calls, and returns :class:`Alert`
values. The engine (:mod:`server.alerts.engine`) feeds it from the hub; the tests and
``benchmarks/eval_alerts.py`` feed it crafted or replayed windows.

Rules (each keyed ``(household, rule)``):

* ``spike`` — a watched channel (``Overall`` by default) exceeds ``baseline × spike_threshold``
  (default 2.0). The baseline is the household's usual value for the window's local hour from
  the hourly quick statistics (``by=hour``; the day type's hour when it has enough history, else
  the hour, else overall; see :func:`hourly_baseline`): its **usual peak**, the right-tail
  critical value (the value that hour's windows exceed 1% of the time), floored at
  ``MIN_BASELINE_KW``. Not the median: a home's whole-house draw is routinely several times
  its hourly median (a geyser or an AC compressor starting), so "2 × median" fires tens of
  times a day on clean data; ``benchmarks/eval_alerts.py --baseline`` compares the figures
  (median: 5-30 false alerts per household-day; 75th percentile: 11-13; usual peak: 0).
* ``level`` — the worst level of the windows with readings is ``level_min`` (``red``) or worse for
  ``level_intervals`` consecutive windows. The alert's level is the worst level of that run.
* ``offline`` — no reading for ``offline_after_s`` (the meter is silent); clears on a reading.
  Silence is judged on the readings' own times: windows the meter closed with null values count
  by their times (a replayed or uploaded outage), while a meter that sent nothing at all is
  judged by the clock since it last sent (:meth:`HouseholdRules.tick`), so an hour of back-dated
  readings uploaded at once, without gaps, is no outage even though its readings are an hour old.
  Windows the hub closed by the clock alone (``generated``) carry nothing of the meter's.

One event is one alert: a rule's event opens when its condition holds and closes after
``clear_intervals`` windows without it (``offline`` closes on the first reading); a ``recovery``
notice is sent when an alerted event closes (``notify_recovery``). A new event of the same rule
within ``cooldown_s`` of that rule's previous alert opens silently (no alert, no recovery).
During the household's quiet hours (local time, ``[quiet_start, quiet_end)``, may wrap midnight)
alerts are still logged but marked ``quiet`` (not delivered), except ``critical`` ones; when the
period ends, the evaluator delivers one digest of them (:mod:`server.alerts.digest`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from server.stats import LEVELS, HouseholdStats, worst

__all__ = [
    "MIN_BASELINE_KW",
    "BASELINE_STAT",
    "BASELINE_STATS",
    "RULES",
    "SPIKE_MESSAGE",
    "Alert",
    "HouseholdRules",
    "Observation",
    "RuleSettings",
    "hourly_baseline",
    "in_quiet_hours",
]

RULES: tuple[str, ...] = ("spike", "level", "offline")
SPIKE_MESSAGE = (
    "Unusual energy spike detected: your home energy consumption has increased significantly. "
    "Please check your devices."
)
#: Figures of the hourly statistics a spike baseline may be (``ChannelStats`` attributes).
BASELINE_STATS: tuple[str, ...] = ("median_kw", "p75_kw", "critical_kw")
#: The one the rules use (see the module docstring for why).
BASELINE_STAT = "critical_kw"
#: Smallest baseline a spike is judged against (an appliance's usual value is often 0). [kW]
MIN_BASELINE_KW = 0.05
_RANK = {level: i for i, level in enumerate(LEVELS)}


@dataclass(frozen=True)
class RuleSettings:
    """One household's rule settings (validated by :mod:`server.alerts.settings`)."""

    timezone: str = "UTC"
    spike_enabled: bool = True
    spike_channels: tuple[str, ...] = ("Overall",)
    spike_threshold: float = 2.0
    level_enabled: bool = True
    level_min: str = "red"
    level_intervals: int = 3
    offline_enabled: bool = True
    offline_after_s: int = 900
    clear_intervals: int = 2
    cooldown_s: int = 1800
    notify_recovery: bool = True
    quiet_start_min: int | None = None  # minutes after local midnight
    quiet_end_min: int | None = None


@dataclass(frozen=True)
class Observation:
    """One closed window: average power [kW] (None: no reading), levels, spike baselines [kW]."""

    start_s: int
    interval_s: int
    power_kw: Mapping[str, float | None]
    level: Mapping[str, str]
    baseline_kw: Mapping[str, float | None] = field(default_factory=dict)
    #: closed by the hub's clock because nothing arrived (no reading of the meter's in it)
    generated: bool = False

    @property
    def end_s(self) -> int:
        return self.start_s + self.interval_s

    @property
    def has_readings(self) -> bool:
        return any(v is not None for v in self.power_kw.values())


@dataclass(frozen=True)
class Alert:
    """An alert (``kind="alert"``) or the recovery notice of one (``kind="recovery"``)."""

    household: str
    rule: str
    kind: str
    level: str
    ts_s: int  # when the condition was seen (end of the window, or the tick's clock) [epoch s]
    message: str
    values: dict[str, Any]
    quiet: bool = False  # inside quiet hours: logged, not delivered


def in_quiet_hours(settings: RuleSettings, ts_s: float) -> bool:
    """True when ``ts_s`` falls in the household's quiet hours (its local time)."""
    start, end = settings.quiet_start_min, settings.quiet_end_min
    if start is None or end is None or start == end:
        return False
    local = datetime.fromtimestamp(ts_s, UTC).astimezone(ZoneInfo(settings.timezone))
    minute = local.hour * 60 + local.minute
    return start <= minute < end if start < end else minute >= start or minute < end


def hourly_baseline(
    stats: HouseholdStats, channels: tuple[str, ...], start_s: int, stat: str = BASELINE_STAT
) -> dict[str, float | None]:
    """The usual value [kW] of each channel for the window starting at ``start_s``: ``stat``
    (:data:`BASELINE_STAT`) of its local hour (day type's hour, else hour, else overall; see
    :meth:`HouseholdStats.for_slot`). ``None`` for a channel the statistics do not know."""
    local = datetime.fromtimestamp(start_s, UTC).astimezone(ZoneInfo(stats.timezone))
    slot = (24 if local.weekday() >= 5 else 0) + local.hour if stats.by_hour else None
    out: dict[str, float | None] = {}
    for channel in channels:
        if channel not in stats.channels:
            out[channel] = None
            continue
        value = getattr(stats.for_slot(channel, slot), stat)
        out[channel] = float(value) if value is not None and math.isfinite(value) else None
    return out


@dataclass
class _Event:
    """State of one rule of one household."""

    active: bool = False
    alerted: bool = False  # this event raised an alert (not suppressed by the cooldown)
    clear: int = 0
    last_alert_s: float | None = None
    values: dict[str, Any] = field(default_factory=dict)
    level: str = "red"


class HouseholdRules:
    """The rules of one household. Not thread-safe: feed it from one thread."""

    def __init__(self, household: str, settings: RuleSettings | None = None) -> None:
        self.household = household
        self.settings = settings or RuleSettings()
        self.events = {rule: _Event() for rule in RULES}
        self._held = 0
        self._held_level = "green"
        self.last_reading_end_s: int | None = None
        self.last_sent_s: int | None = None  # when the meter last sent a window (tick's clock)

    def configure(self, settings: RuleSettings) -> None:
        """New settings; ongoing events and cooldowns are kept."""
        self.settings = settings

    # -- inputs ------------------------------------------------------------------------------
    def observe(self, obs: Observation, arrived_s: float | None = None) -> list[Alert]:
        """The alerts (and recovery notices) due after window ``obs``, which arrived at
        ``arrived_s`` (the clock of :meth:`tick`; default: the window's end)."""
        out: list[Alert] = []
        s = self.settings
        t = obs.end_s
        if obs.generated:
            return out  # nothing of the meter's: its silence is judged by tick()
        self.last_sent_s = t if arrived_s is None else int(arrived_s)
        if obs.has_readings:
            self.last_reading_end_s = max(self.last_reading_end_s or 0, t)
        out += self._offline(t)
        if not obs.has_readings:
            return out  # a silent window says nothing about spikes or levels
        spike = self._spike_values(obs) if s.spike_enabled else None
        level = self._level_run(obs) if s.level_enabled else None
        out += self._step("spike", spike, t)
        out += self._step("level", level, t)
        return out

    def tick(self, now_s: float) -> list[Alert]:
        """Alerts due by the clock alone: a meter that has sent nothing for ``offline_after_s``
        (judged from when it last sent, not from its last reading's time)."""
        s = self.settings
        if not s.offline_enabled or self.last_sent_s is None or self.last_reading_end_s is None:
            return []
        silent_s = int(now_s) - self.last_sent_s
        if silent_s < s.offline_after_s:
            return []
        values = {"silent_s": int(silent_s), "last_reading_end_s": self.last_reading_end_s}
        return self._step("offline", values, int(now_s), clear_after=1)

    # -- conditions --------------------------------------------------------------------------
    def _spike_values(self, obs: Observation) -> dict[str, Any] | None:
        s = self.settings
        found: dict[str, Any] | None = None
        for channel in s.spike_channels:
            value = obs.power_kw.get(channel)
            baseline = obs.baseline_kw.get(channel)
            if value is None or baseline is None or not math.isfinite(value):
                continue
            base = max(float(baseline), MIN_BASELINE_KW)
            ratio = value / base
            if value > s.spike_threshold * base and (found is None or ratio > found["ratio"]):
                found = {
                    "channel": channel,
                    "power_kw": round(float(value), 4),
                    "baseline_kw": round(base, 4),
                    "threshold": s.spike_threshold,
                    "ratio": round(ratio, 3),
                    "level": obs.level.get(channel, "red"),
                    "window_start_s": obs.start_s,
                    "interval_s": obs.interval_s,
                }
        return found

    def _level_run(self, obs: Observation) -> dict[str, Any] | None:
        s = self.settings
        level = worst(obs.level) if obs.level else "green"
        if _RANK[level] >= _RANK[s.level_min]:
            self._held += 1
            self._held_level = level if self._held == 1 else worst((self._held_level, level))
        else:
            self._held, self._held_level = 0, "green"
        if self._held < s.level_intervals:
            return None
        return {
            "level": self._held_level,
            "intervals": self._held,
            "channels": sorted(c for c, lv in obs.level.items() if _RANK[lv] >= _RANK[s.level_min]),
            "power_kw": {
                c: None if v is None else round(float(v), 4) for c, v in obs.power_kw.items()
            },
            "window_start_s": obs.start_s,
            "interval_s": obs.interval_s,
        }

    def _offline(self, t: int) -> list[Alert]:
        s = self.settings
        if not s.offline_enabled or self.last_reading_end_s is None:
            return []
        silent_s = t - self.last_reading_end_s
        if silent_s >= s.offline_after_s:
            values = {"silent_s": int(silent_s), "last_reading_end_s": self.last_reading_end_s}
            return self._step("offline", values, t, clear_after=1)
        if silent_s <= 0:  # a reading arrived: the meter is back
            return self._step("offline", None, t, clear_after=1)
        return []

    # -- events ------------------------------------------------------------------------------
    def _step(
        self, rule: str, values: dict[str, Any] | None, t: int, clear_after: int | None = None
    ) -> list[Alert]:
        s = self.settings
        ev = self.events[rule]
        if values is not None:
            ev.clear = 0
            if ev.active:
                if rule == "spike" and values["ratio"] > ev.values.get("ratio", 0):
                    ev.values = values  # the peak, for the recovery notice
                return []
            ev.active, ev.values = True, values
            ev.level = self._alert_level(rule, values)
            if ev.last_alert_s is not None and t - ev.last_alert_s < s.cooldown_s:
                ev.alerted = False
                return []
            ev.alerted, ev.last_alert_s = True, t
            return [self._make(rule, "alert", ev.level, t, values)]
        if not ev.active:
            return []
        ev.clear += 1
        if ev.clear < (clear_after or s.clear_intervals):
            return []
        ev.active, ev.clear = False, 0
        if ev.alerted and s.notify_recovery:
            ev.alerted = False
            return [self._make(rule, "recovery", "green", t, ev.values)]
        ev.alerted = False
        return []

    def _alert_level(self, rule: str, values: dict[str, Any]) -> str:
        if rule == "spike":
            return "critical" if values.get("level") == "critical" else "red"
        if rule == "level":
            return str(values["level"])
        return "red"  # offline: a silent meter is worth knowing, not worth waking anyone

    def _make(self, rule: str, kind: str, level: str, t: int, values: dict[str, Any]) -> Alert:
        return Alert(
            household=self.household,
            rule=rule,
            kind=kind,
            level=level,
            ts_s=t,
            message=message_of(rule, kind, level, values),
            values=dict(values),
            quiet=level != "critical" and in_quiet_hours(self.settings, t),
        )


def message_of(rule: str, kind: str, level: str, values: Mapping[str, Any]) -> str:
    """The human text of an alert."""
    if kind == "recovery":
        return {
            "spike": "Energy use is back to usual after the spike.",
            "level": "Your home's energy use is back out of the red.",
            "offline": "Your meter is reporting again.",
        }[rule]
    if rule == "spike":
        return SPIKE_MESSAGE
    if rule == "level":
        channels = ", ".join(values.get("channels", ())) or "your home"
        return (
            f"Energy use has been {level} for {values.get('intervals')} intervals "
            f"({channels}). Please check your devices."
        )
    minutes = int(values.get("silent_s", 0)) // 60
    return f"Your meter has not reported for {minutes} minutes. Please check its connection."
