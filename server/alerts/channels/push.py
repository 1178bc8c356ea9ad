"""Push to every registered device of the household: the Android widget's devices through the
deployment's FCM client (:mod:`server.push.fcm`), and browsers that installed the dashboard
through Web Push (:mod:`server.push.webpush`), both as visible, high-priority notifications.

The client is the services' one (``services.fcm``, shared with the widget's push sender: same
credentials, endpoint, bounded retries); no second FCM client is made. pyfcm keeps its session
and access token per thread, so every alert push runs on this channel's one thread (one more
OAuth token than the widget's sender thread, not one per delivery worker). A token FCM reports
dead is pruned from the devices, as the widget's sender does; a Web Push subscription its push
service says is gone (404/410) is pruned likewise. Web Push needs no cloud account (its VAPID key
comes from the installation's secret), so the channel exists on every server; FCM devices are
pushed to only where FCM is configured.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from server.alerts.channels.base import DeliveryError, Notice, Target
from server.metrics import register_counter
from server.push.devices import token_ref
from server.push.fcm import Outcome, alert
from server.push.webpush import StoredSubscription, endpoint_ref

__all__ = ["WEBPUSH", "PushChannel"]

#: ``Target.extra`` prefix of a Web Push subscription (FCM targets carry their platform).
WEBPUSH = "webpush"

for _name, _help in {
    "gridlight_webpush_sent_total": "Web Push alerts a push service accepted.",
    "gridlight_webpush_failed_total": "Web Push alerts not accepted (incl. gone subscriptions).",
    "gridlight_webpush_pruned_total": "Web Push subscriptions removed: their push service said gone.",
}.items():
    register_counter(_name, _help)


class PushChannel:
    name = "push"
    max_attempts = 1  # the FCM client retries 5xx itself (FCM_RETRIES)

    def __init__(
        self,
        client: Any,
        devices: Any,
        count: Callable[[str], None] = lambda n: None,
        *,
        webpush: Any = None,
        webpush_sender: Any = None,
    ):
        self.client = client  # None: FCM is not configured (Web Push only)
        self.devices = devices
        self.count = count
        self.webpush = webpush
        self.webpush_sender = webpush_sender
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alert-push")

    def targets(self, household: str) -> list[Target]:
        out: list[Target] = []
        if self.client is not None:
            out += [Target(t, token_ref(t), p) for t, p in self.devices.devices(household)]
        if self.webpush is not None:
            out += [
                Target(s.endpoint, endpoint_ref(s.endpoint), f"{WEBPUSH}:{s.p256dh}:{s.auth}")
                for s in self.webpush.subscriptions(household)
            ]
        return out

    def send(self, notice: Notice, target: Target, timeout_s: float) -> None:
        if target.extra.startswith(f"{WEBPUSH}:"):
            self._send_webpush(notice, target, timeout_s)
            return
        if self.client is None:
            raise DeliveryError("FCM is not configured on this server")
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

    def _send_webpush(self, notice: Notice, target: Target, timeout_s: float) -> None:
        _, p256dh, auth = target.extra.split(":", 2)
        payload = {
            "title": notice.title,
            "body": notice.message,
            "household": notice.household,
            "level": notice.level,
            "kind": notice.kind,
            "alert": notice.to_json(),
        }
        result = self.webpush_sender.send(
            StoredSubscription(target.address, p256dh, auth), payload, timeout_s
        )
        if result.sent:
            self.count("gridlight_webpush_sent_total")
            return
        self.count("gridlight_webpush_failed_total")
        if result.gone:
            self.webpush.prune(target.address)
            self.count("gridlight_webpush_pruned_total")
        raise DeliveryError(f"Web Push: {result.detail}", retry=result.retry)

    def close(self) -> None:
        self._thread.shutdown(wait=False, cancel_futures=True)
