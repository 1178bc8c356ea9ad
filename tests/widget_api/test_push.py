"""Pushes end to end: readings → hub → watcher → policy → sender → pyfcm → the local FCM."""

from __future__ import annotations

import json
import time

import pytest

from server.leases import RedisLease
from tests.wait import wait_for
from tests.widget_api.conftest import OVERALL_KW, publish_window, reading

INTERVAL_S = 5
TOKEN = "device-one:APA91b" + "a" * 140
OTHER = "device-two:APA91b" + "b" * 140


def future_start() -> int:
    """A window start comfortably ahead of the wall clock, so no window closes by silence."""
    now = int(time.time()) + 600
    return now - now % INTERVAL_S


@pytest.fixture
def push_app(make_app, fcm, keys):  # noqa: ANN001, ANN201
    def make(**config):  # noqa: ANN003, ANN202
        base = {
            "PUSH_ENABLED": True,
            "FCM_CREDENTIALS": str(fcm.credentials),
            "FCM_BASE_URL": fcm.url,
            "FCM_RETRIES": 0,
            "PUSH_INTERVAL_S": INTERVAL_S,
            "PUSH_HOLD_WINDOWS": 3,
            "PUSH_SYNC_S": 0.05,
        }
        base.update(config)
        return make_app(**base)

    return make


