"""Dataset directories: the one on-disk format every part of Gridlight reads.

A dataset is a directory holding

* ``households.parquet`` — the clean table, indexed by UTC timestamp ``ts`` with one float
  column per household and channel named ``{household}_{channel}`` (average power over the
  sample [kW]; missing is NaN, never zero);
* ``households_faulty.parquet`` and ``faults.parquet`` (columns ``ts, household, channel, kind``)
  when faults were asked for;
* ``households.json`` — metadata: one entry per household (id, name, archetype, timezone,
  channels, resolution_s, source, and any further keys, such as ``estimated``: the channels
  that are estimates, see :attr:`HouseholdInfo.estimated`) and the dataset's content
  fingerprint.

Writes are all-or-nothing: files are written to a temporary directory beside the target and
moved into place only when every one of them is complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

__all__ = [
    "CLEAN_FILE",
    "FAULTY_FILE",
    "CSV_CLEAN_FILE",
    "CSV_FAULTS_FILE",
    "CSV_FAULTY_FILE",
    "FAULTS_FILE",
    "META_FILE",
    "Dataset",
    "DatasetError",
    "HouseholdInfo",
    "column_name",
    "fingerprint_table",
    "read_dataset",
    "split_column",
    "validate_household_id",
    "validate_timezone",
    "write_dataset",
]

CLEAN_FILE = "households.parquet"
FAULTY_FILE = "households_faulty.parquet"
FAULTS_FILE = "faults.parquet"
META_FILE = "households.json"
#: The seed's wide CSV files (``--format csv``), read back like the parquet ones.
CSV_CLEAN_FILE = "realistic_fake_energy_data_without_errors.csv"
CSV_FAULTY_FILE = "realistic_fake_energy_data_with_errors.csv"
CSV_FAULTS_FILE = "faults.csv"

_HOUSEHOLD_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")
_CHANNEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,31}$")


class DatasetError(ValueError):
    """A dataset directory or table that cannot be read or written as asked."""


def validate_household_id(household: str) -> str:
    """Return ``household`` if it is a valid id (letters, digits, '-', at most 32), else raise."""
    if not isinstance(household, str) or not _HOUSEHOLD_RE.match(household):
        raise DatasetError(
            f"invalid household id {household!r}: expected 1-32 letters, digits or '-', "
            "starting with a letter or digit"
        )
    return household


def validate_channel(channel: str) -> str:
    """Return ``channel`` if it is a valid channel name (letters then letters/digits)."""
    if not isinstance(channel, str) or not _CHANNEL_RE.match(channel):
        raise DatasetError(
            f"invalid channel name {channel!r}: expected a letter followed by up to 31 "
            "letters or digits"
        )
    return channel


def validate_timezone(name: str) -> str:
    """Return ``name`` if it is a known IANA time zone, else raise :class:`DatasetError`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as err:
        raise DatasetError(
            f"unknown time zone {name!r}: expected an IANA name such as 'Asia/Kolkata'"
        ) from err
    return name


def column_name(household: str, channel: str) -> str:
    """The table column for a household's channel: ``{household}_{channel}``."""
    return f"{household}_{channel}"


def split_column(column: str) -> tuple[str, str]:
    """Inverse of :func:`column_name`."""
    household, sep, channel = column.rpartition("_")
    if not sep or not household or not channel:
        raise DatasetError(f"column {column!r} is not named '{{household}}_{{channel}}'")
    return household, channel


@dataclass(frozen=True)
class HouseholdInfo:
    """Metadata of one household in a dataset."""

    id: str
    name: str
    archetype: str
    timezone: str
    channels: tuple[str, ...]
    resolution_s: int
    source: str
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def estimated(self) -> tuple[str, ...]:
        """Channels whose values are estimates, not meter readings (disaggregation writes
        ``"estimated": ["AC"]`` into the household's entry; ``true`` marks every channel but
        ``Overall``). Empty for metered households and for metadata written before the key."""
        raw = self.extra.get("estimated", [])
        if raw is True:
            return tuple(c for c in self.channels if c != "Overall")
        if not isinstance(raw, list | tuple):
            return ()
        return tuple(str(c) for c in raw if str(c) in self.channels)

    def to_json(self) -> dict[str, object]:
        out = asdict(self)
        out["channels"] = list(self.channels)
        extra = out.pop("extra")
        out.update(extra)
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, object]) -> HouseholdInfo:
        known = {"id", "name", "archetype", "timezone", "channels", "resolution_s", "source"}
        try:
            return cls(
                id=validate_household_id(str(raw["id"])),
                name=str(raw.get("name", raw["id"])),
                archetype=str(raw.get("archetype", "unknown")),
                timezone=validate_timezone(str(raw.get("timezone", "UTC"))),
                channels=tuple(str(c) for c in raw["channels"]),  # type: ignore[union-attr]
                resolution_s=int(raw.get("resolution_s", 1)),  # type: ignore[arg-type]
                source=str(raw.get("source", "unknown")),
                extra={k: v for k, v in raw.items() if k not in known},
            )
        except KeyError as err:
            raise DatasetError(f"household entry lacks the field {err.args[0]!r}") from err


