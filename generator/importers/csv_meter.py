"""Importer for a generic CSV of one household's meter (a utility portal export, a logger dump).

A column map says which column holds the time and which hold the channels::

    ts=time,Overall=total_w:W,AC=aircon_kw

* ``ts=<column>`` (required): ISO 8601 times, or epoch seconds when every cell is a number.
  Times without a UTC offset are read on the household's zone (``timezone``) with a clock:
  ``auto`` (default) finds from the data whether they follow its daylight-saving switches
  (wall time) or not (a fixed offset, the zone's standard time unless ``utc_offset`` says),
  and falls back to wall time; ``local`` and ``fixed`` say so (see
  :func:`generator.importers.common.detect_clock`).
* ``CHANNEL=<column>[:unit]``, one per channel, unit ``kW`` (the default), ``W`` or ``kWh``
  (the energy of each sample, turned into the sample's average power with the data's own
  sample interval: kW = kWh × 3600 / interval_s).

Rows are sorted; of rows with the same time the last one wins. The table is put on a regular
grid at ``resolution_s`` (default: the median spacing of the times) starting at the first time;
a grid step without a reading is a NaN row, and a cell that is not a number is NaN as well —
never zero. :class:`CsvImport` counts every row dropped (a repeated time, an unreadable time, a
wall time that DST skips) or averaged with another into one step, and every cell blanked, so
the command can say so.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from generator.dataset import (
    Dataset,
    DatasetError,
    validate_channel,
    validate_household_id,
    validate_timezone,
)
from generator.importers.common import (
    ImportReport,
    household_dataset,
    localize,
    onto_grid,
    resolve_clock,
)

__all__ = ["UNITS", "ChannelMap", "ColumnMap", "CsvImport", "import_csv", "parse_map"]

# Unit name → factor to kW for power units; kWh is converted with the sample interval.
UNITS = {"kw": "kW", "w": "W", "kwh": "kWh"}
_TO_KW = {"kW": 1.0, "W": 1.0 / 1000.0}
# Cells read as missing (not counted as unparsable).
_MISSING = {"", "na", "n/a", "nan", "null", "none", "-", "?"}
_MAX_EPOCH_S = 1e10  # 2286-11-20; milliseconds since 1970 are larger
_OFFSET_RE = re.compile(r"(?:[zZ]|[+-]\d\d(?::?\d\d)?)$")


@dataclass(frozen=True)
class ChannelMap:
    """One channel of the map: its Gridlight name, the file's column and the column's unit."""

    channel: str
    column: str
    unit: str | None  # None: no unit given, kW unless the column name itself holds a ':'


@dataclass(frozen=True)
class ColumnMap:
    """A parsed ``--map``: the time column and the channels in the order given."""

    ts: str
    channels: tuple[ChannelMap, ...]


DROP_DUPLICATE = "duplicate timestamps (kept the last)"
DROP_BAD_TIME = "with an unreadable time"


@dataclass
class CsvImport:
    """A CSV import's dataset and its report of what was dropped, merged or blanked."""

    dataset: Dataset
    report: ImportReport
    sample_interval_s: float

    @property
    def rows_read(self) -> int:
        return self.report.rows_read

    @property
    def duplicates(self) -> int:
        """Rows dropped because a later row had the same time."""
        return self.report.dropped.get(DROP_DUPLICATE, 0)

    @property
    def bad_times(self) -> int:
        """Rows dropped because their time could not be read."""
        return self.report.dropped.get(DROP_BAD_TIME, 0)

    @property
    def bad_cells(self) -> int:
        """Channel cells that were not numbers (now NaN)."""
        return self.report.cells_blanked


