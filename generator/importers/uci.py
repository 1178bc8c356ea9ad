"""Importer for the UCI "Individual household electric power consumption" format.

The file is ``;``-separated with a ``Date`` (d/m/yyyy) and ``Time`` (hh:mm:ss) in the
household's zone (Europe/Paris) and ``?`` for a missing minute. It becomes a dataset
household with the channels

* ``Overall`` — ``Global_active_power``, whole-house minute average [kW];
* ``Kitchen``, ``Laundry``, ``HeaterAC`` — ``Sub_metering_1..3``, energy in the minute [Wh],
  converted to average power [kW] (× 60 / 1000).

Timestamps become UTC at the data's own 1-minute resolution; minutes absent from the file
(or written ``?``) stay missing (NaN) on a regular 1-minute index.

The UCI data set's clock does not follow daylight saving time: every day has 1,440 minutes,
the spring day included. So its times are read with a :class:`~generator.importers.common.Clock`
found from the data (``clock="auto"``: readings at wall times that DST skips mean a fixed clock,
kept at the offset of the first reading, UTC+01:00 for a file that starts in winter) or stated
(``clock="local"``/``"fixed"``, ``utc_offset="+01:00"``); without a DST switch in the file, as
in a one-month slice, it is Paris wall time. Rows are never dropped silently: a repeated time
(the first is kept) or, on a local clock, a wall time that never happened is counted in the
:class:`~generator.importers.common.ImportReport`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from generator.dataset import DatasetError, validate_household_id
from generator.importers.common import (
    ImportReport,
    ImportResult,
    household_dataset,
    localize,
    onto_grid,
    resolve_clock,
)

__all__ = ["UCI_CHANNELS", "UCI_TIMEZONE", "import_uci", "load_uci", "read_uci"]

UCI_TIMEZONE = "Europe/Paris"
UCI_CHANNELS = ("Overall", "Kitchen", "Laundry", "HeaterAC")
_WH_PER_MIN_TO_KW = 60.0 / 1000.0
_REQUIRED = (
    "Date",
    "Time",
    "Global_active_power",
    "Sub_metering_1",
    "Sub_metering_2",
    "Sub_metering_3",
)


def read_uci(
    path: str | os.PathLike[str],
    *,
    timezone: str = UCI_TIMEZONE,
    clock: str = "auto",
    utc_offset: str | None = None,
) -> pd.DataFrame:
    """Read a UCI household power file into a frame of the four channels [kW], UTC index."""
    return load_uci(path, timezone=timezone, clock=clock, utc_offset=utc_offset)[0]


def load_uci(
    path: str | os.PathLike[str],
    *,
    timezone: str = UCI_TIMEZONE,
    clock: str = "auto",
    utc_offset: str | None = None,
) -> tuple[pd.DataFrame, ImportReport]:
    """A UCI file's four channels [kW] on a 1-minute UTC grid, and what was read and dropped."""
    try:
        raw = pd.read_csv(
            path,
            sep=";",
            na_values=["?", ""],
            dtype={"Date": "string", "Time": "string"},
            low_memory=False,
        )
    except FileNotFoundError as err:
        raise DatasetError(f"UCI file {str(path)!r} does not exist") from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DatasetError(
            f"{str(path)!r} is not in the UCI household power format: {err}"
        ) from err
    missing = [c for c in _REQUIRED if c not in raw.columns]
    if missing:
        raise DatasetError(
            f"{str(path)!r} is not in the UCI household power format: "
            f"missing column(s) {', '.join(missing)}"
        )
    if raw.empty:
        raise DatasetError(f"UCI file {str(path)!r} has no rows")
    local = pd.to_datetime(
        raw["Date"] + " " + raw["Time"], format="%d/%m/%Y %H:%M:%S", errors="coerce"
    )
    if local.isna().any():
        bad = int(local.isna().idxmax())
        raise DatasetError(
            f"{str(path)!r} row {bad + 2}: date/time {raw['Date'][bad]!r} {raw['Time'][bad]!r} "
            "is not d/m/yyyy hh:mm:ss"
        )
    local = pd.DatetimeIndex(local)
    report = ImportReport(rows_read=len(raw))
    values = pd.DataFrame(
        {
            "Overall": pd.to_numeric(raw["Global_active_power"], errors="coerce"),
            "Kitchen": pd.to_numeric(raw["Sub_metering_1"], errors="coerce") * _WH_PER_MIN_TO_KW,
            "Laundry": pd.to_numeric(raw["Sub_metering_2"], errors="coerce") * _WH_PER_MIN_TO_KW,
            "HeaterAC": pd.to_numeric(raw["Sub_metering_3"], errors="coerce") * _WH_PER_MIN_TO_KW,
        }
    ).astype("float64")
    found = resolve_clock(local, timezone, clock, utc_offset, values=values.to_numpy())
    values.index = localize(local, found, report)
    values = values[values.index.notna()].sort_index(kind="stable")
    repeated = values.index.duplicated(keep="first")
    report.drop("duplicate timestamps (kept the first)", int(repeated.sum()))
    values = values[~repeated]
    return onto_grid(values, 60, report=report), report


def import_uci(
    path: str | os.PathLike[str],
    household: str,
    *,
    name: str | None = None,
    clock: str = "auto",
    utc_offset: str | None = None,
) -> ImportResult:
    """A one-household :class:`Dataset` from a UCI file, with its import report."""
    validate_household_id(household)
    frame, report = load_uci(path, clock=clock, utc_offset=utc_offset)
    dataset = household_dataset(
        frame,
        household,
        name=name or f"UCI household ({Path(path).name})",
        timezone=UCI_TIMEZONE,
        resolution_s=60,
        source="uci:individual-household-electric-power-consumption",
    )
    return ImportResult(dataset, report)