@dataclass
class Dataset:
    """A dataset in memory: clean table, optional faulty table and fault labels, metadata."""

    households: dict[str, HouseholdInfo]
    table: pd.DataFrame
    faulty: pd.DataFrame | None = None
    faults: pd.DataFrame | None = None
    path: Path | None = None
    _fingerprint: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        check_table(self.table, self.households)
        if self.table.index.unit != "ns":
            self.table.index = self.table.index.as_unit("ns")
        if self.faulty is not None:
            check_table(self.faulty, self.households)
            if self.faulty.index.unit != "ns":
                self.faulty.index = self.faulty.index.as_unit("ns")

    @property
    def fingerprint(self) -> str:
        """A short content hash of the clean table and metadata (stable across writes)."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint_table(self.table, self.households.values())
        return self._fingerprint

    def household(self, household: str) -> HouseholdInfo:
        try:
            return self.households[household]
        except KeyError:
            known = ", ".join(sorted(self.households)) or "none"
            raise DatasetError(f"unknown household {household!r} (known: {known})") from None

    def frame(self, household: str, *, faulty: bool = False) -> pd.DataFrame:
        """One household's channels as a frame with plain channel names as columns."""
        info = self.household(household)
        source = self.faulty if faulty else self.table
        if source is None:
            raise DatasetError("this dataset has no faulty table")
        cols = [column_name(household, c) for c in info.channels]
        out = source[cols]
        out.columns = list(info.channels)
        return out


def check_table(table: pd.DataFrame, households: Mapping[str, HouseholdInfo]) -> None:
    """Raise :class:`DatasetError` unless ``table`` has a UTC ``ts`` index and known columns."""
    idx = table.index
    if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None or str(idx.tz) != "UTC":
        raise DatasetError("table index must be a UTC DatetimeIndex named 'ts'")
    regular = idx.freq is not None and idx.freq.nanos > 0  # increasing and unique by construction
    if not regular and (not idx.is_monotonic_increasing or idx.has_duplicates):
        raise DatasetError("table timestamps must be strictly increasing")
    for col in table.columns:
        household, channel = split_column(str(col))
        if household not in households or channel not in households[household].channels:
            raise DatasetError(f"column {col!r} names no household channel in households.json")


def fingerprint_table(table: pd.DataFrame, households: Iterable[HouseholdInfo]) -> str:
    """A 16-hex-digit content hash of a table and its household metadata."""
    h = hashlib.sha256()
    meta = sorted((hh.to_json() for hh in households), key=lambda m: str(m["id"]))
    h.update(json.dumps(meta, sort_keys=True).encode())
    # The arrays' own buffers are hashed (no byte copies); hashlib releases the GIL meanwhile.
    h.update(np.ascontiguousarray(table.index.asi8))
    for col in table.columns:
        h.update(str(col).encode())
        h.update(np.ascontiguousarray(table[col].to_numpy(dtype="float64")))
    return h.hexdigest()[:16]


