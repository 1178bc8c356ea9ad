"""Push through the deployment's FCM client (:mod:`server.push.fcm`): a visible, high-priority
notification to every registered device of the household.

The client is the services' one (``services.fcm``, shared with the widget's push sender: same
credentials, endpoint, bounded retries); no second FCM client is made. pyfcm keeps its session
and access token per thread, so every alert push runs on this channel's one thread (one more
OAuth token than the widget's sender thread, not one per delivery worker). A token FCM reports
dead is pruned from the devices, as the widget's sender does.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from server.alerts.channels.base import DeliveryError, Notice, Target
from server.push.devices import token_ref
from server.push.fcm import Outcome, alert

__all__ = ["PushChannel"]


class PushChannel:
    name = "push"
    max_attempts = 1  # the FCM client retries 5xx itself (FCM_RETRIES)

    def __init__(self, client: Any, devices: Any, count: Callable[[str], None] = lambda n: None):
        self.client = client
        self.devices = devices
        self.count = count
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-push")

    def targets(self, household: str) -> list[Target]:
        return [Target(t, token_ref(t), p) for t, p in self.devices.devices(household)]

    def send(self, notice: Notice, target: Target, timeout_s: float) -> None:
        message = alert(
            target.address, target.extra, notice.household, notice.title, notice.message
        )
        try:
            result = self._thread.submit(self.client.send, message).result(timeout=timeout_s * 4)
        except FutureTimeout:
            raise DeliveryError(f"FCM: no answer within {timeout_s * 4:g} s") from None
        if result.outcome is Outcome.SENT:
            self.count("gridlight_push_sent_total")
            return
        self.count("gridlight_push_failed_total")
        if result.prune:
            self.devices.prune(target.address)
            self.count("gridlight_push_pruned_total")
        raise DeliveryError(f"FCM {result.outcome.value}: {result.detail}"[:200])

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
