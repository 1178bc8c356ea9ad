"""Labelled faults injected into a copy of a clean table.

Kinds (``KINDS``):

* ``negative`` — the reading's sign flipped (a zero reading becomes a small negative one);
* ``spike`` — the reading ×10 to ×100 (a zero reading spikes from the channel's typical
  "on" level, so every spike is far above normal);
* ``missing`` — one reading lost (NaN);
* ``stuck`` — the meter repeats the reading it had just before, for 10-120 s (placed across a
  change of the load, where a frozen meter is visible);
* ``dropout`` — a run of 5-300 s of missing readings.

Two modes: ``every_s=N`` starts a fault on every channel at every N-th second (second 0, N, 2N…;
the seed's mode) with an independent kind per channel, runs cut to at most N seconds; ``fault_rate=P`` aims at a share P of
all values being faulty (fault starts are drawn per channel at P over the mean fault length;
overlaps make large rates land lower, e.g. 0.37 for P = 0.5).
Overlapping faults: points overwrite runs. A label is written for every second and column
where the faulty table differs from the clean one, and only there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from generator.dataset import DatasetError, split_column

__all__ = ["KINDS", "inject_faults", "validate_fault_args"]

KINDS = ("negative", "spike", "missing", "stuck", "dropout")
STUCK_S = (10, 120)
DROPOUT_S = (5, 300)
# Expected faulty seconds per fault start (stuck runs are partly invisible: about half).
_MEAN_LENGTH_S = (3 + 0.5 * sum(STUCK_S) * 0.6 + 0.5 * sum(DROPOUT_S)) / len(KINDS)


def validate_fault_args(fault_rate: float | None, every_s: int | None) -> None:
    """Raise :class:`DatasetError` naming a bad fault option."""
    if fault_rate is not None and every_s is not None:
        raise DatasetError("give either a fault rate or faults every N seconds, not both")
    if fault_rate is not None:
        if isinstance(fault_rate, bool) or not isinstance(fault_rate, int | float):
            raise DatasetError(f"fault rate must be a number, got {fault_rate!r}")
        if not 0.0 < float(fault_rate) <= 0.5:
            raise DatasetError(f"fault rate must be in (0, 0.5], got {fault_rate!r}")
    if every_s is not None:
        if isinstance(every_s, bool) or not isinstance(every_s, int | np.integer):
            raise DatasetError(f"faults every N seconds needs a whole number, got {every_s!r}")
        if every_s < 1:
            raise DatasetError(f"faults every N seconds needs N >= 1, got {every_s!r}")


def _typical_on(col: np.ndarray) -> float:
    """The channel's usual "on" level [kW]: the 90th percentile of its positive readings.

    A high quantile, not the median: an AC's positive readings are mostly its fan (about
    0.04 kW) between compressor runs, and a spike must be ×10 of the compressor's draw.
    """
    sample = col[:: max(1, len(col) // 200_000)]
    on = sample[sample > 0]
    return float(np.quantile(on, 0.9)) if len(on) else 1.0


def _fault_starts(
    rng: np.random.Generator, n_s: int, fault_rate: float | None, every_s: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Start seconds and kind codes (1-based) of one column's faults."""
    if every_s is not None:
        starts = np.arange(0, n_s, every_s, dtype=np.int64)
    else:
        expected = float(fault_rate) * n_s / _MEAN_LENGTH_S  # type: ignore[arg-type]
        starts = np.unique(rng.integers(0, n_s, rng.poisson(expected)))
    kinds = rng.integers(1, len(KINDS) + 1, len(starts)).astype(np.int8)
    return starts, kinds


