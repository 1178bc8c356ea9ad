"""Alerts on this device, in Chromium: the button's state and explanation by credentials, and
the service worker turning a pushed alert into a notification that names the household and
opens its alerts. (Subscribing for real needs the browser vendor's push service, which a test
on loopback cannot reach; the server's side of Web Push is tested against a local push service
in tests/server/push/test_webpush.py.)"""

from __future__ import annotations

import json

from playwright.sync_api import Page


def test_push_button_and_the_service_workers_notification(served, live_key, page: Page):  # noqa: ANN001
    context = page.context
    context.grant_permissions(["notifications"], origin=served.url)
    page.goto(f"{served.url}/?household=A")
    page.wait_for_selector("body[data-loaded='A']")
    # the demo household without its key: the button says what turning alerts on needs
    page.wait_for_function("() => document.getElementById('push-status').textContent !== ''")
    status = page.text_content("#push-status")
    assert "API key" in status or "cannot receive push" in status
    if not page.is_hidden("#push-toggle"):
        assert page.is_disabled("#push-toggle")

    page.evaluate("() => navigator.serviceWorker.ready")
    (worker,) = [w for w in context.service_workers if w.url.endswith("/sw.js")]
    alert = {
        "title": "Day worker's home: Energy spike",
        "body": "Overall 9.1 kW, about 6× its usual peak",
        "household": "A",
        "level": "critical",
        "kind": "alert",
        "alert": {"id": 7, "rule": "spike"},
    }
    shown = worker.evaluate(
        """async (payload) => {
          const event = new PushEvent("push", {data: payload});
          const done = [];
          event.waitUntil = (p) => done.push(p);
          self.dispatchEvent(event);
          await Promise.all(done);
          const notes = await self.registration.getNotifications();
          return notes.map((n) => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url}));
        }""",
        json.dumps(alert),
    )
    assert shown == [
        {
            "title": alert["title"],
            "body": alert["body"],
            "tag": "gridlight-A-spike",
            "url": "/?household=A#alerts",
        }
    ]
