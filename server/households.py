"""The households the server knows: every dataset directory under ``DATA_DIR``.

A dataset is a sub-directory holding ``households.json`` (see :mod:`generator.dataset`). The
directory is scanned when first needed and again (at most every few seconds) when a household is
not found, so a dataset written while the server runs is picked up. Tables are read once and
kept in memory. A household id found in two datasets is served from the first in sorted order.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from generator.dataset import Dataset, DatasetError, HouseholdInfo, read_dataset, read_meta
from server.errors import UnknownHousehold

__all__ = ["Households", "Replayable"]

log = logging.getLogger(__name__)
RESCAN_S = 5.0


@dataclass(frozen=True)
class Replayable:
    """A household's table as arrays, for replays: row ``i`` is dataset second ``i * res``."""

    info: HouseholdInfo
    start_s: int  # epoch second of row 0
    resolution_s: int
    values: np.ndarray  # (rows, channels) [kW], NaN missing

    @property
    def span_s(self) -> int:
        return len(self.values) * self.resolution_s


class Households:
    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        self._lock = threading.Lock()
        self._where: dict[str, tuple[Path, HouseholdInfo]] = {}
        self._datasets: dict[Path, Dataset] = {}
        self._replayable: dict[str, Replayable] = {}
        self._scanned_at = -RESCAN_S

    def _scan(self) -> None:
        where: dict[str, tuple[Path, HouseholdInfo]] = {}
        if self.data_dir.is_dir():
            for meta in sorted(self.data_dir.glob("*/households.json")):
                try:
                    infos, _ = read_meta(meta.parent)
                except (DatasetError, OSError, ValueError, KeyError) as err:
                    log.warning("ignoring %s: %s", meta.parent, err)
                    continue
                for hid, info in infos.items():
                    where.setdefault(hid, (meta.parent, info))
        self._where = where
        self._scanned_at = time.monotonic()

    def _locate(self, household: str) -> tuple[Path, HouseholdInfo]:
        with self._lock:
            if household not in self._where and time.monotonic() - self._scanned_at >= RESCAN_S:
                self._scan()
            try:
                return self._where[household]
            except KeyError:
                known = ", ".join(sorted(self._where)) or "none"
                raise UnknownHousehold(
                    f"unknown household {household!r} (known: {known})"
                ) from None

    def all(self) -> list[HouseholdInfo]:
        with self._lock:
            if time.monotonic() - self._scanned_at >= RESCAN_S:
                self._scan()
            return [info for _, info in sorted(self._where.values(), key=lambda v: v[1].id)]

    def info(self, household: str) -> HouseholdInfo:
        return self._locate(household)[1]

    def dataset_path(self, household: str) -> Path:
        return self._locate(household)[0]

    def dataset(self, household: str) -> Dataset:
        path, _ = self._locate(household)
        with self._lock:
            found = self._datasets.get(path)
        if found is None:
            found = read_dataset(path)
            with self._lock:
                found = self._datasets.setdefault(path, found)
        return found

    def replayable(self, household: str) -> Replayable:
        """The table replays play: the faulty one (realistic meters) when the dataset has it."""
        found = self._replayable.get(household)
        if found is not None:
            return found
        dataset = self.dataset(household)
        info = dataset.household(household)
        frame = dataset.frame(household, faulty=dataset.faulty is not None)
        index = frame.index
        start_s = int(index[0].timestamp()) if len(index) else 0
        values = frame.to_numpy(dtype="float64", na_value=np.nan)
        replay = Replayable(info, start_s, max(int(info.resolution_s), 1), values)
        self._replayable[household] = replay
        return replay
