"""Features of a whole-house power series for Gridlight's appliance estimates (disaggregation).

An appliance that switches on adds a step to the household's ``Overall`` reading and removes it
when it switches off, so the features describe the level and its steps around every sample:

* the level itself [W], and its differences over a few sample lags (edges);
* rolling mean, min, max and standard deviation over windows of fixed length in seconds (a
  minute to two hours; at least two samples), and the level above the window's minimum (what
  rides on the base load);
* the size of the last large step up and down [W] and the time since each [s], capped at the
  longest window so that a recent window reproduces them exactly (see ``context_samples``);
* the time since (and, centred, until) the last step up and down the size of the appliance's
  own on level (0.6x-1.6x ``on_level_w``): an "on" stretch lies between such a pair;
* with ``memory_s`` (every model since ``edges-3``), past-only memory of hours: the lowest level
  over ``memory_s`` (the house's base load), and the last *sustained* step up and down the size
  of the appliance's level, found on the level's minimum over the past :data:`SUSTAIN_S` (so a
  kettle's or a hob's minutes on top do not count): the time since each, the level now and the
  lowest level since that step up above the level before it, and that lowest level as a share
  of ``on_level_w``. A water heater's run of three hours is still "a step of its size, held
  throughout" when its start has left the two-hour windows;
* the hour of day in the household's own time zone (``calendar``; transfer models leave it out,
  since another household keeps other hours);
* with ``relative_steps`` (transfer models): the current level relative to the steps that bound
  it — the level above the one before the last step up and above the one after the next step
  down, the sizes of those steps, how closely they match (down / up) and what share of the last
  step up is still present — for large steps and for steps the size of the appliance's own
  level. They describe an "on" stretch by its shape rather than by one household's watts.

Two variants: **centred** windows (also forward differences and the next large steps) see both
sides of a sample and are the most accurate for offline estimates; their value at a sample is
known only ``lag_samples`` later. **Causal** features use the past alone (lag 0), for live use.

Everything is vectorised over a regular grid at the model's resolution (NaN for a missing
reading); a feature that needs a missing reading is NaN, which the gradient-boosted models
accept. Pure: numpy and pandas only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = [
    "FEATURES_VERSION",
    "MEMORY_S",
    "FeatureSpec",
    "build_features",
    "hour_of_day",
    "stack_features",
]

#: Bumped whenever a feature changes meaning; a model records the version it was trained with.
FEATURES_VERSION = "edges-3"

WINDOWS_S: tuple[int, ...] = (60, 300, 900, 1800, 3600, 7200)
LAGS: tuple[int, ...] = (1, 2, 3, 5)
#: The past a model trained now remembers sustained steps and the base load over (``memory_s``). [s]
MEMORY_S = 4 * 3600
#: A step is sustained when it shows in the level's minimum over this past. [s]
SUSTAIN_S = 600


@dataclass(frozen=True)
class FeatureSpec:
    """What :func:`build_features` computes, stored with a model so that it is rebuilt alike.

    ``resolution_s`` is the grid step [s]; ``edge_w`` the smallest step counted as a switch [W];
    ``causal`` chooses past-only windows; ``windows_s`` the rolling windows [s]; ``lags`` the
    difference lags [samples]; ``current_only`` keeps the current level alone (a baseline);
    ``calendar`` adds the local hour of day; ``relative_steps`` the shape of the stretch between
    the surrounding steps (for models applied to other households); ``trend_windows_s`` trailing
    means over hours (how busy the day has been) [s]; ``stack_half_s`` the half-widths [s] of the
    windows over which a second stage reads the first stage's "on" probabilities (see
    :mod:`server.nilm.model`), which delay a centred estimate and lengthen the context;
    ``memory_s`` the past over which the base load and the last sustained steps are remembered
    [s] (0: none, as models before ``edges-3``); it lengthens the context, not the lag.
    """

    resolution_s: int
    edge_w: float
    on_level_w: float | None = None
    causal: bool = False
    windows_s: tuple[int, ...] = WINDOWS_S
    lags: tuple[int, ...] = LAGS
    current_only: bool = False
    calendar: bool = True
    relative_steps: bool = False
    trend_windows_s: tuple[int, ...] = ()
    stack_half_s: tuple[int, ...] = ()
    memory_s: int = 0
    version: str = FEATURES_VERSION

    def window_samples(self) -> list[int]:
        """The distinct window lengths in samples (at least 2 each)."""
        out: list[int] = []
        for w in self.windows_s:
            n = max(2, round(w / self.resolution_s))
            if n not in out:
                out.append(n)
        return out

    @property
    def longest_samples(self) -> int:
        """The longest window. [samples]"""
        return max(self.window_samples())

    def trend_samples(self) -> list[int]:
        """The trailing trend windows in samples (at least 2 each)."""
        return [max(2, round(w / self.resolution_s)) for w in self.trend_windows_s]

    def stack_halves(self) -> list[int]:
        """The half-widths of the second stage's windows in samples (at least 1 each)."""
        return [max(1, round(h / self.resolution_s)) for h in self.stack_half_s]

    @property
    def stack_half_samples(self) -> int:
        """The widest half-width of the second stage (0 without one). [samples]"""
        return max(self.stack_halves(), default=0)

    @property
    def memory_samples(self) -> int:
        """The past of the memory features (0 without them). [samples]"""
        return max(2, round(self.memory_s / self.resolution_s)) if self.memory_s else 0

    @property
    def sustain_samples(self) -> int:
        """The window whose minimum shows a sustained step. [samples]"""
        return max(2, round(SUSTAIN_S / self.resolution_s))

    @property
    def lag_samples(self) -> int:
        """How many samples after a sample its estimate is known (0 when causal)."""
        if self.causal or self.current_only:
            return 0
        return self.longest_samples + self.stack_half_samples

    @property
    def context_samples(self) -> int:
        """Samples of history a tail needs so its features (and the second stage's windows of
        first-stage probabilities) equal the batch ones."""
        trend = max(self.trend_samples(), default=0)
        # the memory reaches back to the level before a step up (2 samples) on a minimum filter
        memory = self.memory_samples + self.sustain_samples + 2 if self.memory_s else 0
        return (
            2 * self.longest_samples
            + max(self.lags)
            + 1
            + trend
            + 2 * self.stack_half_samples
            + memory
        )

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["windows_s"] = list(self.windows_s)
        out["lags"] = list(self.lags)
        out["trend_windows_s"] = list(self.trend_windows_s)
        out["stack_half_s"] = list(self.stack_half_s)
        return out

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> FeatureSpec:
        return cls(
            resolution_s=int(raw["resolution_s"]),  # type: ignore[arg-type]
            edge_w=float(raw["edge_w"]),  # type: ignore[arg-type]
            on_level_w=None if raw.get("on_level_w") is None else float(raw["on_level_w"]),  # type: ignore[arg-type]
            causal=bool(raw.get("causal", False)),
            windows_s=tuple(int(w) for w in raw.get("windows_s", WINDOWS_S)),  # type: ignore[attr-defined]
            lags=tuple(int(k) for k in raw.get("lags", LAGS)),  # type: ignore[attr-defined]
            current_only=bool(raw.get("current_only", False)),
            calendar=bool(raw.get("calendar", True)),
            relative_steps=bool(raw.get("relative_steps", False)),
            trend_windows_s=tuple(int(w) for w in raw.get("trend_windows_s", ())),  # type: ignore[attr-defined]
            stack_half_s=tuple(int(h) for h in raw.get("stack_half_s", ())),  # type: ignore[attr-defined]
            memory_s=int(raw.get("memory_s", 0)),  # type: ignore[call-overload]
            version=str(raw.get("version", FEATURES_VERSION)),
        )


