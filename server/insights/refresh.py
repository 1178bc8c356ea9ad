"""Seed 000's trigger ``energy_data_received``: insights refreshed as data arrives (at most hourly
per household) and daily, and open streams told so.

::

    live household's windows (hub.follow at INSIGHTS_INTERVAL_S) ──► DataArrival ──► policy.mark
    leader only (LeasedFollowers, one lease per deployment):
        every INSIGHTS_SYNC_S: the most overdue household whose refresh is due
            ──► InsightsService.refresh ──► insights_state.version + 1 (when something changed)
    every worker: Announcer reads the versions every INSIGHTS_ANNOUNCE_S ──► its v1 SSE channels
        of that household get ``event: insights`` (no id)

A household is due (:class:`RefreshPolicy`) when data arrived since its last refresh and that was
at least ``min_s`` (an hour) ago, or when its last refresh is ``daily_s`` (a day) old, or when it
was never refreshed. Dataset households (the demo's replay plays its days again; no new history)
are refreshed daily only. Refresh times live in the database, so a restart or a new leader
continues the schedule.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from server.leases import Lease, LeasedFollowers, Periodic
from server.streaming.classified import ClassifiedWindow
from server.streaming.sse import Event

__all__ = ["Announcer", "DataArrival", "RefreshJob", "RefreshPolicy", "insights_event"]

log = logging.getLogger(__name__)


class RefreshPolicy:
    """When each household's insights are due for a refresh (see the module doc)."""

    def __init__(self, *, min_s: float = 3600.0, daily_s: float = 86_400.0) -> None:
        self.min_s = float(min_s)
        self.daily_s = float(daily_s)
        self.stale: dict[str, float] = {}  # household → first data arrival since its refresh
        self.last: dict[str, float] = {}  # household → last refresh [epoch s]
        self._lock = threading.Lock()

    def forget(self, household: str | None) -> None:
        """A household was removed: forget when it was refreshed (``None``: all)."""
        with self._lock:
            if household is None:
                self.stale.clear()
                self.last.clear()
            else:
                self.stale.pop(household, None)
                self.last.pop(household, None)

    def mark(self, household: str, now_s: float) -> None:
        """Data arrived for ``household``."""
        with self._lock:
            self.stale.setdefault(household, now_s)

    def due(self, household: str, now_s: float) -> str | None:
        """Why ``household`` is due now (``"data"``, ``"daily"``), or ``None``."""
        with self._lock:
            last = self.last.get(household)
            if last is None:
                return "daily"
            if household in self.stale and now_s - last >= self.min_s:
                return "data"
            if now_s - last >= self.daily_s:
                return "daily"
        return None

    def next_due(self, households: Iterable[str], now_s: float) -> tuple[str, str] | None:
        """The most overdue household that is due, and why."""
        best: tuple[float, str, str] | None = None
        for household in households:
            reason = self.due(household, now_s)
            if reason is None:
                continue
            since = self.last.get(household, float("-inf"))
            if best is None or since < best[0]:
                best = (since, household, reason)
        return None if best is None else (best[1], best[2])

    def done(self, household: str, started_s: float) -> None:
        """A refresh that read the data as of ``started_s`` finished."""
        with self._lock:
            self.last[household] = started_s
            if self.stale.get(household, float("inf")) <= started_s:
                self.stale.pop(household, None)


class DataArrival:
    """The listener of a live household's windows: a window with readings marks it stale."""

    def __init__(self, policy: RefreshPolicy, household: str, clock: Callable[[], float]) -> None:
        self.policy = policy
        self.household = household
        self.clock = clock
        self.windows = 0

    def on_window(self, window: ClassifiedWindow) -> None:
        if window.empty or all(v is None for v in window.power_kw.values()):
            return
        self.windows += 1
        self.policy.mark(self.household, self.clock())


class RefreshJob:
    """The leader-only refresher: a :class:`LeasedFollowers` whose followings mark households
    stale and whose periodic ``on_sync`` refreshes one due household per sync."""

    def __init__(
        self,
        service: Any,
        hub: Any,
        lease: Lease,
        policy: RefreshPolicy,
        *,
        live: Callable[[], set[str]],
        every: Callable[[], list[str]],
        interval_s: int = 60,
        sync_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.policy = policy
        self.every = every
        self.clock = clock
        self.refreshes: list[tuple[str, str, float]] = []  # (household, reason, at): for tests
        self._seeded = False
        self.followers = LeasedFollowers(
            "insights",
            lease,
            hub,
            interval_s,
            listener_for=lambda h: DataArrival(policy, h, clock),
            wanted=live,
            sync_s=sync_s,
            on_sync=self.on_sync,
        )

    def start(self) -> None:
        self.followers.start()

    def forget(self, household: str | None) -> None:
        self.followers.forget(household)
        self.policy.forget(household)

    def stop(self) -> None:
        self.followers.stop()

    def on_sync(self, leader: bool, _wanted: set[str]) -> None:
        if leader:
            self.tick()

    def tick(self) -> str | None:
        """Refresh the most overdue household that is due; which one (``None``: none due)."""
        if not self._seeded:  # a restart or a new leader continues the schedule
            for household, at in self.service.state.refreshed().items():
                self.policy.last.setdefault(household, at)
            self._seeded = True
        now_s = self.clock()
        found = self.policy.next_due(self.every(), now_s)
        if found is None:
            return None
        household, reason = found
        try:
            self.service.refresh(household, reason)
        except Exception as err:  # e.g. a household whose data cannot be read: next period
            log.warning("insights refresh of %s failed: %s", household, err)
        self.policy.done(household, now_s)
        self.refreshes.append((household, reason, now_s))
        return household


def insights_event(household: str, version: int, reason: str | None = None) -> bytes:
    """The control event (no id) that tells a stream new insights are available."""
    body: dict[str, Any] = {
        "household": household,
        "version": version,
        "forecast": f"/api/v1/households/{household}/forecast",
        "recommendations": f"/api/v1/households/{household}/recommendations",
    }
    if reason:
        body["reason"] = reason
    return Event(data=json.dumps(body, separators=(",", ":")), event="insights").encode()


class Announcer:
    """Every worker: reads the insights versions and announces new ones on its own v1 streams
    (and marks its cached copy of that household for a reload)."""

    def __init__(self, service: Any, hub: Any, *, every_s: float = 5.0) -> None:
        self.service = service
        self.hub = hub
        self.every_s = float(every_s)
        self.seen: dict[str, int] | None = None
        self.announced = 0
        self.job = Periodic("insights-announcer", self.poll, self.every_s)

    def start(self) -> None:
        self.job.start()

    def forget(self, household: str | None) -> None:
        """A household was removed: a household made again with its id announces afresh."""
        if self.seen is not None:
            if household is None:
                self.seen = None  # the next look is a first look again
            else:
                self.seen.pop(household, None)

    def stop(self) -> None:
        self.job.stop()

    def poll(self) -> int:
        """Announce every version newer than the last seen; how many households."""
        rows = self.service.state.rows()
        if self.seen is None:  # the first look: what exists already is not news
            self.seen = {h: v for h, (v, _) in rows.items()}
            return 0
        fresh = [(h, v, r) for h, (v, r) in rows.items() if v > self.seen.get(h, 0)]
        for household, version, reason in fresh:
            self.seen[household] = version
            self.service.invalidate(household, version)
            item = (None, insights_event(household, version, reason))
            for channel in self.hub.channels_of(household):
                if channel.fmt == "v1":
                    channel.ping(item)
            self.announced += 1
        return len(fresh)
