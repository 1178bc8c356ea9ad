"""The households the server knows: every dataset directory under ``DATA_DIR``, then the live
households registered with a key (``live``, set by :mod:`server.ingest`; their statistics come
from their stored history).

A dataset is a sub-directory holding ``households.json`` (see :mod:`generator.dataset`). The
directory is scanned when first needed and again (at most every few seconds) when a household is
not found, so a dataset written while the server runs is picked up. Tables are read once and
kept in memory once read, which a worker whose statistics are all cached never does. A household id found in two datasets is served from the first in sorted order.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from generator.dataset import (
    CLEAN_FILE,
    META_FILE,
    Dataset,
    DatasetError,
    HouseholdInfo,
    read_dataset,
    read_meta,
)
from server.errors import InvalidParameter, UnknownHousehold

if TYPE_CHECKING:
    from server.households.replayed import ReplayedHistory

__all__ = ["Households", "Replayable"]

log = logging.getLogger(__name__)
RESCAN_S = 5.0


def _release_freed_memory() -> None:
    """Hand the memory freed after reading a table back to the OS.

    Reading a parquet table goes through Arrow buffers and pandas copies that are freed once the
    float64 frame is built, but Arrow's allocator (mimalloc/jemalloc) and glibc's malloc keep them
    mapped: about 150 MB per table per worker, measured. Releasing them is best effort. glibc's
    ``malloc_trim`` is looked up among the process's own symbols: ``ctypes.util.find_library``
    runs ``ldconfig`` in a subprocess, which gevent cannot start from the native thread pool that
    reads tables off the request greenlets.
    """
    gc.collect()
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def _parquet_span(path: Path) -> tuple[int, int] | None:
    """``(first ts [epoch s], rows)`` of a dataset table from its parquet metadata; ``None`` if
    the file or its statistics do not tell (a CSV dataset: read the table instead)."""
    try:
        meta = pq.ParquetFile(path).metadata
        column = meta.schema.to_arrow_schema().get_field_index("ts")
        if column < 0 or meta.num_row_groups == 0:
            return None
        stats = meta.row_group(0).column(column).statistics
        if stats is None or not stats.has_min_max:
            return None
        first = stats.min
        if first.tzinfo is None:  # a naive index is UTC, as the tables are read
            first = first.replace(tzinfo=UTC)
        return int(first.timestamp()), int(meta.num_rows)
    except (OSError, ValueError, AttributeError, pa.ArrowException):
        return None


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


class LiveSource(Protocol):
    """Live households (see :class:`server.ingest.history.LiveHouseholds`)."""

    def info(self, household: str) -> HouseholdInfo | None: ...

    def all(self) -> list[HouseholdInfo]: ...

    def history(self, household: str) -> Dataset: ...


class Households:
    def __init__(self, data_dir: str | Path, live: LiveSource | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.live = live
        self._lock = threading.Lock()
        self._where: dict[str, tuple[Path, HouseholdInfo]] = {}
        self._fingerprints: dict[Path, str | None] = {}
        self._meta_stamps: dict[Path, int] = {}  # households.json's mtime when last read
        self._datasets: dict[Path, Dataset] = {}
        self._replayable: dict[str, Replayable] = {}
        self._replayed: dict[str, ReplayedHistory] = {}
        self._scanned_at = -RESCAN_S

    def _scan(self) -> None:
        where: dict[str, tuple[Path, HouseholdInfo]] = {}
        fingerprints: dict[Path, str | None] = {}
        if self.data_dir.is_dir():
            for meta in sorted(self.data_dir.glob("*/households.json")):
                try:
                    stamp = meta.stat().st_mtime_ns
                    infos, fingerprints[meta.parent] = read_meta(meta.parent)
                    self._meta_stamps.setdefault(meta.parent, stamp)
                except (DatasetError, OSError, ValueError, KeyError) as err:
                    log.warning("ignoring %s: %s", meta.parent, err)
                    continue
                for hid, info in infos.items():
                    where.setdefault(hid, (meta.parent, info))
        self._where = where
        self._fingerprints = fingerprints
        self._scanned_at = time.monotonic()

    def _locate(self, household: str) -> tuple[Path | None, HouseholdInfo]:
        """Dataset directory (``None`` for a live household) and metadata."""
        with self._lock:
            if household not in self._where and time.monotonic() - self._scanned_at >= RESCAN_S:
                self._scan()
            found = self._where.get(household)
            known = sorted(self._where)
        if found is not None:
            return found
        live = self.live.info(household) if self.live is not None else None
        if live is not None:
            return None, live
        if self.live is not None:
            known = sorted({*known, *(h.id for h in self.live.all())})
        raise UnknownHousehold(
            f"unknown household {household!r} (known: {', '.join(known) or 'none'})"
        )

    def is_live(self, household: str) -> bool:
        """A household with no dataset that reports its own readings."""
        return self._locate(household)[0] is None

    def all(self) -> list[HouseholdInfo]:
        with self._lock:
            if time.monotonic() - self._scanned_at >= RESCAN_S:
                self._scan()
            found = {info.id: info for _, info in self._where.values()}
        if self.live is not None:
            for info in self.live.all():
                found.setdefault(info.id, info)
        return [found[h] for h in sorted(found)]

    def info(self, household: str) -> HouseholdInfo:
        return self._locate(household)[1]

    def dataset_path(self, household: str) -> Path | None:
        """The dataset directory; ``None`` for a live household."""
        return self._locate(household)[0]

    def stored_fingerprint(self, household: str) -> str | None:
        """The content fingerprint its dataset's metadata records (what cached statistics are
        keyed by), read without its tables; ``None`` for a live household or if not recorded.

        A dataset rewritten in place (a new ``households.json``) is noticed here: its fingerprint
        is read again and the tables kept of it are let go, so statistics and replays follow."""
        path = self._locate(household)[0]
        if path is None:
            return None
        try:
            stamp = (path / META_FILE).stat().st_mtime_ns
        except OSError:
            return None
        with self._lock:
            known = self._meta_stamps.get(path)
        if known != stamp:
            try:
                infos, fingerprint = read_meta(path)
            except (DatasetError, OSError, ValueError, KeyError):
                return None
            with self._lock:
                self._meta_stamps[path] = stamp
                self._fingerprints[path] = fingerprint
                if known is not None:  # rewritten since read: forget what was read of it
                    self._datasets.pop(path, None)
                    for hid in infos:
                        self._replayable.pop(hid, None)
        return self._fingerprints.get(path)

    def dataset(self, household: str) -> Dataset:
        """The household's dataset; a live household's stored history (may raise
        ``NotEnoughHistory``)."""
        path, _ = self._locate(household)
        if path is None:
            assert self.live is not None
            return self.live.history(household)
        return self.dataset_at(path)

    def dataset_at(self, path: str | Path) -> Dataset:
        """The clean tables of the dataset in directory ``path`` (what statistics need), read
        once and kept; the faulty table is only read for replays (:meth:`replayable`)."""
        path = Path(path)
        with self._lock:
            found = self._datasets.get(path)
        if found is None:
            found = read_dataset(path, faulty=False)
            _release_freed_memory()
            with self._lock:
                found = self._datasets.setdefault(path, found)
        return found

    def release_tables(self) -> None:
        """Forget the clean tables read so far (read again when needed)."""
        with self._lock:
            had = bool(self._datasets)
            self._datasets.clear()
        if had:
            _release_freed_memory()

    def data_span(self, household: str) -> tuple[int, int, int]:
        """``(start_s, span_s, rows)`` of a dataset household's table, from the parquet file's
        metadata when its tables are not in memory (describing a household must not load them:
        the description is an open route)."""
        found = self._replayable.get(household)
        if found is None:
            path = self.dataset_path(household)
            span = None if path is None else _parquet_span(path / CLEAN_FILE)
            if span is not None:
                resolution_s = max(int(self.info(household).resolution_s), 1)
                start_s, rows = span
                return start_s, rows * resolution_s, rows
            found = self.replayable(household)
        return found.start_s, found.span_s, len(found.values)

    def replayed_history(self, household: str) -> ReplayedHistory:
        """What a replay of ``household`` publishes, by wall-clock time (its ``…/readings``
        while the demo replays it): over :meth:`replayable`'s table, kept with it."""
        with self._lock:
            found = self._replayed.get(household)
        if found is None or found.table is not self._replayable.get(household):
            from server.households.replayed import ReplayedHistory

            found = ReplayedHistory(self.replayable(household))
            with self._lock:
                self._replayed[household] = found
        return found

    def replayable(self, household: str) -> Replayable:
        """The table replays play: the faulty one (realistic meters) when the dataset has it."""
        found = self._replayable.get(household)
        if found is not None:
            return found
        if self.is_live(household):
            raise InvalidParameter(
                f"household {household!r} is live: it has no dataset to replay (omit start_index)"
            )
        path = self.dataset_path(household)
        assert path is not None
        dataset = read_dataset(path)  # with its faulty table; only the arrays below are kept
        info = dataset.household(household)
        frame = dataset.frame(household, faulty=dataset.faulty is not None)
        index = frame.index
        start_s = int(index[0].timestamp()) if len(index) else 0
        values = frame.to_numpy(dtype="float64", na_value=np.nan)
        replay = Replayable(info, start_s, max(int(info.resolution_s), 1), values)
        del dataset, frame, index  # both full tables: only ``values`` is kept
        _release_freed_memory()
        self._replayable[household] = replay
        return replay
