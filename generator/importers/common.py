"""Steps every importer shares: a meter's clock → UTC, a regular grid, a one-household dataset.

An importer reads its format into a frame of plain channel columns (average power [kW], NaN
where missing) on a UTC index, then :func:`onto_grid` puts it on a regular index at the
household's resolution and :func:`household_dataset` names the columns ``{household}_{channel}``
and adds the household's metadata.

Times written without a UTC offset are read with a :class:`Clock`: ``local`` (wall time in the
household's zone, moving with daylight saving time), ``fixed`` (one UTC offset all year, as a
logger whose clock is never changed), or ``auto``, which looks at the data where the zone
changes its offset (see :func:`detect_clock`). Every reading an importer drops, and every one it
averages with another into the same grid step, is counted in an :class:`ImportReport`, whose
:meth:`ImportReport.summary` is the line the ``import`` commands print.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from generator.dataset import (
    Dataset,
    DatasetError,
    HouseholdInfo,
    column_name,
    validate_channel,
    validate_household_id,
    validate_timezone,
)

__all__ = [
    "CLOCKS",
    "Clock",
    "ImportReport",
    "ImportResult",
    "detect_clock",
    "dst_switches",
    "household_dataset",
    "import_summary",
    "localize",
    "onto_grid",
    "parse_utc_offset",
    "resolve_clock",
    "to_utc",
]

CLOCKS = ("auto", "local", "fixed")
_OFFSET_RE = re.compile(r"^([+-])(\d\d):?(\d\d)$")
DROP_SKIPPED = "at wall times skipped by DST"


@dataclass(frozen=True)
class Clock:
    """How a file's times without a UTC offset become UTC.

    ``kind`` is ``"local"`` (wall time in ``timezone``, following daylight saving time) or
    ``"fixed"`` (``offset`` all year); ``reason`` says why it was chosen, for the summary line.
    """

    kind: str
    timezone: str
    offset: pd.Timedelta | None = None
    reason: str = "stated"

    def describe(self) -> str:
        if self.kind == "fixed":
            assert self.offset is not None
            return f"clock fixed at {format_offset(self.offset)} ({self.reason})"
        return f"clock {self.timezone} wall time ({self.reason})"


@dataclass
class ImportReport:
    """What an import read, wrote, dropped and merged, for the summary line.

    ``rows_read`` are the file's data rows (for UK-DALE, the lines of every channel file);
    ``dropped`` maps a reason to the rows dropped for it; ``merged`` counts readings averaged
    with another one into the same grid step; ``empty_steps`` are grid steps no reading fell
    in (missing rows); ``cells_blanked`` are values that were not numbers (now missing).
    """

    rows_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    merged: int = 0
    empty_steps: int = 0
    cells_blanked: int = 0
    clock: Clock | None = None

    def drop(self, reason: str, rows: int) -> None:
        """Count ``rows`` dropped for ``reason`` (a phrase such as "duplicate timestamps")."""
        if rows:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(rows)

    @property
    def rows_dropped(self) -> int:
        return sum(self.dropped.values())

    def summary(self, dataset: Dataset, household: str, out: Path) -> str:
        """The line an ``import`` command prints: rows read, written, dropped (why), merged."""
        table = dataset.table
        missing = int(table.isna().any(axis=1).sum())
        res = dataset.household(household).resolution_s
        reasons = "; ".join(f"{n} {why}" for why, n in self.dropped.items())
        parts = [
            f"read {self.rows_read} rows",
            f"dropped {self.rows_dropped}" + (f" ({reasons})" if reasons else ""),
            f"{self.merged} averaged into a shared {res} s step",
            f"{self.empty_steps} empty steps added",
        ]
        if self.cells_blanked:
            parts.append(f"{self.cells_blanked} unparsable cells set missing")
        if self.clock is not None:
            parts.append(self.clock.describe())
        return (
            f"imported {len(table)} rows at {res} s ({missing} with a missing value) "
            f"of household {household} into {out}: {', '.join(parts)}"
        )


@dataclass
class ImportResult:
    """An importer's dataset and its :class:`ImportReport`."""

    dataset: Dataset
    report: ImportReport


def parse_utc_offset(text: str) -> pd.Timedelta:
    """``+01:00`` / ``-0530`` → the offset; ``Z`` and ``+00:00`` are UTC."""
    if text.strip() in {"Z", "z"}:
        return pd.Timedelta(0)
    match = _OFFSET_RE.match(text.strip())
    if not match or int(match.group(3)) >= 60 or int(match.group(2)) > 18:
        raise DatasetError(f"invalid UTC offset {text!r}: expected ±HH:MM such as +01:00")
    sign = -1 if match.group(1) == "-" else 1
    return sign * pd.Timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))


