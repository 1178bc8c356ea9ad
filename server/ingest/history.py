"""Live households as the rest of the server sees them: their metadata from the key store, and
their stored history as a :class:`~generator.dataset.Dataset` for quick statistics.

:class:`server.households.catalogue.Households` asks this source for the households no dataset directory
holds, so lists, info, statistics and live streams work the same for both kinds. A live household with
disaggregation models attached (:mod:`server.storage.estimators`) also has their appliances as
channels, listed in ``estimated`` and described (with the estimator's state) in ``estimates``;
an estimated channel with too few stored values yet is left out of its statistics. Statistics of a
live household come from its raw readings within the raw retention (7 days) once at least
``min_history_s`` seconds of them are stored; the history is re-read at most every ``refresh_s``
(each re-read has a new content fingerprint, so the statistics cache computes it afresh).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence

import pandas as pd

from generator.dataset import Dataset, HouseholdInfo, column_name
from server.errors import GridlightError
from server.storage import KeyStore, LiveHousehold, ReadingStore
from server.storage.estimators import AttachedModel, EstimatorStore

__all__ = ["LiveHouseholds", "NotEnoughHistory", "live_info"]


class NotEnoughHistory(GridlightError):
    """A live household has too little stored history for statistics yet (409)."""

    status = 409
    code = "not_enough_history"


def live_info(h: LiveHousehold, models: Sequence[AttachedModel] = ()) -> HouseholdInfo:
    """A live household's description; ``models``: its attached disaggregation models, whose
    appliances (those it does not meter) become estimated channels."""
    estimated = [m for m in models if m.appliance not in h.channels]
    extra: dict[str, object] = {}
    if estimated:
        extra = {
            "estimated": [m.appliance for m in estimated],
            "estimates": {m.appliance: m.describe() for m in estimated},
        }
    return HouseholdInfo(
        id=h.id,
        name=h.name,
        archetype="live",
        timezone=h.timezone,
        channels=(*h.channels, *(m.appliance for m in estimated)),
        resolution_s=1,
        source="live",
        extra=extra,
    )


class LiveHouseholds:
    def __init__(
        self,
        keys: KeyStore,
        store: ReadingStore,
        *,
        min_history_s: int = 3600,
        refresh_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
        estimators: EstimatorStore | None = None,
    ) -> None:
        self.keys = keys
        self.store = store
        self.estimators = estimators
        self.min_history_s = int(min_history_s)
        self.refresh_s = float(refresh_s)
        self.clock = clock
        self._history: dict[str, tuple[float, Dataset]] = {}

    def _models(self, household: str | None = None) -> list[AttachedModel]:
        return [] if self.estimators is None else self.estimators.list(household)

    def info(self, household: str) -> HouseholdInfo | None:
        found = self.keys.get(household)
        return None if found is None else live_info(found, self._models(household))

    def all(self) -> list[HouseholdInfo]:
        models: dict[str, list[AttachedModel]] = {}
        for m in self._models():
            models.setdefault(m.household, []).append(m)
        return [live_info(h, models.get(h.id, [])) for h in self.keys.list()]

    def forget(self, household: str | None) -> None:
        """A household was removed: drop its kept history (``None``: every one's)."""
        if household is None:
            self._history.clear()
        else:
            self._history.pop(household, None)

    def history(self, household: str) -> Dataset:
        """The stored raw readings of the last raw-retention period, as a one-household dataset."""
        now = self.clock()
        cached = self._history.get(household)
        if cached is not None and now - cached[0] < self.refresh_s:
            return cached[1]
        # The read takes seconds for a week of readings and runs off the request greenlets (the
        # statistics runner's native threads), on a pooled connection of its own.
        found = self.keys.get(household)
        if found is None:
            raise NotEnoughHistory(f"household {household!r} is not a live household")
        info = live_info(found, self._models(household))
        end_s = int(now) + 1
        frame = self.store.query(household, end_s - self.store.raw_retention_s, end_s, "raw")
        seconds = len(frame.index)
        if seconds < self.min_history_s:
            raise NotEnoughHistory(
                f"household {household!r} has {seconds} s of stored readings; statistics need "
                f"at least {self.min_history_s} s (keep it reporting and try again)"
            )
        counts = {c: int(frame[c].notna().sum()) if c in frame else 0 for c in info.channels}
        least = min(60, self.min_history_s)  # values a channel needs
        # an estimate attached lately has few values yet: statistics without it until it has
        young = [c for c in info.estimated if counts[c] < least]
        if young:
            kept = tuple(c for c in info.channels if c not in young)
            info = dataclasses.replace(info, channels=kept)
            counts = {c: n for c, n in counts.items() if c in kept}
        quiet = [f"{c} ({n})" for c, n in counts.items() if n < least]
        if quiet:
            raise NotEnoughHistory(
                f"household {household!r} has too few stored values for channels "
                f"{', '.join(quiet)}; statistics need every channel to report"
            )
        table = pd.DataFrame(
            {
                column_name(household, c): frame.get(
                    c, pd.Series(index=frame.index, dtype="float64")
                )
                for c in info.channels
            },
            index=frame.index,
        )
        dataset = Dataset(households={household: info}, table=table)
        dataset.fingerprint  # noqa: B018 - hashed here, in the runner's thread, not on a request
        self._history[household] = (now, dataset)
        return dataset
