"""Delivering a logged alert on every channel its household enabled, each on its own.

Every (channel, target) delivery is a task of a bounded thread pool, so a channel that hangs
(up to its timeout) or fails never holds up the others. Each attempt is recorded in the log
(:meth:`AlertLog.record`): channel, masked target, attempt number, ``sent`` / ``failed`` /
``skipped`` and the error. A retryable failure is tried again after ``backoff_s``, doubling, up to
the channel's ``max_attempts``. An alert inside quiet hours, or a channel the household enabled but
this server has no configuration for, gets one ``skipped`` row that says why.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from server.alerts.channels import Channel, DeliveryError, Notice, PushChannel, Target, mask
from server.alerts.rules import Alert
from server.alerts.settings import CHANNELS
from server.alerts.store import AlertLog, Attempt

__all__ = ["Dispatcher", "notice_of"]

log = logging.getLogger(__name__)


def notice_of(alert_id: int, alert: Alert, name: str) -> Notice:
    title = {
        "spike": "Energy spike",
        "level": f"Energy use {alert.level}",
        "offline": "Meter offline",
        "digest": "Alerts held during quiet hours",
    }[alert.rule]
    if alert.kind == "recovery":
        title = f"Resolved: {title.lower()}"
    return Notice(
        alert_id=alert_id,
        household=alert.household,
        name=name,
        rule=alert.rule,
        kind=alert.kind,
        level=alert.level,
        ts_s=alert.ts_s,
        title=f"{name}: {title}",
        message=alert.message,
        values=alert.values,
    )


class Dispatcher:
    def __init__(
        self,
        log_: AlertLog,
        channels: Mapping[str, Channel | None],
        *,
        workers: int = 8,
        timeout_s: float = 10.0,
        backoff_s: float = 0.5,
        clock: Callable[[], float] = time.time,
        on_attempt: Callable[[str, Attempt], None] = lambda household, attempt: None,
    ) -> None:
        self.log = log_
        self.channels = dict(channels)
        self.timeout_s = timeout_s
        self.backoff_s = backoff_s
        self.clock = clock
        self.on_attempt = on_attempt
        self.stopped = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alert-delivery")

    def targets(self, household: str, name: str, doc: Mapping[str, Any]) -> list[Target]:
        chan = doc["channels"][name]
        if name == "push":
            channel = self.channels.get("push")
            return channel.targets(household) if isinstance(channel, PushChannel) else []
        if name in ("email", "sms"):
            return [Target(a, mask(a)) for a in chan["to"]]
        url = str(chan["url"])
        host = url.split("//", 1)[-1].split("/", 1)[0]
        return [Target(url, host, str(chan.get("secret") or ""))]

    def dispatch(self, notice: Notice, doc: Mapping[str, Any], quiet: bool) -> list[Future]:
        """Start the deliveries of ``notice`` per the settings ``doc``; their futures."""
        futures: list[Future] = []
        for name in CHANNELS:
            if not doc["channels"][name]["enabled"]:
                continue
            channel = self.channels.get(name)
            if quiet or channel is None:
                why = "quiet hours" if quiet else f"{name} is not configured on this server"
                self._record(notice, Attempt(name, "-", 0, "skipped", why, self.clock()))
                continue
            targets = self.targets(notice.household, name, doc)
            if not targets and name == "push":
                self._record(notice, Attempt(name, "-", 0, "skipped", "no devices", self.clock()))
            for target in targets:
                futures.append(self.pool.submit(self._deliver, channel, notice, target))
        return futures

    def _record(self, notice: Notice, attempt: Attempt) -> None:
        self.log.record(notice.alert_id, attempt)
        self.on_attempt(notice.household, attempt)

    def _deliver(self, channel: Channel, notice: Notice, target: Target) -> bool:
        wait_s = self.backoff_s
        for attempt in range(1, max(channel.max_attempts, 1) + 1):
            started = self.clock()
            try:
                channel.send(notice, target, self.timeout_s)
            except DeliveryError as err:
                self._record(
                    notice,
                    Attempt(channel.name, target.label, attempt, "failed", str(err), started),
                )
                if not err.retry or attempt >= channel.max_attempts or self.stopped.is_set():
                    return False
                self.stopped.wait(wait_s)
                wait_s *= 2
                continue
            except Exception as err:  # a bug in one channel must not silence the others
                log.exception("alert delivery on %s failed", channel.name)
                self._record(
                    notice,
                    Attempt(
                        channel.name, target.label, attempt, "failed", repr(err)[:200], started
                    ),
                )
                return False
            self._record(
                notice, Attempt(channel.name, target.label, attempt, "sent", None, started)
            )
            return True
        return False

    def stop(self) -> None:
        self.stopped.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                close()
