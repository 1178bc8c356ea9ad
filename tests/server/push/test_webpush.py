"""Web Push for the installed dashboard: subscriptions over the API, alerts encrypted and
VAPID-signed by pywebpush to a local push service that decrypts them as a browser would, gone
subscriptions pruned, bad subscriptions refused with the field named."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.alerts.channels import DeliveryError, Notice, PushChannel
from server.push.webpush import (
    WebPushSender,
    WebPushStore,
    WebPushSubscription,
    application_server_key,
    vapid_private_key,
)
from server.storage import Database, open_database
from server.storage.crypto import Keyring, MasterKey
from tests.server.push.webpush_server import FakePushService


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    with FakePushService() as service:
        yield service


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


NOTICE = Notice(
    alert_id=7,
    household="A",
    name="Zoë's flat",
    rule="spike",
    kind="alert",
    level="critical",
    ts_s=1_800_000_000,
    title="Zoë's flat: Energy spike",
    message="Overall 9.1 kW, about 6× its usual peak",
    values={"Overall": 9.1},
)


def test_the_vapid_key_is_the_installations_on_every_host():
    one, again = vapid_private_key("secret-1"), vapid_private_key("secret-1")
    assert application_server_key(one) == application_server_key(again)
    assert application_server_key(one) != application_server_key(vapid_private_key("secret-2"))
    assert len(application_server_key(one)) == 87  # 65 bytes, base64url without padding


def test_alerts_reach_subscribed_browsers_and_gone_ones_are_pruned(db, push_service):
    seconds = iter(range(1_800_000_000, 1_800_001_000))
    store = WebPushStore(db, Keyring.load(db, MasterKey.generate()), clock=lambda: next(seconds))
    sender = WebPushSender(lambda: vapid_private_key("installation"), "mailto:ops@example.org")
    channel = PushChannel(None, None, webpush=store, webpush_sender=sender)
    phone, laptop = push_service.browser("phone"), push_service.browser("laptop")
    for browser in (phone, laptop):
        assert store.add("A", WebPushSubscription.model_validate(browser.subscription())) is True
    assert store.add("A", WebPushSubscription.model_validate(phone.subscription())) is False

    targets = channel.targets("A")
    assert [t.address for t in targets] == [phone.endpoint, laptop.endpoint]
    assert all(t.address not in t.label for t in targets)  # the URL is a credential
    push_service.answer("laptop", 410)
    channel.send(NOTICE, targets[0], timeout_s=5)
    with pytest.raises(DeliveryError, match="410") as gone:
        channel.send(NOTICE, targets[1], timeout_s=5)
    assert gone.value.retry is False

    assert push_service.refused == []
    (payload,) = push_service.payloads("phone")
    assert payload["title"] == "Zoë's flat: Energy spike"
    assert payload["body"] == NOTICE.message and payload["level"] == "critical"
    assert payload["alert"]["id"] == 7 and payload["household"] == "A"
    assert push_service.vapid_keys == {application_server_key(vapid_private_key("installation"))}
    assert [s.endpoint for s in store.subscriptions("A")] == [phone.endpoint]  # pruned
    with db.read() as c:  # a capability URL and the browser's keys: sealed at rest
        raw = " ".join(
            str(v) for row in c.exec_driver_sql("SELECT * FROM webpush_subscriptions") for v in row
        )
    assert phone.endpoint not in raw and phone.subscription()["keys"]["auth"] not in raw

    push_service.answer("phone", 503)  # a push service in trouble: try again later
    with pytest.raises(DeliveryError, match="503") as busy:
        channel.send(NOTICE, channel.targets("A")[0], timeout_s=5)
    assert busy.value.retry is True
    assert store.remove("A", phone.endpoint) is True and store.subscriptions("A") == []


def test_subscribe_over_the_api(client, push_service):
    key = client.get("/api/v1/webpush/key")
    assert key.status_code == 200
    app = client.application
    assert key.get_json()["public_key"] == application_server_key(vapid_private_key(app.secret_key))
    browser = push_service.browser("tab")
    url = "/api/v1/households/A/webpush"
    assert client.post(url, json=browser.subscription()).status_code == 401  # needs A's key
    gl = app.extensions["gridlight"]
    _, secret = gl.keys.add_household("A", ["AC", "Geyser", "Overall"])
    auth = {"Authorization": f"Bearer {secret}"}
    r = client.post(url, json=browser.subscription(), headers=auth)
    assert r.status_code == 201, r.get_json()
    assert r.get_json() == {"household": "A", "subscribed": True, "created": True}
    assert client.post(url, json=browser.subscription(), headers=auth).status_code == 200
    assert [s.endpoint for s in gl.webpush.subscriptions("A")] == [browser.endpoint]
    assert client.post("/api/v1/households/nope/webpush", json={}, headers=auth).status_code == 404

    bad = browser.subscription()
    for change, field in (
        ({"endpoint": "ftp://push.example/x"}, "endpoint"),
        ({"endpoint": "http://push.example.org/x"}, "endpoint"),  # plain http off loopback
        ({"keys": {"p256dh": "AAAA", "auth": bad["keys"]["auth"]}}, "p256dh"),
        ({"keys": {"p256dh": bad["keys"]["p256dh"], "auth": "c2hvcnQ"}}, "auth"),
        ({"keys": None}, "keys"),
    ):
        r = client.post(url, json={**bad, **change}, headers=auth)
        assert r.status_code == 400, change
        assert field in r.get_json()["error"]["message"], r.get_json()

    r = client.delete(url, json={"endpoint": browser.endpoint}, headers=auth)
    assert r.get_json() == {"household": "A", "removed": True}
    assert gl.webpush.subscriptions("A") == []


def test_a_subscription_added_by_many_workers_at_once_is_one_row(db, push_service):
    import threading

    store = WebPushStore(db, Keyring.load(db, MasterKey.generate()))
    sub = WebPushSubscription.model_validate(push_service.browser("tab").subscription())
    created: list[bool] = []
    threads = [
        threading.Thread(target=lambda: created.append(store.add("A", sub))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(created) == [False] * 7 + [True]
    assert [s.endpoint for s in store.subscriptions("A")] == [sub.endpoint]
