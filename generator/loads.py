"""The loads of one household as events ``(start_s, end_s, power_w)`` in UTC epoch seconds.

* AC — a fixed-speed compressor under a thermostat dead-band. While the occupants want cooling
  (they are in a state the profile cools, and it is warmer outside than their comfort threshold
  for that stretch) the room warms at ``leak × (T_out − T_set) + internal gain`` [°C/min] and the
  compressor, while on, removes ``cooling_c_per_min`` (a little less when it is hotter outside),
  so on-runs last ``2·band / (cooling − gain)`` and off-runs ``2·band / gain``: the duty cycle
  rises with outdoor temperature. The first run of a session pulls the warm room down and is
  longer. The indoor fan runs through the whole session; each start has a short inrush.
* Geyser — a storage water heater. Hot-water draws (showers, dishes, hand washing; times from the
  profile, most anchored to waking, returning or going to bed) and standby losses empty the
  tank's energy; the element switches on when the deficit reaches the thermostat's dead-band
  and off when the tank is back at its set temperature. So there are long recoveries after
  showers and short standby-recovery cycles every few hours.
* Other (part of Overall only) — standby that wanders a little, a fridge compressor cycling
  (a little more often when it is hot), lighting while someone is up (full after dark, a
  fraction in daylight) and appliances with their phases (kettle, microwave, washing machine…).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field

import numpy as np

from generator.intervals import complement, intersect
from generator.occupancy import Occupancy
from generator.profile import STATES, Profile
from generator.weather import Weather

__all__ = ["Events", "ac_events", "geyser_events", "other_events"]

WATER_KWH_PER_L_K = 4.186 / 3600.0
INLET_RISE_K = 35.0  # tank set point above the cold inlet


@dataclass
class Events:
    """Collected events of one channel [epoch s, epoch s, W]."""

    starts: list[np.ndarray] = field(default_factory=list)
    ends: list[np.ndarray] = field(default_factory=list)
    watts: list[np.ndarray] = field(default_factory=list)

    def add(self, starts, ends, watts) -> None:  # type: ignore[no-untyped-def]
        starts = np.atleast_1d(np.asarray(starts, dtype=np.float64))
        ends = np.atleast_1d(np.asarray(ends, dtype=np.float64))
        watts = np.broadcast_to(np.asarray(watts, dtype=np.float64), starts.shape)
        self.starts.append(starts)
        self.ends.append(ends)
        self.watts.append(watts)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.starts:
            return np.empty(0), np.empty(0), np.empty(0)
        return (
            np.concatenate(self.starts),
            np.concatenate(self.ends),
            np.concatenate(self.watts),
        )


def ac_sessions(
    profile: Profile, occ: Occupancy, weather: Weather, rng: np.random.Generator
) -> list[tuple[float, float, bool]]:
    """Stretches when the occupants want cooling: ``(start, end, continues_previous)``.

    Every stretch of occupancy gets its own comfort threshold (people differ from day to day);
    on a 10-minute grid, cooling is wanted where the state is one the profile cools and the
    outdoor temperature is above that threshold.
    """
    spec = profile.ac
    comfort = np.full(len(STATES), np.inf)
    for state, value in spec.comfort_c.items():
        comfort[STATES.index(state)] = value
    thresholds = comfort[occ.states] + rng.normal(0.0, spec.comfort_sd_c, len(occ.states))
    grid = np.arange(float(occ.starts[0]), float(occ.ends[-1]), 600.0)
    k = np.searchsorted(occ.starts, grid, side="right") - 1
    want = weather.temp_c(grid + 300.0) > thresholds[k]
    edges = np.diff(want.view(np.int8), prepend=0, append=0)
    a, b = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    # A run that begins with a new stretch (someone came home, woke up) begins with it.
    new_stretch = (a == 0) | (k[a] != k[np.maximum(a - 1, 0)])
    starts = np.where(new_stretch, np.maximum(occ.starts[k[a]], grid[a] - 600.0), grid[a])
    ends = np.minimum(grid[b - 1] + 600.0, occ.ends[k[b - 1]])
    # Someone has to reach for the remote: a few minutes after the stretch begins.
    delayed = starts + rng.uniform(0.0, 600.0, len(starts))
    keep = delayed < ends - 300.0
    return [(s, e, False) for s, e in zip(delayed[keep].tolist(), ends[keep].tolist(), strict=True)]


def ac_events(
    profile: Profile, occ: Occupancy, weather: Weather, rng: np.random.Generator
) -> tuple[Events, list[tuple[float, float, bool]]]:
    """Compressor cycles, inrush and indoor fan of the AC; also returns the sessions."""
    spec = profile.ac
    events = Events()
    sessions = ac_sessions(profile, occ, weather, rng)
    if not sessions:
        return events, sessions
    t_set, band = spec.setpoint_c, spec.deadband_c
    low, high = t_set - band, t_set + band
    # Outdoor temperature by the minute (shared by the site's households) and the occupancy
    # state by bisection: the loop below only looks them up at the moments it needs.
    base, t_out_min = weather.minute_temps()
    last = len(t_out_min) - 1
    state_starts = occ.starts.tolist()
    state_codes = occ.states.tolist()
    gain_by_state = [spec.internal_gain_c_per_min.get(s, 0.0) for s in STATES]
    leak, cooling, rated_w = spec.leak_per_min, spec.cooling_c_per_min, spec.rated_kw * 1000.0
    cyc_s: list[float] = []
    cyc_e: list[float] = []
    cyc_w: list[float] = []
    # Random factors drawn up front: each loop pass takes at least 120 s of session time.
    most = int(sum(e - s for s, e, _ in sessions) / 120.0) + 2 * len(sessions) + 2
    jitters = rng.uniform(0.92, 1.08, most).tolist()
    spreads = rng.uniform(0.97, 1.03, most).tolist()
    k = 0
    for s, e, _ in sessions:
        t = s
        t_out = t_out_min[min(max(int((t - base) // 60), 0), last)]
        # The closed room has drifted most of the way towards outdoors.
        t_in = max(high, t_set + 0.7 * (t_out - t_set))
        on = True
        while t < e - 1:
            t_out = t_out_min[min(max(int((t - base) // 60), 0), last)]
            state = state_codes[max(bisect.bisect_right(state_starts, t) - 1, 0)]
            gain = leak * (t_out - t_set) + gain_by_state[state]
            jitter = jitters[k]
            if on:
                # Capacity falls and the draw rises a little as it gets hotter outside.
                net = cooling * max(0.5, 1.0 - 0.008 * (t_out - 35.0)) - gain
                if net <= 0.005:
                    dur = min(1800.0, e - t)  # cannot keep up: runs on
                else:
                    dur = min(max(120.0, (t_in - low) / net * 60.0 * jitter), e - t)
                    t_in = max(low, t_in - net * dur / 60.0)
                    on = False
                cyc_s.append(t)
                cyc_e.append(t + dur)
                cyc_w.append(rated_w * (1.0 + 0.012 * (t_out - 35.0)) * spreads[k])
            elif gain <= 0.002:
                dur = min(1800.0, e - t)  # the room is not warming: the compressor rests
            else:
                dur = min(max(180.0, (high - t_in) / gain * 60.0 * jitter), e - t)
                t_in = min(high, t_in + gain * dur / 60.0)
                on = True
            t += dur
            k += 1
    starts = np.array(cyc_s)
    ends = np.array(cyc_e)
    power = np.array(cyc_w)
    # Within a run the draw creeps up ~5 % as the condenser heats: 2-minute steps.
    n_seg = np.maximum(1, np.ceil((ends - starts) / 120.0)).astype(np.int64)
    cyc = np.repeat(np.arange(len(starts)), n_seg)
    k = np.arange(len(cyc)) - np.repeat(np.cumsum(n_seg) - n_seg, n_seg)
    seg_s = starts[cyc] + 120.0 * k
    seg_e = np.minimum(seg_s + 120.0, ends[cyc])
    creep = 0.95 + 0.05 * (1.0 - np.exp(-(120.0 * k + 60.0) / 400.0))
    seg_w = power[cyc] * creep * rng.uniform(0.995, 1.005, len(cyc))
    events.add(seg_s, seg_e, seg_w)
    events.add(starts, np.minimum(starts + 2.0, ends), 0.6 * power)  # inrush
    if spec.fan_kw > 0:
        sess = np.array([(s, e) for s, e, _ in sessions])
        events.add(sess[:, 0], sess[:, 1], spec.fan_kw * 1000.0)
    return events, sessions


def geyser_events(
    profile: Profile, occ: Occupancy, rng: np.random.Generator, t_end_s: float
) -> Events:
    """Element runs of the storage water heater."""
    spec = profile.geyser
    times, energy = [], []
    for draw in spec.draws:
        at = occ.place(rng, draw.timing)
        times.append(at)
        energy.append(rng.uniform(draw.energy_kwh[0], draw.energy_kwh[1], len(at)))
    t_draw = np.concatenate(times) if times else np.empty(0)
    e_draw = np.concatenate(energy) if energy else np.empty(0)
    # Cold water reaches the thermostat a minute or few after the tap opens.
    t_draw = t_draw + rng.uniform(60.0, 240.0, len(t_draw))
    order = np.argsort(t_draw, kind="stable")
    t_draw, e_draw = t_draw[order].tolist(), e_draw[order].tolist()

    band = spec.tank_l * WATER_KWH_PER_L_K * spec.deadband_c
    cap = spec.tank_l * WATER_KWH_PER_L_K * INLET_RISE_K
    loss = spec.standby_loss_kw
    net = spec.rated_kw - loss
    t = float(occ.starts[0])
    deficit = rng.uniform(0.0, band)
    heating = False
    on_at = 0.0
    runs_s: list[float] = []
    runs_e: list[float] = []
    i = 0
    while t < t_end_s:
        nxt = t_draw[i] if i < len(t_draw) else math.inf
        if heating:
            done = t + deficit / net * 3600.0
            if done <= nxt:
                runs_s.append(on_at)
                runs_e.append(done)
                t, deficit, heating = done, 0.0, False
                continue
            deficit -= net * (nxt - t) / 3600.0
        else:
            trip = t + (band - deficit) / loss * 3600.0
            if trip <= nxt:
                t, deficit, heating, on_at = trip, band, True, trip
                continue
            deficit += loss * (nxt - t) / 3600.0
        if nxt == math.inf:
            break
        t = nxt
        deficit = min(deficit + e_draw[i], cap)
        i += 1
        if not heating and deficit >= band:
            heating, on_at = True, t
    if heating:
        runs_s.append(on_at)
        runs_e.append(t_end_s)
    events = Events()
    if runs_s:
        n = len(runs_s)
        events.add(runs_s, runs_e, spec.rated_kw * 1000.0 * rng.uniform(0.97, 1.03, n))
    return events


def _cycles(
    rng: np.random.Generator,
    t0_s: float,
    t1_s: float,
    on_s: tuple[float, float],
    off_s: tuple[float, float],
    off_scale=None,  # type: ignore[no-untyped-def]
) -> tuple[np.ndarray, np.ndarray]:
    """On-runs of a free-running compressor over ``[t0_s, t1_s)``."""
    mean_cycle = (on_s[0] + off_s[0]) * 0.5
    n = int((t1_s - t0_s) / mean_cycle) + 4
    on = rng.uniform(on_s[0], on_s[1], n)
    off = rng.uniform(off_s[0], off_s[1], n)
    if off_scale is not None:
        approx = t0_s + np.cumsum(on + off)
        off = off * off_scale(approx)
    period = on + off
    starts = t0_s - rng.uniform(0, period[0]) + np.concatenate(([0.0], np.cumsum(period)[:-1]))
    keep = starts < t1_s
    return starts[keep], (starts + on)[keep]


def other_events(
    profile: Profile,
    occ: Occupancy,
    weather: Weather,
    rng: np.random.Generator,
    t0_s: float,
    t1_s: float,
) -> Events:
    """Standby, fridge, lighting and appliances (everything in Overall but AC and Geyser)."""
    events = Events()
    base = profile.base
    # Standby wanders by ±10 % in 5-30 minute steps.
    n = int((t1_s - t0_s) / 300.0) + 2
    edges = t0_s + np.concatenate(([0.0], np.cumsum(rng.uniform(300.0, 1800.0, n))))
    edges = edges[edges < t1_s + 1800.0]
    levels = base.standby_kw * 1000.0 * rng.uniform(0.9, 1.1, len(edges) - 1)
    events.add(edges[:-1], edges[1:], levels)

    if base.fridge_kw > 0:

        def hotter_shorter(t: np.ndarray) -> np.ndarray:
            return np.clip(1.0 - 0.02 * (weather.temp_c(t) - 28.0), 0.6, 1.4)

        f_s, f_e = _cycles(rng, t0_s, t1_s, base.fridge_on_s, base.fridge_off_s, hotter_shorter)
        fridge_w = base.fridge_kw * 1000.0 * rng.uniform(0.95, 1.05, len(f_s))
        events.add(f_s, f_e, fridge_w)
        events.add(f_s, f_s + 1.0, 1.5 * fridge_w)  # start-up surge

    light = profile.lighting
    act_s, act_e = occ.intervals(("active",))
    n = int((t1_s - t0_s) / 600.0) + 2
    seg = t0_s - 3600.0 + np.concatenate(([0.0], np.cumsum(rng.uniform(600.0, 3600.0, n))))
    seg_w = 1000.0 * rng.uniform(light.active_kw[0], light.active_kw[1], len(seg) - 1)
    p_s, p_e, _, ib = intersect(act_s, act_e, seg[:-1], seg[1:])
    p_w = seg_w[ib]
    rise, set_ = weather.daylight()
    dark_s, dark_e = set_[:-1] - 1800.0, rise[1:] + 1800.0
    d_s, d_e, ia, _ = intersect(p_s, p_e, dark_s, dark_e)
    events.add(d_s, d_e, p_w[ia])
    day_s, day_e = complement(dark_s, dark_e, float(dark_s[0]) - 86400.0, float(dark_e[-1]))
    l_s, l_e, ia, _ = intersect(p_s, p_e, day_s, day_e)
    events.add(l_s, l_e, p_w[ia] * light.daylight_fraction)
    if light.asleep_kw > 0:
        sl_s, sl_e = occ.intervals(("asleep",))
        events.add(sl_s, sl_e, light.asleep_kw * 1000.0)

    for app in profile.appliances:
        at = occ.place(rng, app.timing)
        t = at.copy()
        for phase in app.phases:
            dur = rng.uniform(phase.duration_s[0], phase.duration_s[1], len(at))
            watts = 1000.0 * rng.uniform(phase.power_kw[0], phase.power_kw[1], len(at))
            events.add(t, t + dur, watts)
            t = t + dur
    return events
