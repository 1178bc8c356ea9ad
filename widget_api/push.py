"""Pushing widget states to devices when a household's light changes.

::

    hub channel (household, PUSH_INTERVAL_S, "widget-state") ──► Watcher (one per household with
        devices): PushPolicy decides ──► bounded queue ──► Sender (one thread): FcmClient ──► FCM
                                                                 │ 404 / invalid token
                                                                 ▼
                                                       DeviceStore.prune(token)

* Watchers subscribe to the worker's :class:`server.streaming.hub.Hub` like an SSE client does, so a
  household's windows are averaged once per worker whatever reads them; each closed window with
  readings becomes a widget state (:func:`widget_api.state.state_of`) and its worst level goes to
  the watcher's :class:`~widget_api.policy.PushPolicy`. Windows without readings (a silent meter)
  carry no new ``seq`` and are skipped: the app would ignore them, and it greys a stale state by
  its own clock.
* A push is a data-only state message to every device of the household (normal priority, or high
  for red/critical) and, for red/critical, a separate visible notification.
* One sender per deployment: watchers and the sender run only in the worker that holds the lease
  (:mod:`server.leases`; with ``REDIS_URL`` a Redis lease, else this worker). A control
  thread renews it every ``PUSH_SYNC_S`` and starts or stops watchers as devices come and go.
* Counts in ``/metrics``: ``gridlight_push_{sent,failed,pruned,dropped}_total``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

from server.leases import Lease, control_loop
from server.metrics import Metrics, register_counter
from server.push.devices import DeviceStore, token_ref
from server.push.fcm import FcmClient, Outcome, Result, alert, state_push
from server.streaming.aggregate import EventKey, Window
from server.streaming.hub import Subscriber
from widget_api.policy import URGENT, PushPolicy
from widget_api.state import encode, state_of

__all__ = ["COUNTERS", "FORMAT", "PushJob", "Pusher", "Sender", "Watcher"]

log = logging.getLogger(__name__)
FORMAT = "widget-state"
COUNTERS = {
    "gridlight_push_sent_total": "Push messages FCM accepted (widget states and alerts).",
    "gridlight_push_failed_total": "Push messages FCM did not accept (incl. pruned tokens).",
    "gridlight_push_pruned_total": "Push tokens removed: FCM answered unregistered or invalid.",
    "gridlight_push_dropped_total": "Pushes dropped because the send queue was full.",
}
for _name, _help in COUNTERS.items():
    register_counter(_name, _help)


@dataclass(frozen=True)
class PushJob:
    household: str
    state: dict[str, Any]
    state_json: str
    urgent: bool


class Sender:
    """One thread draining a bounded queue of :class:`PushJob` through one :class:`FcmClient`."""

    def __init__(
        self, client: FcmClient, devices: DeviceStore, metrics: Metrics, queue_len: int = 1000
    ) -> None:
        self.client = client
        self.devices = devices
        self.metrics = metrics
        self.queue: queue.Queue[PushJob | None] = queue.Queue(maxsize=queue_len)
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="push-sender", daemon=True)

    def submit(self, job: PushJob) -> bool:
        try:
            self.queue.put_nowait(job)
            return True
        except queue.Full:
            self.metrics.add("gridlight_push_dropped_total")
            log.warning(
                "push queue full: dropped the %s push of %s", job.state["worst"], job.household
            )
            return False

    def stop(self) -> None:
        self.stopped.set()
        try:
            self.queue.put_nowait(None)
        except queue.Full:
            pass  # the thread sees ``stopped`` within its poll

    def idle(self) -> bool:
        """True when every submitted job has been handled."""
        return self.queue.unfinished_tasks == 0

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                job = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if job is None:  # stop() wakes the thread
                self.queue.task_done()
                continue
            try:
                self.send(job)
            except Exception:  # one bad job must not end the sender
                log.exception("push of %s failed", job.household)
            finally:
                self.queue.task_done()

    def send(self, job: PushJob) -> None:
        state = job.state
        seq = str(state["seq"])
        title = f"{state['name']}: {state['worst']}"
        for token, platform in self.devices.devices(job.household):
            message = state_push(
                token, platform, job.household, seq, job.state_json, high=job.urgent
            )
            if self._record(token, self.client.send(message)):
                continue
            if job.urgent:
                note = alert(token, platform, job.household, title, str(state["message"]))
                self._record(token, self.client.send(note))

    def _record(self, token: str, result: Result) -> bool:
        """Count ``result``; True when the token was pruned."""
        if result.outcome is Outcome.SENT:
            self.metrics.add("gridlight_push_sent_total")
            return False
        self.metrics.add("gridlight_push_failed_total")
        if result.prune:
            removed = self.devices.prune(token)
            self.metrics.add("gridlight_push_pruned_total")
            log.info(
                "pruned push token %s (%d registrations): %s",
                token_ref(token),
                removed,
                result.detail,
            )
            return True
        return False


class Watcher:
    """Follows one household's windows through the hub and feeds its :class:`PushPolicy`."""

    def __init__(self, pusher: Pusher, household: str) -> None:
        self.pusher = pusher
        self.household = household
        self.policy = PushPolicy(pusher.hold_windows)
        self.windows_seen = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"push-watch-{household}", daemon=True
        )

    def on_window(self, key: EventKey, payload: bytes) -> None:
        if key.empty_start_s >= 0:
            return  # no readings in this window: nothing newer to tell (see the module doc)
        state = json.loads(payload)
        self.windows_seen += 1
        decision = self.policy.observe(state["worst"])
        if decision is not None:
            self.pusher.submit(
                PushJob(self.household, state, payload.decode(), urgent=decision == URGENT)
            )

    def _subscribe(self) -> tuple[Any, Subscriber]:
        gl = self.pusher.gridlight
        interval_s = self.pusher.interval_s
        info = gl.households.info(self.household)
        stats = gl.stats.get(self.household, interval_s)

        def encode_window(window: Window) -> bytes:
            return encode(state_of(info, stats, interval_s, window, False, time.time()))

        for _ in range(3):  # a channel closed for idleness just now is replaced by a new one
            channel = gl.hub.channel(
                self.household, tuple(info.channels), interval_s, FORMAT, encode_window
            )
            sub = channel.subscribe(self.pusher.queue_len)
            if sub is not None:
                return channel, sub
        raise RuntimeError(f"the hub kept closing the channel of {self.household}")

    def _run(self) -> None:
        backoff_s = 0.5
        while not self.stopped.is_set():
            try:
                channel, sub = self._subscribe()
            except Exception as err:
                log.warning("cannot watch %s for pushes: %s", self.household, err)
                self.stopped.wait(backoff_s)
                backoff_s = min(backoff_s * 2, 30.0)
                continue
            backoff_s = 0.5
            try:
                while not self.stopped.is_set() and not sub.dropped:
                    try:  # polled, so that stop() ends the watcher at once
                        key, payload = sub.queue.get(timeout=0.1)
                    except queue.Empty:
                        continue
                    if key is None:  # the hub's ping, or (payload None) its end
                        if payload is None:
                            break
                        continue
                    self.on_window(key, payload)
            finally:
                channel.unsubscribe(sub)

    def stop(self) -> None:
        self.stopped.set()


