"""The live estimator: one per deployment, estimating every attached appliance as readings arrive.

::

    nilm_models (database) ──► EstimateEngine.sync (every NILM_SYNC_S, on the lease
        gridlight:nilm:estimator) ──► hub.follow(household, window, HouseholdEstimates)
    closed window of Overall ──► model window complete? ──► Disaggregator.predict_tail (native
        thread) ──► Ingestor.write(Reading(household, appliance, next window's start, kW))
        ──► stored, and published into the household's stream like a meter's reading

Models reach the estimating worker through the database: the control thread reads the attached
models' headers at every sync and loads a model (its bytes) when it is new or replaced, so a model
attached while the server runs is estimated within ``NILM_SYNC_S`` and a detached one stops. One
worker of the deployment estimates (the leased-follower mechanism of :mod:`server.leases`, as
the alert evaluator): in Redis with ``REDIS_URL``, else in the database.

Each household is followed at the greatest common divisor of its models' resolutions; a model's
window closes with the last follow window inside it and is the mean of the non-empty ones (the
same value the stream gives at the model's resolution). The last ``context_samples`` model windows
are kept; missing ones (at the start, after a restart or takeover) are read back from the stored
readings. An estimate is written at the first second of the window after the one it estimates,
when it is known: stream clients see it in the window after (one model window late), and
averages over windows at least as long as the model's include it. Until the stored history covers
the model's context the appliance's state is ``waiting_for_history`` (with ``have_samples`` and
``need_samples``; ``starting`` before its first window) and nothing is written; a window without Overall readings gets no estimate
(unavailable, never zero).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from server.estimates.attach import load_model
from server.leases import LeasedFollowers
from server.nilm import Disaggregator
from server.stats.windows import epoch_seconds
from server.storage import Reading
from server.storage.estimators import AttachedModel, EstimatorStore
from server.streaming.classified import ClassifiedWindow

__all__ = ["EstimateEngine", "HouseholdEstimates"]

log = logging.getLogger(__name__)
OVERALL = "Overall"
#: A waiting state is written again at most this often (its sample count grows every window). [s]
STATE_EVERY_S = 30.0


@dataclass
class _Model:
    attached: AttachedModel
    model: Disaggregator
    state: dict[str, Any]
    state_written_s: float = -math.inf


class _Windows:
    """Model windows at ``resolution_s``: Overall means by window start, the newest kept."""

    def __init__(self, resolution_s: int, keep: int) -> None:
        self.resolution_s = resolution_s
        self.keep = keep
        self.means: dict[int, float] = {}
        self._open: int | None = None
        self._sum = 0.0
        self._count = 0

    def add(self, start_s: int, interval_s: int, value: float | None) -> int | None:
        """Feed a follow window; the start of the model window it completes, if any."""
        r = self.resolution_s
        window = start_s - start_s % r
        if self._open != window:
            self._open, self._sum, self._count = window, 0.0, 0
        if value is not None:
            self._sum += value
            self._count += 1
        if start_s + interval_s < window + r:
            return None
        self.means[window] = self._sum / self._count if self._count else math.nan
        self._open = None
        for old in [k for k in self.means if k <= window - self.keep * r]:
            del self.means[old]
        return window

    def tail(self, end_s: int, samples: int) -> tuple[np.ndarray, list[int]]:
        """Means of the ``samples`` windows ending with ``end_s`` (NaN where unknown) and the
        starts of those not known at all."""
        r = self.resolution_s
        starts = range(end_s - (samples - 1) * r, end_s + r, r)
        missing = [s for s in starts if s not in self.means]
        return np.array([self.means.get(s, math.nan) for s in starts]), missing


class HouseholdEstimates:
    """The estimates of one household's attached models, fed its windows by the hub."""

    def __init__(self, engine: EstimateEngine, household: str) -> None:
        self.engine = engine
        self.household = household
        self.models: dict[str, _Model] = {}
        self.windows: dict[int, _Windows] = {}
        self._lock = threading.Lock()

    # -- configuration (the control thread) ------------------------------------------------------
    def configure(self, attached: list[AttachedModel]) -> None:
        """Load models new or replaced since the last call; forget detached ones."""
        wanted = {m.appliance: m for m in attached}
        loaded: dict[str, _Model] = {}
        for appliance, row in wanted.items():
            known = self.models.get(appliance)
            if known is not None and known.attached.attached_s == row.attached_s:
                continue
            data = self.engine.store.model(self.household, appliance, row.attached_s)
            if data is None:  # replaced or detached meanwhile: the next sync sees it
                continue
            try:
                rated_w = row.header.get("rated_w")
                model = self.engine.run(
                    lambda data=data, rated_w=rated_w: load_model(data).rated(rated_w)
                )
            except Exception as err:
                log.warning("model of %s/%s unusable: %s", self.household, appliance, err)
                self.engine.store.set_state(
                    self.household,
                    appliance,
                    row.attached_s,
                    {"state": "failed", "reason": str(err)},
                )
                continue
            loaded[appliance] = _Model(row, model, {})
        with self._lock:
            for appliance in [a for a in self.models if a not in wanted]:
                del self.models[appliance]
            self.models.update(loaded)
            keep: dict[int, int] = {}
            for m in self.models.values():
                r = m.model.resolution_s
                keep[r] = max(keep.get(r, 0), m.model.context_samples + 2)
            for r in [r for r in self.windows if r not in keep]:
                del self.windows[r]
            for r, n in keep.items():
                self.windows.setdefault(r, _Windows(r, n)).keep = n
        for m in loaded.values():  # until its first model window closes
            self._set_state(m, {"state": "starting", "need_samples": m.model.context_samples})

    # -- windows (the following's thread) --------------------------------------------------------
    def on_window(self, window: ClassifiedWindow) -> None:
        value = window.power_kw.get(OVERALL)
        with self._lock:
            models = list(self.models.values())
            done = [
                (w, w.add(window.start_s, window.interval_s, value)) for w in self.windows.values()
            ]
        for windows, start_s in done:
            if start_s is None:
                continue
            for m in models:
                if m.model.resolution_s == windows.resolution_s:
                    try:
                        self._estimate(m, windows, start_s)
                    except Exception:  # one model's failure must not stop the others
                        log.exception(
                            "estimate of %s/%s failed", self.household, m.attached.appliance
                        )

    def _estimate(self, m: _Model, windows: _Windows, start_s: int) -> None:
        model = m.model
        need = model.context_samples
        values, missing = windows.tail(start_s, need)
        if missing:
            self._read_back(windows, missing[0], missing[-1] + windows.resolution_s)
            values, _ = windows.tail(start_s, need)
        known = np.flatnonzero(np.isfinite(values))
        have = 0 if known.size == 0 else need - int(known[0])
        if have < need:
            self._set_state(
                m, {"state": "waiting_for_history", "have_samples": have, "need_samples": need}
            )
            return
        if not math.isfinite(values[-1]):  # no Overall reading in the window: unavailable
            return
        engine = self.engine
        tz = engine.timezone_of(self.household)
        ts = pd.Timestamp(start_s, unit="s", tz="UTC")
        est = engine.run(lambda: model.predict_tail(values, ts, tz))
        if not math.isfinite(est.power_kw):
            return
        at_s = start_s + model.resolution_s
        engine.write([Reading(self.household, model.appliance, at_s, round(est.power_kw, 6))])
        self._set_state(
            m,
            {
                "state": "estimating",
                "need_samples": need,
                "last_estimate_of": est.ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )

    def _read_back(self, windows: _Windows, start_s: int, end_s: int) -> None:
        """Model windows in ``[start_s, end_s)`` from the stored readings (NaN where none)."""
        r = windows.resolution_s
        frame = self.engine.run(
            lambda: self.engine.readings.query(self.household, start_s, end_s, "raw")
        )
        found: dict[int, float] = {}
        if OVERALL in frame:
            overall = frame[OVERALL].dropna()
            if len(overall):
                seconds = epoch_seconds(overall.index)
                means = overall.groupby(seconds - seconds % r).mean()
                found = {int(k): round(float(v), 6) for k, v in means.items()}
        for s in range(start_s, end_s, r):
            windows.means.setdefault(s, found.get(s, math.nan))

    def _set_state(self, m: _Model, state: dict[str, Any]) -> None:
        """Record ``state`` when it changes: at once for a new state, else at most every
        :data:`STATE_EVERY_S` (a waiting count grows every window)."""
        now = time.monotonic()
        changed = state.get("state") != m.state.get("state")
        if state == m.state or not (changed or now - m.state_written_s >= STATE_EVERY_S):
            return
        m.state = state
        m.state_written_s = now
        a = m.attached
        self.engine.store.set_state(a.household, a.appliance, a.attached_s, state)


def _no_stats(household: str, interval_s: int) -> None:
    return None


class EstimateEngine:
    """The deployment's one live estimator (see the module doc)."""

    def __init__(
        self,
        gridlight: Any,
        store: EstimatorStore,
        readings: Any,
        write: Callable[[list[Reading]], Any],
        lease: Any,
        *,
        sync_s: float = 5.0,
        queue_len: int = 256,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.gridlight = gridlight
        self.store = store
        self.readings = readings
        self.write = write
        self.clock = clock
        self._attached: dict[str, list[AttachedModel]] = {}
        self.job = LeasedFollowers(
            "nilm",
            lease,
            gridlight.hub,
            60,
            listener_for=lambda household: HouseholdEstimates(self, household),
            wanted=self._wanted,
            sync_s=sync_s,
            on_sync=self._after_sync,
            # windows without levels: the estimates need the Overall means, not statistics
            follow_options={"queue_len": queue_len, "clock": clock, "stats_of": _no_stats},
            interval_of=self._interval_of,
        )

    def listener(self, household: str) -> HouseholdEstimates | None:
        return self.job.listener(household)

    def run(self, work: Callable[[], Any]) -> Any:
        """``work()`` off the request greenlets (the statistics' native threads)."""
        return self.gridlight.stats.runner(work)

    def timezone_of(self, household: str) -> str:
        return str(self.gridlight.households.info(household).timezone)

    def _wanted(self) -> set[str]:
        attached: dict[str, list[AttachedModel]] = {}
        metered: dict[str, tuple[str, ...] | None] = {}
        for m in self.store.list():
            if m.household not in metered:
                live = self.gridlight.keys.get(m.household)
                metered[m.household] = None if live is None else tuple(live.channels)
            channels = metered[m.household]
            # gone, or metering the appliance since: never write over a meter's readings
            if channels is not None and m.appliance not in channels:
                attached.setdefault(m.household, []).append(m)
        self._attached = attached
        return set(attached)

    def _interval_of(self, household: str) -> int:
        return math.gcd(*(m.resolution_s for m in self._attached.get(household, []))) or 60

    def _after_sync(self, leader: bool, wanted: set[str]) -> None:
        for household in sorted(wanted):
            listener = self.job.listener(household)
            if listener is None:
                continue
            try:
                listener.configure(self._attached.get(household, []))
            except Exception:  # one household's models must not stop the others'
                log.exception("estimates of %s could not be configured", household)

    def forget(self, household: str | None) -> None:
        """A household was removed (:mod:`server.households.removal`): stop estimating for it
        now, not at the next sync (``None``: every household; the next sync follows again
        what is still attached)."""
        if household is None:
            self._attached = {}
        else:
            self._attached = {h: m for h, m in self._attached.items() if h != household}
        self.job.forget(household)

    def start(self) -> None:
        self.job.start()

    def sync(self) -> None:
        self.job.sync()

    def stop(self) -> None:
        self.job.stop()