def hour_of_day(index: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Local hour of day as a fraction (0 ≤ h < 24) of each timestamp in ``timezone``. [h]"""
    local = index.tz_convert(timezone)
    return (local.hour + local.minute / 60.0).to_numpy(dtype=np.float32)


def _steps(
    diff: np.ndarray,
    edge_w: float,
    limit: int,
    *,
    sign: float,
    backward: bool,
    upper_w: float = np.inf,
) -> tuple[np.ndarray, np.ndarray]:
    """Size [W] of the last (or, ``backward``, the next) step with ``sign`` between ``edge_w``
    and ``upper_w``, and the distance to it [samples]; NaN / ``limit`` when none lies within
    ``limit``."""
    n = diff.size
    hit = ((sign * diff) > edge_w) & ((sign * diff) < upper_w)
    pos = np.where(hit, np.arange(n, dtype=np.float64), np.nan)
    size = np.where(hit, np.abs(diff), np.nan)
    frame = pd.DataFrame({"pos": pos, "size": size})
    filled = frame.bfill() if backward else frame.ffill()
    distance = np.abs(filled["pos"].to_numpy(dtype=np.float64, copy=True) - np.arange(n))
    far = ~(distance <= limit)
    step = filled["size"].to_numpy(dtype=np.float64, copy=True)
    step[far] = np.nan
    distance[far] = limit
    return step, distance


def _step_positions(
    diff: np.ndarray, low_w: float, high_w: float, limit: int, *, sign: float, backward: bool
) -> np.ndarray:
    """Index of the last (``backward``: next) step with ``sign`` between ``low_w`` and
    ``high_w`` within ``limit`` samples, as float; NaN when none."""
    n = diff.size
    at = np.arange(n, dtype=np.float64)
    hit = ((sign * diff) > low_w) & ((sign * diff) < high_w)
    pos = pd.Series(np.where(hit, at, np.nan))
    out = (pos.bfill() if backward else pos.ffill()).to_numpy(dtype=np.float64, copy=True)
    out[~(np.abs(out - at) <= limit)] = np.nan
    return out


def _take(values: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``values`` at the float indices ``pos`` (NaN where ``pos`` is)."""
    out = np.full(pos.shape, np.nan)
    ok = np.isfinite(pos)
    out[ok] = values[pos[ok].astype(np.intp)]
    return out


def _relative_steps(
    x: np.ndarray,
    back: np.ndarray,
    bands: dict[str, tuple[float, float]],
    limit: int,
    spec: FeatureSpec,
) -> dict[str, np.ndarray]:
    """The level relative to the steps around it, per band of step sizes (see the module)."""
    cols: dict[str, np.ndarray] = {}
    before = np.concatenate(([np.nan], x[:-1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        for tag, (low, high) in bands.items():
            up = _step_positions(back, low, high, limit, sign=1.0, backward=False)
            up_w = _take(back, up)
            rise = x - _take(before, up)
            cols[f"{tag}_rise_w"] = rise
            cols[f"{tag}_rise_share"] = rise / up_w
            if not spec.causal:
                down = _step_positions(back, low, high, limit, sign=-1.0, backward=True)
                down_w = -_take(back, down)
                fall = x - _take(x, down)
                cols[f"{tag}_fall_w"] = fall
                cols[f"{tag}_fall_share"] = fall / down_w
                cols[f"{tag}_down_over_up"] = down_w / up_w
                cols[f"{tag}_span_s"] = (down - up) * spec.resolution_s
    return cols


def _memory(x: np.ndarray, spec: FeatureSpec) -> dict[str, np.ndarray]:
    """The past-only memory features (see the module): the base load over ``memory_s`` and,
    with ``on_level_w``, the last sustained steps of about that size within it."""
    n = x.size
    limit = spec.memory_samples
    series = pd.Series(x)
    cols = {
        f"base_min_{spec.memory_s}s": series.rolling(limit, min_periods=max(1, limit // 2))
        .min()
        .to_numpy()
    }
    if not spec.on_level_w:
        return cols
    low, high = 0.6 * spec.on_level_w, 1.6 * spec.on_level_w
    floor = series.rolling(spec.sustain_samples, min_periods=1).min()
    y = floor.to_numpy(dtype=np.float64, copy=True)
    # over two samples: a switch inside a minute splits its step between two
    step = (floor - floor.shift(2)).to_numpy()
    at = np.arange(n, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        up = _step_positions(step, low, high, limit, sign=1.0, backward=False)
        down = _step_positions(step, low, high, limit, sign=-1.0, backward=False)
        since_up = np.where(np.isfinite(up), at - up, limit) * spec.resolution_s
        since_down = np.where(np.isfinite(down), at - down, limit) * spec.resolution_s
        has_up = np.isfinite(up)
        before = np.full(n, np.nan)
        before[has_up] = y[up[has_up].astype(np.intp) - 2]
        # the lowest filtered level since the step up (each step up starts a new group)
        lowest = floor.groupby(np.where(has_up, up, -1.0)).cummin()
        lowest = lowest.to_numpy(dtype=np.float64, copy=True)
        lowest[~has_up] = np.nan
        cols["held_since_up_s"] = since_up
        cols["held_since_down_s"] = since_down
        cols["held_up_is_newer"] = since_down - since_up
        cols["held_rise_w"] = x - before
        cols["held_w"] = lowest - before
        cols["held_share"] = (lowest - before) / spec.on_level_w
    return cols


def build_features(
    overall_w: np.ndarray,
    hours: np.ndarray | None,
    spec: FeatureSpec,
) -> tuple[np.ndarray, list[str]]:
    """Feature matrix ``(n, k)`` (float32) of the whole-house series ``overall_w`` [W], on a
    regular grid at ``spec.resolution_s``, with local ``hours`` of day (or None to omit them;
    ignored unless ``spec.calendar``).
    Returns the matrix and the feature names."""
    x = pd.Series(np.asarray(overall_w, dtype=np.float64))
    cols: dict[str, np.ndarray] = {"overall_w": x.to_numpy()}
    if not spec.current_only:
        for k in spec.lags:
            cols[f"diff_back_{k}"] = (x - x.shift(k)).to_numpy()
            if not spec.causal:
                cols[f"diff_fwd_{k}"] = (x.shift(-k) - x).to_numpy()
        for n in spec.window_samples():
            roll = x.rolling(n, min_periods=max(1, n // 2), center=not spec.causal)
            mean, low, high, std = roll.mean(), roll.min(), roll.max(), roll.std()
            cols[f"mean_{n}"] = mean.to_numpy()
            cols[f"min_{n}"] = low.to_numpy()
            cols[f"max_{n}"] = high.to_numpy()
            cols[f"std_{n}"] = std.to_numpy()
            cols[f"above_min_{n}"] = (x - low).to_numpy()
            cols[f"below_max_{n}"] = (high - x).to_numpy()
        limit = spec.longest_samples
        back = (x - x.shift(1)).to_numpy()
        for name, sign in (("up", 1.0), ("down", -1.0)):
            step, dist = _steps(back, spec.edge_w, limit, sign=sign, backward=False)
            cols[f"last_{name}_w"] = step
            cols[f"since_{name}_s"] = dist * spec.resolution_s
            if not spec.causal:
                step, dist = _steps(back, spec.edge_w, limit, sign=sign, backward=True)
                cols[f"next_{name}_w"] = step
                cols[f"until_{name}_s"] = dist * spec.resolution_s
        if spec.on_level_w:
            # Steps the size of the appliance's own on level (within 0.6x-1.6x): an "on" stretch
            # lies between a matching step up and a matching step down.
            low, high = 0.6 * spec.on_level_w, 1.6 * spec.on_level_w
            for name, sign in (("up", 1.0), ("down", -1.0)):
                _, dist = _steps(back, low, limit, sign=sign, backward=False, upper_w=high)
                cols[f"since_match_{name}_s"] = dist * spec.resolution_s
                if not spec.causal:
                    _, dist = _steps(back, low, limit, sign=sign, backward=True, upper_w=high)
                    cols[f"until_match_{name}_s"] = dist * spec.resolution_s
            cols["match_up_is_newer"] = cols["since_match_down_s"] - cols["since_match_up_s"]
            if not spec.causal:
                cols["match_down_is_sooner"] = cols["until_match_up_s"] - cols["until_match_down_s"]
        if spec.relative_steps:
            bands = {"edge": (spec.edge_w, np.inf)}
            if spec.on_level_w:
                bands["match"] = (0.6 * spec.on_level_w, 1.6 * spec.on_level_w)
            cols.update(_relative_steps(x.to_numpy(), back, bands, limit, spec))
        if spec.memory_s:
            cols.update(_memory(x.to_numpy(), spec))
        for w, n in zip(spec.trend_windows_s, spec.trend_samples(), strict=True):
            cols[f"trend_mean_{w}s"] = x.rolling(n, min_periods=max(1, n // 2)).mean().to_numpy()
    if hours is not None and spec.calendar:
        cols["hour"] = np.asarray(hours, dtype=np.float64)
    names: Sequence[str] = list(cols)
    matrix = np.empty((x.size, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        matrix[:, j] = cols[name]
    return matrix, list(names)


def stack_features(prob: np.ndarray, spec: FeatureSpec) -> tuple[np.ndarray, list[str]]:
    """What the second stage reads of the first stage's "on" probabilities ``prob`` (NaN where
    Overall is missing): the probability itself and, per half-width ``h`` of
    ``spec.stack_half_s``, the mean, min and max over the centred window of ``2h + 1`` samples
    and the means over its past and future halves (causal: the past window of ``2h + 1`` alone).
    A whole stretch on or off shows as a window whose probabilities agree."""
    p = pd.Series(np.asarray(prob, dtype=np.float64))
    cols: dict[str, np.ndarray] = {"p_on": p.to_numpy()}
    for h in spec.stack_halves():
        n = 2 * h + 1
        if spec.causal:
            roll = p.rolling(n, min_periods=1)
            cols[f"p_mean_{h}"] = roll.mean().to_numpy()
            cols[f"p_min_{h}"] = roll.min().to_numpy()
            cols[f"p_max_{h}"] = roll.max().to_numpy()
            continue
        roll = p.rolling(n, min_periods=1, center=True)
        cols[f"p_mean_{h}"] = roll.mean().to_numpy()
        cols[f"p_min_{h}"] = roll.min().to_numpy()
        cols[f"p_max_{h}"] = roll.max().to_numpy()
        cols[f"p_past_{h}"] = p.rolling(h + 1, min_periods=1).mean().to_numpy()
        cols[f"p_next_{h}"] = p[::-1].rolling(h + 1, min_periods=1).mean().to_numpy()[::-1]
    names = list(cols)
    matrix = np.empty((p.size, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        matrix[:, j] = cols[name]
    return matrix, names