def parse_map(spec: str) -> ColumnMap:
    """Parse ``ts=<column>,CHANNEL=<column>[:unit],...`` (see the module docstring)."""
    ts: str | None = None
    channels: list[ChannelMap] = []
    seen: set[str] = set()
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key or not value:
            raise DatasetError(
                f"invalid --map entry {part!r}: expected ts=<column> or CHANNEL=<column>[:unit]"
            )
        if key == "ts":
            if ts is not None:
                raise DatasetError("--map gives ts twice")
            ts = value
            continue
        validate_channel(key)
        if key in seen:
            raise DatasetError(f"--map gives channel {key!r} twice")
        seen.add(key)
        column, colon, unit = value.rpartition(":")
        if colon and column:
            channels.append(ChannelMap(key, column, unit))
        else:
            channels.append(ChannelMap(key, value, None))
    if ts is None:
        raise DatasetError("--map has no ts=<column>: say which column holds the time")
    if not channels:
        raise DatasetError("--map names no channel: add CHANNEL=<column>[:unit]")
    return ColumnMap(ts, tuple(channels))


def _resolve(entry: ChannelMap, columns: list[str]) -> tuple[str, str]:
    """The file column and unit of a channel; a column whose own name holds ':' wins."""
    if entry.unit is None:
        column, unit = entry.column, "kW"
    elif f"{entry.column}:{entry.unit}" in columns and entry.unit.lower() not in UNITS:
        column, unit = f"{entry.column}:{entry.unit}", "kW"
    elif entry.unit.lower() in UNITS:
        column, unit = entry.column, UNITS[entry.unit.lower()]
    else:
        raise DatasetError(
            f"invalid unit {entry.unit!r} for channel {entry.channel!r}: expected kW, W or kWh"
        )
    if column not in columns:
        raise DatasetError(_unknown_column(column, columns))
    return column, unit


def _unknown_column(column: str, columns: list[str]) -> str:
    return f"no column {column!r} in the file (its columns: {', '.join(map(repr, columns))})"


