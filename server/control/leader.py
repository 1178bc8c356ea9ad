"""The control leader: one per deployment (a lease, :class:`server.leases.LeasedFollowers`).

Every ``CONTROL_SYNC_S`` (and at once when a command is created in this worker) its control
thread renews the lease ``gridlight:control:leader`` and, while held, runs its periodic tasks in
order: the command sweep (send, resend with backoff, expire), Home Assistant's discovery
payloads, the schedules' executor and re-planning. It follows the households' windows at
``CONTROL_INTERVAL_S`` with one listener per household, which hands each window to its parts
(Home Assistant states, automations). Stopping releases the lease, so another worker or host
takes over at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from server.leases import Lease, LeasedFollowers
from server.streaming.classified import ClassifiedWindow

__all__ = ["ControlLeader", "HouseholdListener"]

log = logging.getLogger(__name__)

WindowPart = Callable[[ClassifiedWindow], None]


class HouseholdListener:
    """One household's windows, handed to every part (each alone: one failing skips only itself)."""

    def __init__(self, household: str, parts: list[WindowPart]) -> None:
        self.household = household
        self.parts = parts
        self.windows_seen = 0

    def on_window(self, window: ClassifiedWindow) -> None:
        self.windows_seen += 1
        for part in self.parts:
            try:
                part(window)
            except Exception:
                log.exception("control listener of %s failed", self.household)


class ControlLeader:
    def __init__(
        self,
        lease: Lease,
        hub: Any,
        *,
        interval_s: int,
        sync_s: float,
        wanted: Callable[[], set[str]],
        clock: Callable[[], float] = time.time,
        follow_options: dict[str, Any] | None = None,
    ) -> None:
        self.clock = clock
        self.tasks: list[tuple[str, Callable[[float], None]]] = []
        self.window_parts: list[Callable[[str], WindowPart]] = []
        self._wake = threading.Event()
        self.followers = LeasedFollowers(
            "control",
            lease,
            hub,
            interval_s,
            listener_for=self._listener,
            wanted=wanted,
            sync_s=sync_s,
            on_sync=self._on_sync,
            follow_options=follow_options,
        )
        # the control thread waits on our event, so that a new command is sent at once
        self.followers.control = threading.Thread(target=self._loop, name="control", daemon=True)

    @property
    def leader(self) -> bool:
        return self.followers.leader

    def add_task(self, name: str, task: Callable[[float], None]) -> None:
        self.tasks.append((name, task))

    def nudge(self) -> None:
        self._wake.set()

    def _listener(self, household: str) -> HouseholdListener:
        return HouseholdListener(household, [make(household) for make in self.window_parts])

    def _loop(self) -> None:
        stopped = self.followers.stopped
        while not stopped.is_set():
            self._wake.clear()
            try:
                self.followers.sync()
            except Exception:
                log.exception("control sync failed; retrying")
            self._wake.wait(self.followers.sync_s)

    def sync(self) -> None:
        """One round (tests call it with an injected clock instead of waiting for the thread)."""
        self.followers.sync()

    def _on_sync(self, leader: bool, households: set[str]) -> None:
        if not leader:
            return
        now_s = self.clock()
        for name, task in self.tasks:
            try:
                task(now_s)
            except Exception:
                log.exception("control task %s failed", name)

    def start(self) -> None:
        self.followers.start()

    def stop(self) -> None:
        self.followers.stopped.set()
        self._wake.set()
        self.followers.stop()
