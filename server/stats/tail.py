"""Thresholds of one channel: percentiles and the right-tail critical value at 1%.

The critical value is the power that normal readings exceed ``TAIL_PROBABILITY`` (1%) of the
time. How it is found, for a sample ``x`` of window averages [kW]:

1. **Constant channel** (max - min below ``CONSTANT_SPREAD_KW``, e.g. a geyser that never ran)
   or one never above ``OFF_LEVEL_KW``: no fit; the critical value is the maximum plus a margin
   (``MIN_MARGIN_KW``, or 10% of a constant), so any real use is red and a small deviation yellow.
2. **On/off appliance** (at least ``APPLIANCE_OFF_SHARE`` of the windows at or below
   ``OFF_LEVEL_KW``): the model is ``P(X > c) = p_on · P(on-value > c)``, so the tail is fitted
   on the "on" values alone at the conditional level ``q_on = 0.01 / p_on``. ``q_on`` is capped
   at ``MAX_ON_TAIL`` (10%): an appliance that is rarely on gets a threshold above 90% of its
   on-values instead of "any use is red" (running at its usual on level is normal).
3. **Continuous channel** (a whole-house meter): the tail is fitted on all values at ``q = 0.01``.

The tail fit is peaks-over-threshold: the values above ``u`` (their ``1 - 10·q`` quantile, at
least the median) minus ``u`` are fitted by fitter over ``TAIL_CANDIDATES`` (distributions for
non-negative data) on at most ``SAMPLE_CAP`` points, ranked by the Kolmogorov-Smirnov statistic;
``c = u + F⁻¹(1 - q / ζ)`` with ``ζ`` the share of values above ``u``. Every fitted ``c`` is
cross-checked against the empirical quantile at the same level: it agrees when its exceedance in
the training sample is within a factor ``AGREE_FACTOR`` of the target, or it lies within
``AGREE_REL`` of the empirical quantile. The best-ranked agreeing fit wins; if none agrees (or
there are too few distinct values to fit), the empirical quantile is used and ``method`` says so.
Per-hour samples (small and many) use the ``"gpd"`` mode instead: a generalized Pareto with its
location fixed at 0, fitted by scipy directly (fitter always frees the location, which is ~20×
slower), with the same cross-check.

Guards applied last, whatever the method:

* **plateau/ties**: if at least ``2·q`` of the training windows are at or above ``c`` (e.g. a
  heater whose usual on level is also its maximum), ``c`` moves just above that level, halfway to
  the next higher value seen, or ``PLATEAU_MARGIN`` above it when it is the maximum;
* **appliance with one main on level** (its values above ``TOP_LEVEL`` (10%) of the maximum,
  which leaves out fans and standby, have an interquartile range within ``NARROW_LEVEL`` (25%)
  of their median: a heater element, an AC compressor): ``c`` is at least their upper Tukey
  fence ``q75 + 1.5·IQR``, above the plateau, so the appliance at its usual level is not red;
* ``c`` is above the 75th percentile (red is rarer than yellow);
* ``c`` is at most ``MAX_FACTOR`` (1.5×) the largest training value (or that value plus
  ``MIN_MARGIN_KW`` when it is near zero).
"""

from __future__ import annotations

import math
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "TAIL_CANDIDATES",
    "TAIL_PROBABILITY",
    "ChannelStats",
    "channel_stats",
]

TAIL_PROBABILITY = 0.01
TAIL_CANDIDATES: tuple[str, ...] = ("genpareto", "expon", "gamma", "lognorm", "weibull_min")
SAMPLE_CAP = 1000
FIT_TIMEOUT_S = 3
MIN_FIT_POINTS = 30
MIN_FIT_DISTINCT = 8
OFF_LEVEL_KW = 0.01
APPLIANCE_OFF_SHARE = 0.2
MAX_ON_TAIL = 0.1
POT_FACTOR = 10.0
AGREE_FACTOR = 2.0
AGREE_REL = 0.05
PLATEAU_MARGIN = 0.02
NARROW_LEVEL = 0.25
TOP_LEVEL = 0.1
CONSTANT_SPREAD_KW = 1e-6
MIN_MARGIN_KW = 0.05
MAX_FACTOR = 1.5
DEGENERATE_FACTOR = 1e3

# fitter mutates the process-wide warnings filters inside each fit; fits are CPU-bound under the
# GIL anyway, so they run one at a time and their filter changes are undone after each.
_FIT_LOCK = threading.Lock()


