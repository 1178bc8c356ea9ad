"""Streams of a household that has no statistics yet: values at once, lights once it has them.

A live household just registered has readings but no statistics until enough history is stored
(``LIVE_STATS_MIN_S``). Its SSE streams do not wait for them: each window is sent with its
values, ``level`` ``null`` and ``"learning": true``. The statistics an SSE channel classifies with
live in one :class:`StatsRef` per (household, interval) and worker; while it is empty, one
following (:meth:`Hub.follow <server.streaming.hub.Hub.follow>`, which asks for statistics again
every ``FOLLOW_STATS_RETRY_S``) waits for them. When they exist the ref is filled, every SSE
channel of that household and interval announces it with a control event (no id)::

    event: stats
    data: {"household":"L1","interval_s":5,"learning":false}

and the following ends. Windows from then on carry their levels.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from server.stats import HouseholdStats
from server.streaming.classified import ClassifiedWindow
from server.streaming.follow import FORMAT as LISTENER_FORMAT
from server.streaming.sse import Event

if TYPE_CHECKING:
    from server.streaming.hub import Hub

__all__ = ["Learning", "StatsRef", "stats_event"]

log = logging.getLogger(__name__)


class StatsRef:
    """The statistics a channel classifies with; ``None`` while the household is learning."""

    __slots__ = ("stats",)

    def __init__(self, stats: HouseholdStats | None = None) -> None:
        self.stats = stats


def stats_event(household: str, interval_s: int) -> bytes:
    """The control event (no id) that tells a stream its levels start now."""
    body = {"household": household, "interval_s": interval_s, "learning": False}
    return Event(data=json.dumps(body, separators=(",", ":")), event="stats").encode()


class _Waiter:
    """The listener that waits for statistics (its windows are the SSE channels' business)."""

    def __init__(self, learning: Learning, household: str, interval_s: int) -> None:
        self.learning = learning
        self.household = household
        self.interval_s = interval_s
        self.following: Any = None
        self.done = False

    def on_window(self, window: ClassifiedWindow) -> None:
        pass

    def on_stats(self, stats: HouseholdStats) -> None:
        self.learning.learned(self.household, self.interval_s, stats)


class Learning:
    """One worker's :class:`StatsRef` per (household, interval) and the followings that wait."""

    def __init__(self, hub: Hub, *, retry_s: float = 30.0) -> None:
        self.hub = hub
        self.retry_s = retry_s
        self._lock = threading.Lock()
        self._refs: dict[tuple[str, int], StatsRef] = {}
        self._waiters: dict[tuple[str, int], _Waiter] = {}

    def ref(self, household: str, interval_s: int, stats: HouseholdStats | None) -> StatsRef:
        """The ref of ``(household, interval_s)``; ``stats`` as just looked up (``None``: none
        yet, and a following starts waiting for them unless one already does)."""
        key = (household, interval_s)
        waiter: _Waiter | None = None
        with self._lock:
            ref = self._refs.setdefault(key, StatsRef())
            if stats is None and ref.stats is None and key not in self._waiters:
                waiter = self._waiters[key] = _Waiter(self, household, interval_s)
        if stats is not None:
            if ref.stats is None:
                self.learned(household, interval_s, stats)
            else:
                ref.stats = stats  # refreshed statistics (a channel opened afresh)
        elif waiter is not None:
            try:
                waiter.following = self.hub.follow(
                    household, interval_s, waiter, retry_s=self.retry_s
                )
            except Exception:
                with self._lock:
                    self._waiters.pop(key, None)
                raise
            if waiter.done:  # learned before the following was handed back
                waiter.following.stop()
        return ref

    def learned(self, household: str, interval_s: int, stats: HouseholdStats) -> None:
        """Statistics exist now: fill the ref, announce it on the SSE channels, stop waiting."""
        key = (household, interval_s)
        with self._lock:
            ref = self._refs.setdefault(key, StatsRef())
            fresh = ref.stats is None
            ref.stats = stats
            waiter = self._waiters.pop(key, None)
        if waiter is not None:
            waiter.done = True
            if waiter.following is not None:
                waiter.following.stop()
        if not fresh:
            return
        log.info("%s has statistics at %d s: its streams are classified from now", *key)
        item = (None, stats_event(household, interval_s))
        for channel in self.hub.channels_of(household):
            if channel.interval_s == interval_s and channel.fmt != LISTENER_FORMAT:
                channel.ping(item)

    def forget(self, household: str | None) -> None:
        """A household was removed: drop its statistics refs and stop waiting for them
        (``None``: every household's)."""
        with self._lock:
            keys = [k for k in {*self._refs, *self._waiters} if household in (None, k[0])]
            waiters = [w for k in keys if (w := self._waiters.pop(k, None)) is not None]
            for key in keys:
                self._refs.pop(key, None)
        for waiter in waiters:
            waiter.done = True
            if waiter.following is not None:
                waiter.following.stop()

    def stop(self) -> None:
        with self._lock:
            waiters = list(self._waiters.values())
            self._waiters.clear()
        for waiter in waiters:
            if waiter.following is not None:
                waiter.following.stop()
