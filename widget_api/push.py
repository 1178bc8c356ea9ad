"""Pushing widget states to devices when a household's light changes.

::

    hub.follow(household, PUSH_INTERVAL_S) ──► PushListener (one per household with
        devices): PushPolicy decides ──► bounded queue ──► Sender (one thread): FcmClient ──► FCM
                                                                 │ 404 / invalid token
                                                                 ▼
                                                       DeviceStore.prune(token)

* A :class:`PushListener` per household follows its windows through the worker's hub
  (``hub.follow``), so a household's windows are averaged and classified once per worker
  whatever reads them; each closed window with readings becomes a widget state
  (:func:`widget_api.state.classified_state`) and its worst level goes to the listener's
  :class:`~widget_api.policy.PushPolicy`. Windows without readings (a silent meter)
  carry no new ``seq`` and are skipped: the app would ignore them, and it greys a stale state by
  its own clock.
* A push is a data-only state message to every device of the household (normal priority, or high
  for red/critical) and, for red/critical, a separate visible notification.
* One sender per deployment: listeners and the sender run only in the worker that holds the
  lease (:class:`server.leases.LeasedFollowers`; with ``REDIS_URL`` a Redis lease, else this
  worker). Its control thread renews it every ``PUSH_SYNC_S`` and starts or stops followings as
  devices come and go.
* Counts in ``/metrics``: ``gridlight_push_{sent,failed,pruned,dropped}_total``.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any

from server.leases import Lease, LeasedFollowers
from server.metrics import Metrics, register_counter
from server.push.devices import DeviceStore, token_ref
from server.push.fcm import FcmClient, Outcome, Result, alert, state_push
from server.streaming.classified import ClassifiedWindow
from widget_api.policy import URGENT, PushPolicy
from widget_api.state import classified_state, encode

__all__ = ["COUNTERS", "PushJob", "PushListener", "Pusher", "Sender"]

log = logging.getLogger(__name__)
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


class PushListener:
    """One household's push policy, fed its classified windows by the hub (:meth:`Hub.follow`)."""

    def __init__(self, pusher: Pusher, household: str) -> None:
        self.pusher = pusher
        self.household = household
        self.info = pusher.gridlight.households.info(household)
        self.policy = PushPolicy(pusher.hold_windows)
        self.windows_seen = 0

    def on_window(self, window: ClassifiedWindow) -> None:
        if window.empty or window.level is None:
            return  # no readings (see the module doc), or no lights yet: nothing to tell
        state = classified_state(self.info, window, False)
        self.windows_seen += 1
        decision = self.policy.observe(state["worst"])
        if decision is not None:
            self.pusher.submit(
                PushJob(self.household, state, encode(state).decode(), urgent=decision == URGENT)
            )


class Pusher:
    """Listeners of the households with devices, and the sender, while this worker holds the
    lease (:class:`server.leases.LeasedFollowers`). Created by :class:`widget_api.WidgetApi`
    when push is configured."""

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
        self.interval_s = interval_s
        self.hold_windows = hold_windows
        self.job = LeasedFollowers(
            "push",
            lease,
            gridlight.hub,
            interval_s,
            listener_for=lambda household: PushListener(self, household),
            wanted=self._wanted,
            sync_s=sync_s,
            follow_options={"queue_len": queue_len},
        )

    @property
    def leader(self) -> bool:
        return self.job.leader

    @property
    def watchers(self) -> dict[str, Any]:
        """The households followed (their followings), while this worker is the sender."""
        return dict(self.job.followings)

    def submit(self, job: PushJob) -> bool:
        return self.sender.submit(job)

    def start(self) -> None:
        self.sender.thread.start()
        self.job.start()

    def sync(self) -> None:
        """Renew the lease; follow the households with devices while holding it."""
        self.job.sync()

    def _wanted(self) -> set[str]:
        wanted: set[str] = set()
        for household in self.devices.households():
            try:
                self.gridlight.households.info(household)
            except Exception:  # a household whose dataset went away: nothing to watch
                continue
            wanted.add(household)
        return wanted

    def stop(self) -> None:
        self.job.stop()  # releases the lease
        self.sender.stop()
        if self.sender.thread.is_alive():
            self.sender.thread.join(timeout=5)