def _prepare_for_write(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with its index named ``ts``: a view (copy-on-write), not a copy of the data."""
    return table.rename_axis(index="ts")


def write_dataset(dataset: Dataset, out_dir: str | os.PathLike[str]) -> Path:
    """Write ``dataset`` to ``out_dir`` (created if needed) in Parquet, all or nothing."""
    out = Path(out_dir)
    files: dict[str, pd.DataFrame] = {CLEAN_FILE: _prepare_for_write(dataset.table)}
    if dataset.faulty is not None:
        files[FAULTY_FILE] = _prepare_for_write(dataset.faulty)
    if dataset.faults is not None:
        files[FAULTS_FILE] = dataset.faults.reset_index(drop=True)

    def write_into(tmp: Path) -> None:
        # The fingerprint (a hash of the whole table) is computed on a thread while Parquet
        # encodes and compresses: both release the GIL, so the two overlap.
        with ThreadPoolExecutor(max_workers=1) as pool:
            fingerprint = pool.submit(lambda: dataset.fingerprint)
            for name, frame in files.items():
                frame.to_parquet(tmp / name, engine="pyarrow", compression="zstd")
            meta = {
                "version": 1,
                "fingerprint": fingerprint.result(),
                "households": [hh.to_json() for hh in dataset.households.values()],
            }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")

    written = list(files) + [META_FILE]
    # Files of an older dataset that this one lacks (e.g. its faulty table) must not survive.
    stale = [n for n in (CLEAN_FILE, FAULTY_FILE, FAULTS_FILE, META_FILE) if n not in written]
    atomic_write_dir(out, write_into, written, stale=stale)
    dataset.path = out
    return out


def atomic_write_dir(  # type: ignore[no-untyped-def]
    out: Path, write_into, names: list[str], *, stale: Iterable[str] = ()
) -> None:
    """Call ``write_into(tmp)`` then move ``names`` from ``tmp`` into ``out``.

    ``stale`` names files of an older dataset in ``out`` to remove with the swap. ``out`` and
    its parents are created; on any error ``out`` is left as it was: files the swap had
    already replaced or removed are put back, and a directory created for it is removed.
    """
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        if not os.access(out, os.W_OK):
            raise PermissionError(f"output directory {str(out)!r} is not writable")
        tmp = Path(tempfile.mkdtemp(prefix=".gridlight-", dir=out))
    except OSError as err:
        raise DatasetError(f"cannot write to {str(out)!r}: {err.strerror or err}") from err
    old = tmp / ".old"
    moved_old: list[str] = []
    placed: list[str] = []
    try:
        write_into(tmp)
        old.mkdir()
        for name in [*names, *stale]:
            if (out / name).is_file():
                os.replace(out / name, old / name)
                moved_old.append(name)
        for name in names:
            os.replace(tmp / name, out / name)
            placed.append(name)
    except BaseException as err:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for name in placed:
                (out / name).unlink(missing_ok=True)
            for name in moved_old:
                os.replace(old / name, out / name)
        if isinstance(err, OSError):
            raise DatasetError(f"cannot write to {str(out)!r}: {err.strerror or err}") from err
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_meta(path: str | os.PathLike[str]) -> tuple[dict[str, HouseholdInfo], str | None]:
    """Household metadata and stored fingerprint of a dataset directory."""
    meta_path = Path(path) / META_FILE
    try:
        raw = json.loads(meta_path.read_text())
    except FileNotFoundError as err:
        raise DatasetError(f"{str(path)!r} is not a dataset: it has no {META_FILE}") from err
    except json.JSONDecodeError as err:
        raise DatasetError(f"{str(meta_path)!r} is not valid JSON: {err}") from err
    entries = raw["households"] if isinstance(raw, dict) else raw
    households = {hh.id: hh for hh in (HouseholdInfo.from_json(e) for e in entries)}
    fingerprint = raw.get("fingerprint") if isinstance(raw, dict) else None
    return households, fingerprint


def _utc_index(frame: pd.DataFrame) -> pd.DataFrame:
    """``ts`` (a column or the index; naive times are UTC) as a UTC index, values float64."""
    if "ts" in frame.columns:
        frame = frame.set_index("ts")
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, utc=True), name="ts")
    return frame.astype("float64")


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return _utc_index(pd.read_csv(path, index_col="ts"))
    return _utc_index(pd.read_parquet(path, engine="pyarrow"))


def _read_faults(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        faults = pd.read_csv(path)
        faults["ts"] = pd.to_datetime(faults["ts"], utc=True)
        return faults
    return pd.read_parquet(path, engine="pyarrow")


def read_dataset(path: str | os.PathLike[str], *, faulty: bool = True) -> Dataset:
    """Read a dataset directory written by :func:`write_dataset`, or the seed's wide CSV files
    that ``--format csv`` writes (slower to read)."""
    root = Path(path)
    households, fingerprint = read_meta(root)
    names = (CLEAN_FILE, FAULTY_FILE, FAULTS_FILE)
    if not (root / CLEAN_FILE).exists() and (root / CSV_CLEAN_FILE).exists():
        names = (CSV_CLEAN_FILE, CSV_FAULTY_FILE, CSV_FAULTS_FILE)
    clean, faulty_file, faults_file = (root / name for name in names)
    if not clean.exists():
        raise DatasetError(
            f"{str(root)!r} is not a dataset: it has no {CLEAN_FILE} (nor {CSV_CLEAN_FILE})"
        )
    table = _read_table(clean)
    faulty_table = faults = None
    if faulty and faulty_file.exists():
        faulty_table = _read_table(faulty_file)
    if faulty and faults_file.exists():
        faults = _read_faults(faults_file)
    return Dataset(
        households=households,
        table=table,
        faulty=faulty_table,
        faults=faults,
        path=root,
        _fingerprint=fingerprint,
    )