class Pusher:
    """Watchers of the households with devices, and the sender, while this worker holds the
    lease. Created by :class:`widget_api.WidgetApi` when push is configured."""

    def __init__(
        self,
        gridlight: Any,
        devices: DeviceStore,
        sender: Sender,
        lease: Lease,
        *,
        interval_s: int = 60,
        hold_windows: int = 3,
        sync_s: float = 5.0,
        queue_len: int = 256,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"PUSH_INTERVAL_S must be positive, got {interval_s!r}")
        PushPolicy(hold_windows)  # validates
        self.gridlight = gridlight
        self.devices = devices
        self.sender = sender
        self.lease = lease
        self.interval_s = interval_s
        self.hold_windows = hold_windows
        self.sync_s = sync_s
        self.queue_len = queue_len
        self.watchers: dict[str, Watcher] = {}
        self.leader = False
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self.control = threading.Thread(target=self._control, name="push-control", daemon=True)

    def submit(self, job: PushJob) -> bool:
        return self.sender.submit(job)

    def start(self) -> None:
        self.sender.thread.start()
        self.control.start()

    def _control(self) -> None:
        control_loop(self.sync, self.stopped, self.sync_s, "push")

    def sync(self) -> None:
        """Renew the lease; watch the households with devices while holding it."""
        self.leader = self.lease.hold()
        wanted: set[str] = set()
        if self.leader and not self.stopped.is_set():
            for household in self.devices.households():
                try:
                    self.gridlight.households.info(household)
                except Exception:  # a household whose dataset went away: nothing to watch
                    continue
                wanted.add(household)
        with self._lock:
            for household in set(self.watchers) - wanted:
                self.watchers.pop(household).stop()
            for household in wanted - set(self.watchers):
                watcher = Watcher(self, household)
                self.watchers[household] = watcher
                watcher.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        with self._lock:
            watchers = list(self.watchers.values())
            self.watchers.clear()
        for watcher in watchers:
            watcher.stop()
        self.sender.stop()
        for thread in [self.control, self.sender.thread, *(w.thread for w in watchers)]:
            if thread.is_alive():
                thread.join(timeout=5)
        self.lease.release()