def register(app, key: str, *tokens: str) -> None:  # noqa: ANN001
    client = app.test_client()
    for token in tokens:
        r = client.post(
            "/api/v1/households/A/devices",
            json={"token": token, "platform": "android"},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 201, r.json


def watching(app) -> bool:  # noqa: ANN001
    hub = app.extensions["gridlight"].hub
    return any(channel.subscribers for channel in hub.channels_of("A"))


def play(broker, levels: list[str], start_s: int) -> list[list[str]]:  # noqa: ANN001
    """Whole windows at ``levels`` and one reading after them (which closes the last)."""
    ids = [
        publish_window(broker, start_s + i * INTERVAL_S, INTERVAL_S, OVERALL_KW[level])
        for i, level in enumerate(levels)
    ]
    broker.publish("A", reading(start_s + len(levels) * INTERVAL_S, OVERALL_KW["green"]))
    return ids


def settle(app, windows: int) -> None:  # noqa: ANN001
    pusher = app.extensions["widget_api"].pusher
    wait_for(
        lambda: "A" in pusher.watchers and pusher.watchers["A"].windows_seen >= windows,
        what=f"{windows} windows seen by the watcher",
    )
    wait_for(pusher.sender.idle, what="the sender to finish")


def metric(app, name: str) -> float:  # noqa: ANN001
    text = app.test_client().get("/metrics").get_data(as_text=True)
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_a_level_change_pushes_once_with_the_right_priority(push_app, keys, fcm):
    app = push_app()
    register(app, keys["A"], TOKEN)
    wait_for(lambda: watching(app), what="the watcher to subscribe")
    broker = app.extensions["gridlight"].broker
    start = future_start()
    ids = play(broker, ["green", "green", "red", "red"], start)
    settle(app, 4)

    assert fcm.problems == []
    data, note = fcm.messages_to(TOKEN)
    assert "notification" not in data  # the state travels data-only
    assert data["android"]["priority"] == "high"
    assert data["android"]["collapse_key"] == "gridlight-A"
    assert all(isinstance(v, str) for v in data["data"].values())
    state = json.loads(data["data"]["state"])
    assert data["data"]["type"] == "widget_state"
    assert data["data"]["seq"] == state["seq"] == ids[2][-1]  # the first red window
    assert data["data"]["household"] == state["household"] == "A"
    assert state["worst"] == "red"
    assert state["interval_s"] == INTERVAL_S
    assert "data" not in note  # the visible alert is its own message
    assert note["notification"]["title"] == "Day worker's home: red"
    assert note["notification"]["body"] == "Unusually high: Overall"
    assert note["android"]["priority"] == "high"

    # back to yellow: pushed once, at normal priority, after 3 windows, without a notification
    more = play(broker, ["yellow"] * 4, start + 5 * INTERVAL_S)
    settle(app, 9)
    assert len(fcm.messages_to(TOKEN)) == 3
    calm = fcm.messages_to(TOKEN)[-1]
    assert "notification" not in calm
    assert calm["android"]["priority"] == "normal"
    assert json.loads(calm["data"]["state"])["worst"] == "yellow"
    assert calm["data"]["seq"] == more[2][-1]  # the third yellow window
    assert metric(app, "gridlight_push_sent_total") == 3
    assert metric(app, "gridlight_push_failed_total") == 0


def test_an_unregistered_token_is_pruned(push_app, keys, fcm):
    app = push_app()
    register(app, keys["A"], TOKEN, OTHER)
    fcm.answer(OTHER, "unregistered")
    wait_for(lambda: watching(app), what="the watcher to subscribe")
    play(app.extensions["gridlight"].broker, ["green", "critical"], future_start())
    settle(app, 2)
    assert len(fcm.messages_to(TOKEN)) == 2  # state + alert
    assert [r["answer"] for r in fcm.requests if r["message"]["token"] == OTHER] == [
        "unregistered"
    ]  # pruned at once: no alert attempted
    assert app.extensions["widget_api"].devices.devices("A") == [(TOKEN, "android")]
    assert metric(app, "gridlight_push_pruned_total") == 1
    assert metric(app, "gridlight_push_failed_total") == 1
    assert metric(app, "gridlight_push_sent_total") == 2


def test_critical_data_message_is_pushed_at_once(push_app, keys, fcm):
    app = push_app(PUSH_HOLD_WINDOWS=10)
    register(app, keys["A"], TOKEN)
    wait_for(lambda: watching(app), what="the watcher to subscribe")
    broker = app.extensions["gridlight"].broker
    start = future_start()
    publish_window(broker, start, INTERVAL_S, OVERALL_KW["green"])
    publish_window(broker, start + INTERVAL_S, INTERVAL_S, None)  # the meter reports nothing
    broker.publish("A", reading(start + 2 * INTERVAL_S, 0.1))
    settle(app, 2)
    data, note = fcm.messages_to(TOKEN)
    assert json.loads(data["data"]["state"])["power_kw"]["Overall"] is None
    assert note["notification"]["title"].endswith(": critical")
    assert note["notification"]["body"] == "No reading: Overall"


def test_one_sender_per_deployment(push_app, keys, fcm, redis_server):
    """Two workers sharing Redis: only the lease holder pushes; the other takes over."""
    first = push_app(REDIS_URL=redis_server.url, PUSH_LEASE_TTL_S=5.0)
    wait_for(lambda: first.extensions["widget_api"].pusher.leader, what="a leader")
    second = push_app(REDIS_URL=redis_server.url, PUSH_LEASE_TTL_S=5.0)
    register(first, keys["A"], TOKEN)
    wait_for(lambda: watching(first), what="the leader to watch")
    pusher_2 = second.extensions["widget_api"].pusher
    pusher_2.sync()
    assert not pusher_2.leader and pusher_2.watchers == {}
    broker = first.extensions["gridlight"].broker
    start = future_start()
    play(broker, ["green", "red"], start)
    settle(first, 2)
    assert len(fcm.messages_to(TOKEN)) == 2

    first.extensions["widget_api"].pusher.stop()  # releases the lease
    wait_for(lambda: pusher_2.leader and "A" in pusher_2.watchers, what="the takeover")
    wait_for(lambda: watching(second), what="the new leader to watch")
    play(broker, ["green", "critical"], start + 3 * INTERVAL_S)
    # the new leader primes from history: it also sees the window of the reading that closed
    # the first play (green), so 3 windows
    settle(second, 3)
    assert len(fcm.messages_to(TOKEN)) == 4
    assert json.loads(fcm.messages_to(TOKEN)[2]["data"]["state"])["worst"] == "critical"


def test_redis_lease(redis_server):
    a = RedisLease(redis_server.url, ttl_s=5.0)
    b = RedisLease(redis_server.url, ttl_s=5.0)
    try:
        assert a.hold() and a.hold()  # taken, then renewed
        assert not b.hold()
        a.release()
        assert b.hold()
        assert not a.hold()
        b.release()
    finally:
        a.close()
        b.close()


def test_redis_lease_expires_and_a_dead_redis_means_not_leader(redis_server):
    from tests.services import free_port

    a = RedisLease(redis_server.url, ttl_s=0.2)
    b = RedisLease(redis_server.url, ttl_s=0.2)
    down = RedisLease(f"redis://127.0.0.1:{free_port()}/0", ttl_s=1.0)
    try:
        assert a.hold()
        wait_for(b.hold, what="the lease to expire", timeout_s=5.0)  # a stopped renewing
        assert not a.hold()
        assert not down.hold()
    finally:
        for lease in (a, b, down):
            lease.close()


def test_push_needs_credentials(make_app, monkeypatch):
    from server.push.fcm import FcmConfigError

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    assert make_app(PUSH_ENABLED=None).extensions["widget_api"].pusher is None
    with pytest.raises(FcmConfigError, match="set GOOGLE_APPLICATION_CREDENTIALS"):
        make_app(PUSH_ENABLED=True)
