"""Importer for the UK-DALE layout (Kelly & Knottenbelt, Scientific Data 2015).

A UK-DALE directory holds ``house_N/`` folders, each with

* ``labels.dat`` — one line per channel: ``<channel number> <label>`` (``1 aggregate``,
  ``2 boiler``, ...);
* ``channel_K.dat`` — one line per reading: ``<unix seconds> <watts>``, space-separated,
  about every 6 s.

Channel 1, the whole-house meter ("aggregate"), becomes the Gridlight channel ``Overall``; the
others are named from their labels (``washing_machine`` → ``WashingMachine``) or as asked.
Watts become kW, and every channel is averaged onto one grid of ``resolution_s`` bins at whole
multiples of it since 1970; a bin without a reading is NaN, never zero. The houses are in
the UK, so the household's zone is Europe/London. The times are Unix seconds, so no clock
question arises; a line whose time cannot be read and a repeated time (the first is kept) are
dropped and counted, and readings averaged into a shared bin are counted, in the
:class:`~generator.importers.common.ImportReport`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from generator.dataset import DatasetError, validate_channel, validate_household_id
from generator.importers.common import ImportReport, ImportResult, household_dataset, onto_grid

__all__ = [
    "UKDALE_RESOLUTION_S",
    "UKDALE_TIMEZONE",
    "channel_name",
    "import_ukdale",
    "read_labels",
]

UKDALE_TIMEZONE = "Europe/London"
UKDALE_RESOLUTION_S = 6
AGGREGATE_CHANNEL = 1


def channel_name(label: str, number: int) -> str:
    """A valid Gridlight channel name from a UK-DALE label: ``kitchen_lights`` → ``KitchenLights``."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", label) if w]
    name = "".join(w[0].upper() + w[1:] for w in words)
    if not name:
        return f"Channel{number}"
    if not name[0].isalpha():
        name = f"Ch{name}"
    return name[:32]


def read_labels(house_dir: Path) -> dict[int, str]:
    """``labels.dat`` of a house: channel number → label."""
    path = house_dir / "labels.dat"
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError as err:
        raise DatasetError(f"{str(house_dir)!r} has no labels.dat: not a UK-DALE house") from err
    labels: dict[int, str] = {}
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        number, _, label = line.strip().partition(" ")
        if not number.isdigit() or not label.strip():
            raise DatasetError(
                f"{str(path)!r} line {lineno}: {line!r} is not '<channel number> <label>'"
            )
        labels[int(number)] = label.strip()
    if not labels:
        raise DatasetError(f"{str(path)!r} lists no channels")
    return labels


def _read_channel(house_dir: Path, number: int, report: ImportReport) -> pd.Series:
    """``channel_K.dat`` → average power [kW] on its UTC times (sorted, first of equal times)."""
    path = house_dir / f"channel_{number}.dat"
    try:
        raw = pd.read_csv(
            path, sep=r"\s+", header=None, names=["s", "w"], usecols=[0, 1], dtype="float64"
        )
    except FileNotFoundError as err:
        raise DatasetError(f"{str(path)!r} does not exist") from err
    except pd.errors.EmptyDataError:
        raw = pd.DataFrame({"s": [], "w": []}, dtype="float64")
    except (pd.errors.ParserError, ValueError) as err:
        raise DatasetError(
            f"{str(path)!r} is not '<unix seconds> <watts>' per line: {err}"
        ) from err
    report.rows_read += len(raw)
    seconds = raw["s"].to_numpy()
    readable = np.isfinite(seconds)
    report.drop("lines with an unreadable time", int((~readable).sum()))
    ts = pd.to_datetime(seconds[readable], unit="s", utc=True)
    power = pd.Series(raw["w"].to_numpy()[readable] / 1000.0, index=ts, dtype="float64")
    power = power.sort_index(kind="stable")
    repeated = power.index.duplicated(keep="first")
    report.drop("duplicate timestamps (kept the first)", int(repeated.sum()))
    return power[~repeated]