def _runs(starts: np.ndarray, lengths: np.ndarray, n_s: int) -> tuple[np.ndarray, np.ndarray]:
    """Seconds covered by runs (clipped to the table) and the run each belongs to."""
    lengths = np.minimum(lengths, n_s - starts)
    run = np.repeat(np.arange(len(starts)), lengths)
    offset = np.arange(len(run)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return starts[run] + offset, run


def _inject_column(
    clean: np.ndarray,
    out: np.ndarray,
    rng: np.random.Generator,
    fault_rate: float | None,
    every_s: int | None,
) -> np.ndarray:
    """Write one faulty column into ``out``; return each second's kind code (0 = clean)."""
    n_s = len(clean)
    codes = np.zeros(n_s, dtype=np.int8)
    starts, kinds = _fault_starts(rng, n_s, fault_rate, every_s)
    stuck, dropout = KINDS.index("stuck") + 1, KINDS.index("dropout") + 1

    s = starts[kinds == stuck]
    if len(s) and every_s is None:
        # Freeze across a change of the load, where a stuck meter shows.
        changes = np.flatnonzero(np.diff(clean) != 0) + 1
        if len(changes):
            s = changes[rng.integers(0, len(changes), len(s))]
    lengths = rng.integers(STUCK_S[0], STUCK_S[1] + 1, len(s))
    if every_s is not None:
        lengths = np.minimum(lengths, every_s)  # a run ends where the next fault starts
    if len(s) and every_s is None:
        s = np.maximum(s - rng.integers(0, lengths), 0)
    order = np.argsort(s, kind="stable")
    s, lengths = s[order], lengths[order]
    first = np.diff(s, prepend=-1) != 0
    s, lengths = s[first], lengths[first]
    secs, run = _runs(s, lengths, n_s)
    out[secs] = clean[np.maximum(s - 1, 0)][run]
    codes[secs] = stuck

    s = starts[kinds == dropout]
    lengths = rng.integers(DROPOUT_S[0], DROPOUT_S[1] + 1, len(s))
    if every_s is not None:
        lengths = np.minimum(lengths, every_s)
    secs, _ = _runs(s, lengths, n_s)
    out[secs] = np.nan
    codes[secs] = dropout

    ref = _typical_on(clean)
    for name in ("negative", "spike", "missing"):
        code = KINDS.index(name) + 1
        at = starts[kinds == code]
        v = clean[at]
        if name == "negative":
            out[at] = np.where(v > 0, -v, -ref * rng.uniform(0.05, 0.5, len(at)))
        elif name == "spike":
            out[at] = np.maximum(v, ref) * rng.uniform(10.0, 100.0, len(at))
        else:
            out[at] = np.nan
        codes[at] = code
    # Label exactly the seconds that differ (a stuck meter that repeats the true value is not
    # a visible fault); undo nothing else.
    same = out == clean
    codes[same] = 0
    return codes


def inject_faults(
    values: np.ndarray,
    columns: list[str],
    index: pd.DatetimeIndex,
    rng: np.random.Generator,
    *,
    fault_rate: float | None = None,
    every_s: int | None = None,
) -> tuple[np.ndarray, pd.DataFrame]:
    """A faulty copy of ``values`` (channels × seconds) and its labels.

    Labels are a frame ``ts, household, channel, kind`` sorted by time then column order.
    """
    validate_fault_args(fault_rate, every_s)
    if fault_rate is None and every_s is None:
        raise DatasetError("no faults asked for")
    faulty = values.copy()
    ts_parts, col_parts, kind_parts = [], [], []
    for c in range(values.shape[0]):
        codes = _inject_column(values[c], faulty[c], rng, fault_rate, every_s)
        at = np.flatnonzero(codes)
        ts_parts.append(at)
        col_parts.append(np.full(len(at), c, dtype=np.int16))
        kind_parts.append(codes[at])
    at = np.concatenate(ts_parts)
    col = np.concatenate(col_parts)
    kind = np.concatenate(kind_parts)
    order = np.lexsort((col, at))
    at, col, kind = at[order], col[order], kind[order]
    split = [split_column(c) for c in columns]
    households = np.array([h for h, _ in split], dtype=object)
    channels = np.array([ch for _, ch in split], dtype=object)
    kinds = np.array(KINDS, dtype=object)
    labels = pd.DataFrame(
        {
            "ts": index[at],
            "household": pd.array(households[col], dtype="str"),
            "channel": pd.array(channels[col], dtype="str"),
            "kind": pd.array(kinds[kind - 1], dtype="str"),
        }
    )
    return faulty, labels
