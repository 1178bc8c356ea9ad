"""Baselines that Gridlight's appliance estimates are judged against in the same run.

* :class:`MeanShare` — the appliance always takes its training share of the whole house.
* :class:`AlwaysOff` — the appliance always sits at its usual off level (training median).
* :class:`Combinatorial` — combinatorial optimisation, the classic NILMTK baseline (Hart 1992):
  every sub-metered channel is clustered into a few power states, and each sample takes the
  combination of states whose sum is closest to the whole-house reading.
* The gradient-boosted model on the current reading alone is a
  :class:`~server.nilm.model.Disaggregator` trained with ``current_only=True``.

Each has ``predict_w(overall_w) -> estimate_w`` on the same grid (NaN where Overall is).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

from server.nilm.model import one_thread

__all__ = ["AlwaysOff", "Combinatorial", "MeanShare"]

CO_MAX_STATES = 3
CO_CLUSTER_ROWS = 20_000


class MeanShare:
    """Appliance = (its training energy / the whole house's) × Overall."""

    name = "mean_share"

    def __init__(self, frame: pd.DataFrame, appliance: str) -> None:
        both = frame[["Overall", appliance]].dropna()
        total = float(both["Overall"].sum())
        self.share = float(both[appliance].sum()) / total if total > 0 else 0.0

    def predict_w(self, overall_w: np.ndarray) -> np.ndarray:
        return self.share * np.asarray(overall_w, dtype=np.float64)


class AlwaysOff:
    """Appliance = its training median (its off level: zero, a fan or a standby draw)."""

    name = "always_off"

    def __init__(self, frame: pd.DataFrame, appliance: str) -> None:
        self.level_w = float(np.nanmedian(frame[appliance].to_numpy()) * 1000.0)

    def predict_w(self, overall_w: np.ndarray) -> np.ndarray:
        x = np.asarray(overall_w, dtype=np.float64)
        return np.where(np.isfinite(x), np.minimum(self.level_w, x), np.nan)


def _states_w(values_w: np.ndarray, random_state: int) -> np.ndarray:
    """Up to three power states of one sub-meter (k-means centroids, sorted). [W]"""
    values = values_w[np.isfinite(values_w)]
    if values.size > CO_CLUSTER_ROWS:
        values = np.random.default_rng(random_state).choice(values, CO_CLUSTER_ROWS, False)
    distinct = np.unique(np.round(values, 1))
    k = int(min(CO_MAX_STATES, distinct.size))
    if k <= 1:
        return np.array([float(distinct[0]) if distinct.size else 0.0])
    with one_thread():
        km = KMeans(n_clusters=k, n_init=4, random_state=random_state).fit(values[:, None])
    return np.sort(km.cluster_centers_[:, 0])


class Combinatorial:
    """Combinatorial optimisation over every sub-metered channel's k-means power states."""

    name = "combinatorial"

    def __init__(
        self,
        frame: pd.DataFrame,
        appliance: str,
        submeters: Sequence[str],
        random_state: int = 0,
    ) -> None:
        channels = list(dict.fromkeys([appliance, *submeters]))
        states = [_states_w(frame[c].to_numpy() * 1000.0, random_state) for c in channels]
        combos = np.array(list(itertools.product(*states)), dtype=np.float64)
        self.channels = channels
        self.combo_sums_w = combos.sum(axis=1)
        self.target_w = combos[:, 0]

    def predict_w(self, overall_w: np.ndarray, chunk: int = 100_000) -> np.ndarray:
        x = np.asarray(overall_w, dtype=np.float64)
        out = np.full(x.shape, np.nan)
        ok = np.flatnonzero(np.isfinite(x))
        for start in range(0, ok.size, chunk):
            rows = ok[start : start + chunk]
            best = np.abs(x[rows, None] - self.combo_sums_w[None, :]).argmin(axis=1)
            out[rows] = self.target_w[best]
        return out