@dataclass(frozen=True)
class ChannelStats:
    """Thresholds of one channel (or one channel in one hour of the day). Powers in [kW]."""

    p25_kw: float
    median_kw: float
    p75_kw: float
    critical_kw: float
    empirical_p99_kw: float
    max_kw: float
    n_samples: int
    method: str
    distribution: str
    params: dict[str, float] = field(default_factory=dict)
    goodness_of_fit: dict[str, float] = field(default_factory=dict)
    p_on: float = 1.0

    def to_json(self) -> dict[str, Any]:
        return {
            "25p": self.p25_kw,
            "median": self.median_kw,
            "75p": self.p75_kw,
            "rt_critical_value_0.01": self.critical_kw,
            "empirical_p99": self.empirical_p99_kw,
            "max_kw": self.max_kw,
            "n_samples": self.n_samples,
            "method": self.method,
            "distribution": self.distribution,
            "params": dict(self.params),
            "goodness_of_fit": dict(self.goodness_of_fit),
            "p_on": self.p_on,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ChannelStats:
        return cls(
            p25_kw=float(raw["25p"]),
            median_kw=float(raw["median"]),
            p75_kw=float(raw["75p"]),
            critical_kw=float(raw["rt_critical_value_0.01"]),
            empirical_p99_kw=float(raw["empirical_p99"]),
            max_kw=float(raw["max_kw"]),
            n_samples=int(raw["n_samples"]),
            method=str(raw["method"]),
            distribution=str(raw["distribution"]),
            params={str(k): float(v) for k, v in raw.get("params", {}).items()},
            goodness_of_fit={str(k): float(v) for k, v in raw.get("goodness_of_fit", {}).items()},
            p_on=float(raw.get("p_on", 1.0)),
        )


@dataclass(frozen=True)
class _Fit:
    distribution: str
    params: dict[str, float]
    critical_kw: float
    goodness_of_fit: dict[str, float]


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0


def _param_names(dist: Any) -> list[str]:
    shapes = [s.strip() for s in dist.shapes.split(",")] if dist.shapes else []
    return shapes + ["loc", "scale"]


def _make_fit(
    name: str,
    params: tuple[float, ...],
    threshold_kw: float,
    cond_tail: float,
    gof: dict,
    sample: np.ndarray,
) -> _Fit | None:
    """A candidate fit, or None when it is unusable: non-finite or degenerate parameters (a
    shape or location thousands of times the data's scale, e.g. a Weibull squeezed onto a
    plateau), or no finite positive quantile."""
    import scipy.stats

    dist = getattr(scipy.stats, name)
    bound = DEGENERATE_FACTOR * (1.0 + float(np.max(sample)))
    if not all(math.isfinite(p) and abs(p) <= bound for p in params):
        return None
    quantile = float(dist.ppf(1.0 - cond_tail, *params))
    if not math.isfinite(quantile) or quantile <= 0:
        return None
    return _Fit(
        distribution=name,
        params=dict(zip(_param_names(dist), params, strict=True)),
        critical_kw=threshold_kw + quantile,
        goodness_of_fit={k: _finite(v) for k, v in gof.items()},
    )


def _cap(excess: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return excess if excess.size <= SAMPLE_CAP else rng.choice(excess, SAMPLE_CAP, replace=False)


def _fit_tail_fitter(
    excess: np.ndarray, threshold_kw: float, cond_tail: float, rng: np.random.Generator
) -> list[_Fit]:
    """Fit ``TAIL_CANDIDATES`` to the exceedances with fitter; best (lowest KS) first.

    ``cond_tail`` is the probability, given an exceedance, of being above the critical value.
    """
    from fitter import Fitter  # slow to import (matplotlib): only when a fit is needed

    sample = _cap(excess, rng)
    # verbose=False and progress=False keep fitter (its logger, tqdm) silent; max_workers=1
    # runs joblib sequentially in this thread (no worker processes).
    with _FIT_LOCK, warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        fitter = Fitter(
            sample,
            distributions=list(TAIL_CANDIDATES),
            timeout=FIT_TIMEOUT_S,
            verbose=False,
        )
        fitter.fit(progress=False, max_workers=1, prefer="threads")
        errors = fitter.df_errors
        fits: list[_Fit] = []
        for name in errors.sort_values(["ks_statistic", "aic"]).index:
            if name not in fitter.fitted_param:
                continue
            row = errors.loc[name]
            gof = {
                "ks_statistic": row["ks_statistic"],
                "ks_pvalue": row["ks_pvalue"],
                "aic": row["aic"],
                "n_fit": sample.size,
            }
            params = tuple(float(p) for p in fitter.fitted_param[name])
            made = _make_fit(str(name), params, threshold_kw, cond_tail, gof, sample)
            if made is not None:
                fits.append(made)
    return fits


def _fit_tail_gpd(
    excess: np.ndarray, threshold_kw: float, cond_tail: float, rng: np.random.Generator
) -> list[_Fit]:
    """The classic peaks-over-threshold model alone: a generalized Pareto with ``loc = 0``.

    About 20 ms, against about 0.3 s for fitter's candidate set (whose fits free ``loc``): used
    for the many small per-hour samples.
    """
    import scipy.stats

    sample = _cap(excess, rng)
    with _FIT_LOCK, warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            params = tuple(float(p) for p in scipy.stats.genpareto.fit(sample, floc=0.0))
        except (ValueError, RuntimeError, FloatingPointError):
            return []
        ks = scipy.stats.kstest(sample, "genpareto", args=params)
        loglik = float(np.sum(scipy.stats.genpareto.logpdf(sample, *params)))
    gof = {
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "aic": 2 * 2 - 2 * loglik,
        "n_fit": sample.size,
    }
    made = _make_fit("genpareto", params, threshold_kw, cond_tail, gof, sample)
    return [made] if made is not None else []


_FITTERS = {"fitter": _fit_tail_fitter, "gpd": _fit_tail_gpd}


def _agrees(x: np.ndarray, critical_kw: float, empirical_kw: float, tail: float) -> bool:
    share = float(np.mean(x >= critical_kw))
    if tail / AGREE_FACTOR <= share <= tail * AGREE_FACTOR:
        return True
    return abs(critical_kw - empirical_kw) <= AGREE_REL * abs(empirical_kw)


def _above_plateau(x_sorted: np.ndarray, critical_kw: float, tail: float) -> tuple[float, bool]:
    """Move ``critical_kw`` above a tie/plateau holding >= ``2·tail`` of the values."""
    n = x_sorted.size
    at_or_above = n - np.searchsorted(x_sorted, critical_kw, side="left")
    if at_or_above <= 2 * tail * n:
        return critical_kw, False
    # The smallest value v with fewer than 2·tail of the sample strictly above it.
    k = min(n - 1, int(math.floor(n * (1.0 - 2 * tail))))
    level = float(x_sorted[k])
    higher = x_sorted[np.searchsorted(x_sorted, level, side="right") :]
    if higher.size:
        return (level + float(higher[0])) / 2.0, True
    return level + max(PLATEAU_MARGIN * abs(level), 1e-3), True


def channel_stats(
    values: np.ndarray,
    *,
    tail: float = TAIL_PROBABILITY,
    fit: str = "fitter",
    seed: int = 0,
) -> ChannelStats:
    """Thresholds of a sample of window averages [kW] (NaN ignored); see the module docstring.

    ``fit``: ``"fitter"`` (fitter over ``TAIL_CANDIDATES``), ``"gpd"`` (a generalized Pareto
    alone, fast) or ``"none"`` (empirical quantiles only). ``seed`` fixes the capped sample.

    Raises ``ValueError`` for a sample with no finite value.
    """
    x = np.asarray(values, dtype="float64")
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("no finite values to compute statistics from")
    x_sorted = np.sort(x)
    p25, median, p75, p99 = (float(v) for v in np.quantile(x_sorted, [0.25, 0.5, 0.75, 0.99]))
    max_kw = float(x_sorted[-1])
    cap_kw = max(MAX_FACTOR * max_kw, max_kw + MIN_MARGIN_KW)
    base = {"p25_kw": p25, "median_kw": median, "p75_kw": p75, "empirical_p99_kw": p99}

    if max_kw - float(x_sorted[0]) <= CONSTANT_SPREAD_KW:
        return ChannelStats(
            **base,
            critical_kw=max_kw + max(MIN_MARGIN_KW, 0.1 * abs(max_kw)),
            max_kw=max_kw,
            n_samples=int(x.size),
            method=f"constant: every value is {max_kw:.6g} kW; red above it by a margin",
            distribution="empirical",
            p_on=float(np.mean(x > OFF_LEVEL_KW)),
        )

    off_share = float(np.mean(x <= OFF_LEVEL_KW))
    if off_share == 1.0:
        return ChannelStats(
            **base,
            critical_kw=max_kw + MIN_MARGIN_KW,
            max_kw=max_kw,
            n_samples=int(x.size),
            method=f"off: never above {OFF_LEVEL_KW} kW in training; red above it by a margin",
            distribution="empirical",
            p_on=0.0,
        )
    if off_share >= APPLIANCE_OFF_SHARE:
        p_on = 1.0 - off_share
        cond = x_sorted[x_sorted > OFF_LEVEL_KW]
        cond_tail = min(tail / p_on, MAX_ON_TAIL)
        prefix = f"on/off: p_on={p_on:.3g}, tail {cond_tail:.3g} of on-values; "
    else:
        p_on = 1.0
        cond = x_sorted
        cond_tail = tail
        prefix = ""
    combined_tail = p_on * cond_tail
    empirical_kw = float(np.quantile(cond, 1.0 - cond_tail))

    distribution = "empirical"
    params: dict[str, float] = {}
    gof: dict[str, float] = {}
    method = prefix + "empirical quantile"
    threshold_kw = float(np.quantile(cond, max(0.5, 1.0 - POT_FACTOR * cond_tail)))
    excess = cond[cond > threshold_kw] - threshold_kw
    zeta = excess.size / cond.size
    critical_kw = empirical_kw
    if fit not in _FITTERS:
        if fit != "none":
            raise ValueError(f"unknown fit mode {fit!r}: expected 'fitter', 'gpd' or 'none'")
        method = prefix + "empirical quantile (fitting off)"
    elif (
        excess.size < MIN_FIT_POINTS
        or np.unique(excess).size < MIN_FIT_DISTINCT
        or zeta <= cond_tail
    ):
        method = prefix + (
            f"empirical quantile: too few distinct values above {threshold_kw:.3g} kW to fit"
        )
    else:
        fitter = _FITTERS[fit]
        fits = fitter(excess, threshold_kw, cond_tail / zeta, np.random.default_rng(seed))
        agreeing = [f for f in fits if _agrees(cond, f.critical_kw, empirical_kw, cond_tail)]
        if agreeing:
            best = agreeing[0]
            critical_kw = best.critical_kw
            distribution, params, gof = best.distribution, best.params, best.goodness_of_fit
            method = prefix + (
                f"fit: {best.distribution} on {int(best.goodness_of_fit['n_fit'])} of "
                f"{excess.size} exceedances over {threshold_kw:.3g} kW (peaks over threshold)"
            )
        elif fits:
            best = fits[0]
            distribution, params, gof = best.distribution, best.params, best.goodness_of_fit
            method = prefix + (
                f"empirical quantile: fitted {best.distribution} gave {best.critical_kw:.3g} kW, "
                f"disagreeing with the empirical {empirical_kw:.3g} kW"
            )
        else:
            method = prefix + "empirical quantile: no candidate distribution could be fitted"

    critical_kw, moved = _above_plateau(x_sorted, critical_kw, combined_tail)
    if moved:
        method += "; raised above the usual level (ties at the top)"
    top = cond[cond > TOP_LEVEL * max_kw] if p_on < 1.0 else cond[:0]
    if top.size >= MIN_FIT_POINTS:
        q25_on, q50_on, q75_on = (float(v) for v in np.quantile(top, [0.25, 0.5, 0.75]))
        fence_kw = q75_on + 1.5 * (q75_on - q25_on)
        if q75_on - q25_on <= NARROW_LEVEL * q50_on and critical_kw < fence_kw:
            critical_kw = fence_kw
            method += "; raised above the on plateau (Tukey fence of the main on level)"
    if critical_kw <= p75:
        critical_kw = p75 + max(PLATEAU_MARGIN * abs(p75), 1e-3)
        method += "; raised above the 75th percentile"
    if critical_kw > cap_kw:
        critical_kw = cap_kw
        method += f"; capped at {MAX_FACTOR}x the training maximum"
    return ChannelStats(
        **base,
        critical_kw=float(critical_kw),
        max_kw=max_kw,
        n_samples=int(x.size),
        method=method,
        distribution=distribution,
        params=params,
        goodness_of_fit=gof,
        p_on=float(p_on),
    )