def _read(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(
            path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig"
        )
    except FileNotFoundError as err:
        raise DatasetError(f"CSV file {str(path)!r} does not exist") from err
    except IsADirectoryError as err:
        raise DatasetError(f"{str(path)!r} is a directory, not a CSV file") from err
    except pd.errors.EmptyDataError as err:
        raise DatasetError(f"CSV file {str(path)!r} is empty") from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DatasetError(f"{str(path)!r} cannot be read as CSV: {err}") from err
    raw.columns = [str(c).strip() for c in raw.columns]
    if raw.empty:
        raise DatasetError(f"CSV file {str(path)!r} has a header but no rows")
    return raw


def _parse_times(cells: pd.Series, column: str) -> tuple[pd.DatetimeIndex, bool]:
    """The time column → UTC, or naive wall times (then True); NaT where a cell is unreadable."""
    text = cells.str.strip()
    given = text[text != ""]
    numbers = pd.to_numeric(given, errors="coerce")
    if len(given) and numbers.notna().all():
        seconds = pd.to_numeric(text, errors="coerce").to_numpy(dtype="float64")
        if np.nanmax(np.abs(seconds)) >= _MAX_EPOCH_S:
            raise DatasetError(
                f"column {column!r} holds numbers too large for epoch seconds "
                f"(e.g. {given.iloc[int(np.argmax(numbers.abs().to_numpy()))]!r}): "
                "expected seconds since 1970, not milliseconds"
            )
        ns = np.full(seconds.shape, np.iinfo(np.int64).min, dtype=np.int64)  # NaT
        ok = np.isfinite(seconds)
        ns[ok] = np.round(seconds[ok] * 1e9).astype(np.int64)
        return pd.DatetimeIndex(ns.view("M8[ns]")).tz_localize("UTC"), False
    aware = given.str.contains(_OFFSET_RE)
    if aware.any() and not aware.all():
        raise DatasetError(
            f"column {column!r} mixes times with and without a UTC offset "
            f"(e.g. {given[aware].iloc[0]!r} and {given[~aware].iloc[0]!r})"
        )
    if len(given) and aware.all():
        utc = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        return pd.DatetimeIndex(utc), False
    return pd.DatetimeIndex(pd.to_datetime(text, format="ISO8601", errors="coerce")), True


def _parse_values(cells: pd.Series) -> tuple[pd.Series, int]:
    """A channel column → float (NaN where missing or unparsable) and the unparsable count."""
    text = cells.str.strip()
    values = pd.to_numeric(text, errors="coerce").astype("float64")
    bad = values.isna() & ~text.str.lower().isin(_MISSING)
    return values, int(bad.sum())


def import_csv(
    path: str | os.PathLike[str],
    household: str,
    column_map: str | ColumnMap,
    *,
    timezone: str = "UTC",
    name: str | None = None,
    resolution_s: int | None = None,
    clock: str = "auto",
    utc_offset: str | None = None,
) -> CsvImport:
    """Import one household's meter CSV as a :class:`Dataset` (see the module docstring)."""
    path = Path(path)
    validate_household_id(household)
    spec = parse_map(column_map) if isinstance(column_map, str) else column_map
    validate_timezone(timezone)
    if resolution_s is not None and resolution_s <= 0:
        raise DatasetError(f"invalid resolution {resolution_s!r}: must be a positive number of s")
    raw = _read(path)
    columns = list(raw.columns)
    if spec.ts not in columns:
        raise DatasetError(_unknown_column(spec.ts, columns))
    resolved = [(entry.channel, *_resolve(entry, columns)) for entry in spec.channels]

    report = ImportReport(rows_read=len(raw))
    columns_kw = {}
    for channel, column, _unit in resolved:
        values, bad = _parse_values(raw[column])
        columns_kw[channel] = values.to_numpy()
        report.cells_blanked += bad
    frame = pd.DataFrame(columns_kw)
    times, naive = _parse_times(raw[spec.ts], spec.ts)
    if naive:
        found = resolve_clock(times, timezone, clock, utc_offset, values=frame.to_numpy())
        read = times.notna()
        times = localize(times, found, report)
        skipped = read & times.isna()  # counted by localize; not 'unreadable'
    else:
        if clock != "auto" or utc_offset is not None:
            raise DatasetError(
                f"column {spec.ts!r} holds UTC offsets or epoch seconds: --clock and "
                "--utc-offset are for times without an offset"
            )
        skipped = np.zeros(len(times), dtype=bool)
    frame.index = times.as_unit("ns")
    keep = frame.index.notna()
    report.drop(DROP_BAD_TIME, int((~keep & ~skipped).sum()))
    if not keep.any() and not skipped.any():
        first = raw[spec.ts].iloc[0]
        raise DatasetError(
            f"no time in column {spec.ts!r} could be read as ISO 8601 or epoch seconds "
            f"(first row: {first!r})"
        )
    frame = frame[keep]
    # A stable sort keeps the file's order among equal times, so 'last' is the file's last.
    frame = frame.iloc[np.argsort(frame.index.asi8, kind="stable")]
    dup = frame.index.duplicated(keep="last")
    report.drop(DROP_DUPLICATE, int(dup.sum()))
    frame = frame[~dup]
    if frame.empty:
        raise DatasetError(f"{str(path)!r} has no reading at a time that exists in {timezone}")

    spacing = np.diff(frame.index.asi8) / 1e9
    if spacing.size:
        interval_s = float(np.median(spacing))
    elif resolution_s is not None:
        interval_s = float(resolution_s)
    else:
        raise DatasetError(
            f"{str(path)!r} has readings at one time only: give --resolution to say their interval"
        )
    if resolution_s is None:
        resolution_s = round(interval_s)
        if resolution_s < 1:
            raise DatasetError(
                f"the times in {str(path)!r} are {interval_s:g} s apart: Gridlight stores whole "
                "seconds, so give --resolution (1 or more)"
            )
    for channel, _column, unit in resolved:
        if unit == "kWh":
            frame[channel] = frame[channel] * (3600.0 / interval_s)
        else:
            frame[channel] = frame[channel] * _TO_KW[unit]

    dataset = household_dataset(
        onto_grid(frame, resolution_s, report=report),
        household,
        name=name or f"{household} ({path.name})",
        timezone=timezone,
        resolution_s=resolution_s,
        source=f"csv:{path.name}",
    )
    return CsvImport(dataset=dataset, report=report, sample_interval_s=interval_s)
