"""In-process listeners of a household's windows: :meth:`Hub.follow <server.streaming.hub.Hub.follow>`.

::

    hub channel (household, interval_s, "window") ──► Following (one per listener)
        Window ──► classify_window(statistics of the household, or learning) ──► listener

A listener (the alert rules, the widget's push policy, later automations) gets every closed
window of one household at one interval as a :class:`~server.streaming.classified.ClassifiedWindow`,
in order, from the same channel that averages the windows for every other consumer of this
worker: nothing is encoded to bytes and decoded again. A following owns one thread (a greenlet
under gevent) that

* subscribes to the channel, and subscribes again with capped backoff when the channel closes,
  the broker is down or the listener fell behind and was dropped;
* classifies each window with the household's statistics, asked for through ``stats_of``. A
  household without statistics yet (a live one just registered) gets windows with ``level``
  ``None``; its statistics are asked for again every ``retry_s`` and used from the first window
  after they exist, and known statistics are refreshed every ``refresh_s`` (live households'
  history grows). ``listener.on_stats(stats)`` is told each time they change;
* calls ``listener.on_idle(now_s)`` every ``poll_s`` without a window (the offline rule's clock).

Listener methods run on the following's thread; an exception is logged and the next window
delivered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from server.stats import HouseholdStats
from server.streaming.aggregate import Window
from server.streaming.classified import ClassifiedWindow, classify_window

if TYPE_CHECKING:
    from server.streaming.hub import Hub

__all__ = ["FORMAT", "Following", "Listener"]

log = logging.getLogger(__name__)

#: The hub channels' format for in-process listeners: their items carry :class:`Window` values.
FORMAT = "window"
MAX_BACKOFF_S = 30.0


class Listener(Protocol):
    """What :meth:`Hub.follow` delivers to. ``on_idle`` and ``on_stats`` are optional."""

    def on_window(self, window: ClassifiedWindow) -> None: ...


def _identity(window: Window) -> Any:
    return window


class Following:
    """One listener following one household's windows (see the module doc)."""

    def __init__(
        self,
        hub: Hub,
        household: str,
        interval_s: int,
        listener: Listener,
        *,
        channels_of: Callable[[str], tuple[str, ...]],
        stats_of: Callable[[str, int], HouseholdStats],
        queue_len: int = 256,
        poll_s: float = 0.2,
        retry_s: float = 30.0,
        refresh_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s!r}")
        self.hub = hub
        self.household = household
        self.interval_s = interval_s
        self.listener = listener
        self.channels_of = channels_of
        self.stats_of = stats_of
        self.queue_len = queue_len
        self.poll_s = poll_s
        self.retry_s = retry_s
        self.refresh_s = refresh_s
        self.clock = clock
        self.stats: HouseholdStats | None = None
        self.windows_seen = 0
        self.sub: Any = None  # the hub subscription while subscribed (for introspection)
        self.subscribed = threading.Event()
        self.stopped = threading.Event()
        self._stats_due = 0.0  # when statistics are next asked for (monotonic seconds)
        self.thread = threading.Thread(
            target=self._run, name=f"follow-{household}-{interval_s}", daemon=True
        )

    def start(self) -> Following:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()

    def join(self, timeout_s: float = 5.0) -> None:
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=timeout_s)

    # -- statistics ----------------------------------------------------------------------------
    def current_stats(self) -> HouseholdStats | None:
        """The household's statistics, asked for again when due (see the module doc)."""
        now = time.monotonic()
        if now < self._stats_due:
            return self.stats
        try:
            found = self.stats_of(self.household, self.interval_s)
        except Exception as err:  # e.g. a live household without enough history yet
            if self.stats is None:
                log.info(
                    "%s has no statistics at %d s yet: %s", self.household, self.interval_s, err
                )
            self._stats_due = now + self.retry_s
            return self.stats
        self._stats_due = now + self.refresh_s
        if found is not self.stats:
            self.stats = found
            self._call("on_stats", found)
        return self.stats

    # -- the thread ----------------------------------------------------------------------------
    def _call(self, name: str, *args: Any) -> None:
        method = getattr(self.listener, name, None)
        if method is None:
            return
        try:
            method(*args)
        except Exception:  # one bad window must not end the following
            log.exception("listener %s of %s failed", name, self.household)

    def _subscribe(self) -> tuple[Any, Any]:
        channels = self.channels_of(self.household)
        for _ in range(3):  # a channel closed for idleness just now is replaced by a new one
            channel = self.hub.channel(self.household, channels, self.interval_s, FORMAT, _identity)
            sub = channel.subscribe(self.queue_len)
            if sub is not None:
                return channel, sub
        raise RuntimeError(f"the hub kept closing the channel of {self.household}")

    def _run(self) -> None:
        backoff_s = 0.5
        while not self.stopped.is_set():
            try:
                self.current_stats()
                channel, sub = self._subscribe()
            except Exception as err:
                log.warning("cannot follow %s: %s", self.household, err)
                self.stopped.wait(backoff_s)
                backoff_s = min(backoff_s * 2, MAX_BACKOFF_S)
                continue
            backoff_s = 0.5
            self.sub = sub
            self.subscribed.set()
            try:
                self._drain(sub)
            finally:
                channel.unsubscribe(sub)
                self.subscribed.clear()

    def _drain(self, sub: Any) -> None:
        while not self.stopped.is_set() and not sub.dropped:
            item = sub.get(self.poll_s)
            if item is None:
                self._call("on_idle", self.clock())
                continue
            key, window = item
            if key is None:  # the hub's ping, or (no payload) its end
                if window is None:
                    return
                continue
            stats = self.current_stats()
            # the window's own channels: the hub reconfigures them when a model is attached or
            # detached while following
            classified = classify_window(self.household, window, stats)
            self.windows_seen += 1
            self._call("on_window", classified)
