"""Vectorised helpers for sets of time intervals and piecewise-constant power.

Intervals are parallel arrays ``(starts, ends)`` of seconds, sorted and disjoint unless said
otherwise. Power is built from events ``(start_s, end_s, power_w)`` with integer watts summed
exactly through a difference array, so a load that is off is exactly 0 and sums never go
negative through rounding.
"""

from __future__ import annotations

import numpy as np

__all__ = ["intersect", "power_w", "uniform_in", "complement"]


def intersect(
    a_s: np.ndarray, a_e: np.ndarray, b_s: np.ndarray, b_e: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise overlaps of two sorted, disjoint interval sets.

    Returns ``(starts, ends, ia, ib)``: every non-empty overlap with the indices of the ``a``
    and ``b`` intervals it came from, in time order.
    """
    a_s, a_e = np.asarray(a_s), np.asarray(a_e)
    b_s, b_e = np.asarray(b_s), np.asarray(b_e)
    lo = np.searchsorted(b_e, a_s, side="right")
    hi = np.searchsorted(b_s, a_e, side="left")
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    ia = np.repeat(np.arange(len(a_s)), counts)
    first = np.repeat(np.cumsum(counts) - counts, counts)
    ib = lo[ia] + (np.arange(total) - first)
    starts = np.maximum(a_s[ia], b_s[ib])
    ends = np.minimum(a_e[ia], b_e[ib])
    keep = ends > starts
    return starts[keep], ends[keep], ia[keep], ib[keep]


def complement(s: np.ndarray, e: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """The gaps of a sorted, disjoint interval set within ``[lo, hi)``."""
    starts = np.concatenate(([lo], e))
    ends = np.concatenate((s, [hi]))
    starts = np.maximum(starts, lo)
    ends = np.minimum(ends, hi)
    keep = ends > starts
    return starts[keep], ends[keep]


def uniform_in(
    rng: np.random.Generator,
    s: np.ndarray,
    e: np.ndarray,
    group: np.ndarray,
    counts: np.ndarray,
) -> np.ndarray:
    """Draw ``counts[g]`` moments uniformly over the intervals of each group ``g``.

    ``group`` gives each (sorted) interval's group, non-decreasing; returns the sorted moments.
    """
    lengths = e - s
    cum_end = np.cumsum(lengths)
    cum_start = cum_end - lengths
    n_groups = len(counts)
    group_total = np.bincount(group, weights=lengths, minlength=n_groups)
    group_first = np.concatenate(([0.0], np.cumsum(group_total)[:-1]))
    counts = np.where(group_total > 0, counts, 0)
    which = np.repeat(np.arange(n_groups), counts)
    u = group_first[which] + rng.random(len(which)) * group_total[which]
    idx = np.clip(np.searchsorted(cum_end, u, side="right"), 0, len(s) - 1)
    return np.sort(s[idx] + (u - cum_start[idx]))


def power_w(
    n_s: int,
    starts: np.ndarray,
    ends: np.ndarray,
    watts: np.ndarray,
    *,
    out: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
) -> np.ndarray:
    """Sum of events as per-second integer watts over ``[0, n_s)`` (events are clipped).

    ``out`` (int32, ``n_s``) and ``scratch`` (int32, ``n_s + 1``, all zeros; left all zeros)
    may be given to reuse memory.
    """
    starts = np.clip(np.rint(starts).astype(np.int64), 0, n_s)
    ends = np.clip(np.rint(ends).astype(np.int64), 0, n_s)
    watts = np.rint(watts).astype(np.int32)
    keep = (ends > starts) & (watts != 0)
    if scratch is None:
        scratch = np.zeros(n_s + 1, dtype=np.int32)
    starts, ends, watts = starts[keep], ends[keep], watts[keep]
    np.add.at(scratch, starts, watts)
    np.add.at(scratch, ends, -watts)
    if out is None:
        out = np.empty(n_s, dtype=np.int32)
    np.cumsum(scratch[:n_s], dtype=np.int32, out=out)
    # Leave the scratch all zeros again, touching only what was written.
    scratch[starts] = 0
    scratch[ends] = 0
    return out