def format_offset(offset: pd.Timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def dst_switches(
    start: pd.Timestamp, end: pd.Timestamp, timezone: str
) -> list[tuple[pd.Timestamp, pd.Timedelta, pd.Timedelta]]:
    """Offset changes of ``timezone`` between naive wall times ``start`` and ``end``.

    Each is (wall time where the change happens, offset before, offset after); springing
    forward skips the wall times [at, at + after - before), falling back repeats
    [at - (before - after), at).
    """
    lo = (start - pd.Timedelta(days=1)).floor("h").tz_localize("UTC")
    hi = (end + pd.Timedelta(days=1)).ceil("h").tz_localize("UTC")
    hours = pd.date_range(lo, hi, freq="15min").tz_convert(timezone)
    offsets = hours.tz_localize(None) - hours.tz_convert(None)
    changed = np.flatnonzero(np.asarray(offsets[1:] != offsets[:-1])) + 1
    out = []
    for i in changed:
        before, after = offsets[i - 1], offsets[i]
        wall = hours[i].tz_convert(None) + before  # the instant of change, on the old clock
        if start <= wall <= end:
            out.append((wall, before, after))
    return out


def detect_clock(
    local: pd.DatetimeIndex, timezone: str, values: np.ndarray | None = None
) -> tuple[str | None, str]:
    """Whether naive times ``local`` follow ``timezone``'s DST switches: (kind, evidence).

    At a spring switch a reading at a wall time that never happened means a fixed clock, unless
    most such readings repeat, value for value (``values``, one row per time), the reading one
    shift later: then the skipped span was filled with a copy of the span after it and the
    clock is local. No reading there while readings surround the skipped span means a local
    clock too. At an autumn switch the repeated span holds twice the readings of the span
    before it (or repeats wall times) under a local clock, and about as many under a fixed
    one. ``kind`` is None where no switch says.
    """
    keep = np.asarray(local.notna())
    local = local[keep]
    if local.empty:
        return None, "no times"
    switches = dst_switches(local.min(), local.max(), timezone)
    if not switches:
        return None, "no DST switch in the data"
    order = np.argsort(local.as_unit("ns").asi8, kind="stable")
    times = local[order]
    rows = None if values is None else np.asarray(values, dtype="float64")[keep][order]
    verdicts: list[tuple[str, str]] = []
    for at, before, after in switches:
        shift = abs(after - before)

        def count(lo: pd.Timestamp, hi: pd.Timestamp) -> int:
            return int(times.searchsorted(hi, "left") - times.searchsorted(lo, "left"))

        day = at.strftime("%Y-%m-%d")
        if after > before:  # spring: [at, at + shift) never happened
            gap = count(at, at + shift)
            span = f"{at:%H:%M}-{at + shift - pd.Timedelta(minutes=1):%H:%M}"
            copies = _copies(times, rows, at, at + shift, shift)
            if gap and copies * 2 > gap:
                verdicts.append(
                    (
                        "local",
                        f"{copies} of the {gap} readings at {day} {span} (skipped by DST) "
                        "repeat those an hour later",
                    )
                )
            elif gap:
                verdicts.append(("fixed", f"{gap} readings at {day} {span}, skipped by DST"))
            elif count(at - shift, at) and count(at + shift, at + 2 * shift):
                verdicts.append(("local", f"no reading at {day} {span}, skipped by DST"))
        else:  # autumn: [at - shift, at) happens twice
            start = at - shift
            inside = times[(times >= start) & (times < at)]
            prior = count(start - shift, start)
            span = f"{start:%H:%M}-{at - pd.Timedelta(minutes=1):%H:%M}"
            if inside.has_duplicates or (prior and len(inside) >= 1.5 * prior):
                verdicts.append(("local", f"{day} {span} repeated ({len(inside)} readings)"))
            elif prior >= 2 and len(inside) <= 1.25 * prior and not inside.empty:
                verdicts.append(("fixed", f"{day} {span} not repeated ({len(inside)} readings)"))
    kinds = {kind for kind, _ in verdicts}
    if not kinds:
        return None, "no readings around the DST switches"
    if len(kinds) > 1:
        said = "; ".join(f"{kind}: {why}" for kind, why in verdicts)
        raise DatasetError(
            f"the file's clock follows some DST switches of {timezone} and not others ({said}): "
            "say how to read it with --clock local, --clock fixed or --utc-offset"
        )
    kind = kinds.pop()
    return kind, "detected: " + "; ".join(why for _, why in verdicts)


def _copies(
    times: pd.DatetimeIndex,
    rows: np.ndarray | None,
    lo: pd.Timestamp,
    hi: pd.Timestamp,
    shift: pd.Timedelta,
) -> int:
    """How many readings in [lo, hi) equal, in every value, the reading at their time + shift."""
    if rows is None:
        return 0
    start, stop = times.searchsorted(lo, "left"), times.searchsorted(hi, "left")
    later = times.get_indexer(times[start:stop] + shift)
    found = later >= 0
    same = (rows[start:stop][found] == rows[later[found]]) | (
        np.isnan(rows[start:stop][found]) & np.isnan(rows[later[found]])
    )
    return int(same.all(axis=1).sum()) if rows.ndim == 2 else int(same.sum())


def resolve_clock(
    local: pd.DatetimeIndex,
    timezone: str,
    clock: str = "auto",
    utc_offset: str | None = None,
    *,
    default: str = "local",
    values: np.ndarray | None = None,
) -> Clock:
    """The :class:`Clock` to read naive times ``local`` with.

    ``clock`` is ``auto``, ``local`` or ``fixed``; ``utc_offset`` (``±HH:MM``) states a fixed
    clock's offset; a fixed clock without one runs on the zone's standard time (its offset
    without DST, UTC+01:00 for Europe/Paris). ``auto`` uses :func:`detect_clock` (``values``:
    the readings, one row per time) and, where the data cannot tell, ``default``.
    """
    if clock not in CLOCKS:
        raise DatasetError(f"invalid clock {clock!r}: expected one of {', '.join(CLOCKS)}")
    validate_timezone(timezone)
    if utc_offset is not None:
        if clock == "local":
            raise DatasetError("--utc-offset states a fixed clock: it cannot go with --clock local")
        return Clock("fixed", timezone, parse_utc_offset(utc_offset), "stated")
    reason = "stated"
    if clock == "auto":
        kind, reason = detect_clock(local, timezone, values)
        if kind is None:
            kind, reason = default, f"{reason}: {default} by default"
        clock = kind
    if clock == "local":
        return Clock("local", timezone, None, reason)
    first = local[local.notna()].min() if local.notna().any() else pd.Timestamp("2000-01-01")
    at = first.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
    return Clock("fixed", timezone, pd.Timedelta(at.utcoffset() - at.dst()), reason)


def localize(local: pd.DatetimeIndex, clock: Clock, report: ImportReport) -> pd.DatetimeIndex:
    """Naive times → UTC by ``clock``; NaT where a local wall time never happened (counted).

    On a local clock a wall time of the repeated autumn hour is the earlier instant the first
    time it appears in the file and the later one after that.
    """
    report.clock = clock
    if clock.kind == "fixed":
        assert clock.offset is not None
        return (local - clock.offset).tz_localize("UTC")
    first_pass = ~np.asarray(local.duplicated(keep="first"))
    aware = local.tz_localize(clock.timezone, ambiguous=first_pass, nonexistent="NaT")
    report.drop(DROP_SKIPPED, int((aware.isna() & local.notna()).sum()))
    return aware.tz_convert("UTC")


def to_utc(local: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Naive wall-clock times in ``timezone`` → UTC (a local clock; see :func:`localize`)."""
    return localize(local, Clock("local", timezone), ImportReport())


def onto_grid(
    frame: pd.DataFrame,
    resolution_s: int,
    *,
    origin: str = "start",
    report: ImportReport | None = None,
) -> pd.DataFrame:
    """``frame`` (sorted, unique UTC index) on a regular index every ``resolution_s`` seconds.

    Samples are averaged within each bin (a bin holds the samples from its label up to the next
    one); a bin without a sample is a NaN row, never zero. ``origin`` is ``"start"`` (bins start
    at the first timestamp, so data already on its own grid is unchanged) or ``"epoch"`` (bins at
    whole multiples of ``resolution_s`` since 1970, as the statistics' windows are). ``report``
    counts the samples merged into a shared bin and the empty bins.
    """
    if resolution_s <= 0:
        raise DatasetError(f"invalid resolution {resolution_s!r}: must be a positive number of s")
    if frame.empty:
        raise DatasetError("no readings to import")
    binned = frame.resample(f"{resolution_s}s", origin=origin, closed="left", label="left").mean()
    full = pd.date_range(
        binned.index[0], binned.index[-1], freq=f"{resolution_s}s", tz="UTC", name="ts"
    )
    if report is not None:
        ns = frame.index.as_unit("ns").asi8
        step = resolution_s * 1_000_000_000
        bins = (ns - ns[0]) // step if origin == "start" else ns // step
        used = int(np.count_nonzero(np.diff(bins))) + 1  # sorted: one more than the changes
        report.merged += len(frame) - used
        report.empty_steps += len(full) - used
    return binned.reindex(full).astype("float64")


def household_dataset(
    frame: pd.DataFrame,
    household: str,
    *,
    name: str,
    timezone: str,
    resolution_s: int,
    source: str,
    archetype: str = "real",
) -> Dataset:
    """A one-household :class:`Dataset` from ``frame`` (columns are the channel names)."""
    validate_household_id(household)
    validate_timezone(timezone)
    channels: Sequence[str] = [validate_channel(str(c)) for c in frame.columns]
    table = frame.rename(columns={c: column_name(household, c) for c in channels})
    table.index.name = "ts"
    info = HouseholdInfo(
        id=household,
        name=name,
        archetype=archetype,
        timezone=timezone,
        channels=tuple(channels),
        resolution_s=int(resolution_s),
        source=source,
    )
    return Dataset(households={household: info}, table=table)


def import_summary(result: ImportResult, household: str, out: Path) -> str:
    """The line an ``import`` command prints (see :meth:`ImportReport.summary`)."""
    return result.report.summary(result.dataset, household, out)