def _select(labels: Mapping[int, str], channels: Mapping[str, str] | None) -> dict[str, int]:
    """Gridlight channel → UK-DALE channel number (Overall first)."""
    if AGGREGATE_CHANNEL not in labels:
        raise DatasetError("labels.dat has no channel 1 (the whole-house 'aggregate' meter)")
    chosen = {"Overall": AGGREGATE_CHANNEL}
    if channels is None:
        for number, label in sorted(labels.items()):
            if number == AGGREGATE_CHANNEL:
                continue
            name = channel_name(label, number)
            if name in chosen:
                name = f"{name[: 32 - len(str(number))]}{number}"
            chosen[name] = number
        return chosen
    by_label = {label: number for number, label in labels.items()}
    for name, wanted in channels.items():
        validate_channel(name)
        if name in chosen:
            raise DatasetError(f"--channels names {name!r} twice (Overall is channel 1 already)")
        number = by_label.get(wanted)
        if number is None and wanted.isdigit() and int(wanted) in labels:
            number = int(wanted)
        if number is None:
            known = ", ".join(f"{n}={label}" for n, label in sorted(labels.items()))
            raise DatasetError(f"no channel labelled {wanted!r} in labels.dat (it has: {known})")
        if number == AGGREGATE_CHANNEL:
            raise DatasetError(
                f"{name}={wanted}: channel 1 (the aggregate meter) is always imported as Overall"
            )
        chosen[name] = number
    return chosen


def parse_channels(spec: str) -> dict[str, str]:
    """``NAME=LABEL,...`` → {Gridlight channel: UK-DALE label or channel number}."""
    out: dict[str, str] = {}
    for part in spec.split(","):
        name, sep, label = (p.strip() for p in part.partition("="))
        if not sep or not name or not label:
            raise DatasetError(f"invalid --channels entry {part!r}: expected NAME=LABEL")
        if name in out:
            raise DatasetError(f"--channels names {name!r} twice")
        out[name] = label
    return out


def import_ukdale(
    root: str | os.PathLike[str],
    house: int,
    household: str,
    *,
    channels: Mapping[str, str] | None = None,
    resolution_s: int = UKDALE_RESOLUTION_S,
    name: str | None = None,
) -> ImportResult:
    """A one-household :class:`Dataset` from ``root/house_{house}`` (see the module docstring).

    ``channels`` maps Gridlight channel names to UK-DALE labels (or channel numbers); without
    it every labelled channel is imported. ``Overall`` (channel 1) is always imported.
    """
    validate_household_id(household)
    if resolution_s <= 0:
        raise DatasetError(f"invalid resolution {resolution_s!r}: must be a positive number of s")
    root = Path(root)
    house_dir = root / f"house_{house}"
    if not house_dir.is_dir():
        found = sorted(p.name for p in root.glob("house_*") if p.is_dir()) if root.is_dir() else []
        raise DatasetError(
            f"no house_{house} directory in {str(root)!r} "
            f"(found: {', '.join(found) if found else 'no house_N directories'})"
        )
    chosen = _select(read_labels(house_dir), channels)
    report = ImportReport()
    series = {name: _read_channel(house_dir, number, report) for name, number in chosen.items()}
    if all(s.empty for s in series.values()):
        raise DatasetError(f"{str(house_dir)!r} has no readings in the chosen channels")
    # Each channel is binned on its own first (their times differ), then the bins are aligned.
    per_channel = ImportReport()
    binned = {
        name: onto_grid(s.to_frame(name), resolution_s, origin="epoch", report=per_channel)[name]
        for name, s in series.items()
        if not s.empty
    }
    report.merged = per_channel.merged
    frame = pd.concat(binned, axis=1, sort=True).reindex(columns=list(series))
    grid = onto_grid(frame, resolution_s, origin="epoch")
    step_ns = resolution_s * 1_000_000_000
    used = np.unique(
        np.concatenate([s.index.as_unit("ns").asi8 // step_ns for s in series.values()])
    )
    report.empty_steps = len(grid) - len(used)
    dataset = household_dataset(
        grid,
        household,
        name=name or f"UK-DALE house {house}",
        timezone=UKDALE_TIMEZONE,
        resolution_s=resolution_s,
        source=f"ukdale:house_{house}",
    )
    return ImportResult(dataset, report)
