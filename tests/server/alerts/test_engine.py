"""The evaluator end to end: readings → broker → hub → rules → log → signed webhook."""

from __future__ import annotations

import json
import time

import pytest

from generator.times import format_ts
from server.alerts.channels import sign
from server.alerts.rules import SPIKE_MESSAGE
from server.alerts.settings import default_settings, merge
from tests.server.alerts.conftest import ENGINE_INTERVAL_S
from tests.server.alerts.servers import webhook_receiver
from tests.wait import wait_for

SECRET = "whsec-0123456789abcdef"


def publish(broker, start_s: int, windows: list[float]) -> None:  # noqa: ANN001
    """One reading per second at each window's Overall power, then one that closes the last."""
    for i, overall_kw in enumerate([*windows, windows[-1]]):
        seconds = ENGINE_INTERVAL_S if i < len(windows) else 1
        for s in range(seconds):
            ts = start_s + i * ENGINE_INTERVAL_S + s
            broker.publish(
                "A",
                {
                    "ts": format_ts(ts),
                    "power_kw": {"AC": 0.0, "Geyser": 0.0, "Overall": overall_kw},
                },
            )


def test_a_spike_is_alerted_once_by_the_one_evaluator_and_delivered(make_engine_app):  # noqa: ANN001
    with webhook_receiver() as hook:
        app = make_engine_app()
        ext = app.extensions["alerts"]
        doc = merge(
            default_settings("Asia/Kolkata", ("AC", "Geyser", "Overall")),
            {
                "rules": {"level": {"enabled": False}},
                "channels": {
                    "push": {"enabled": False},
                    "webhook": {"enabled": True, "url": hook.url + "/g", "secret": SECRET},
                },
            },
        )
        ext.settings.put("A", doc)
        engine = ext.engine
        # Subscribed, not merely created: windows emitted before the follower's subscription
        # are not its to see (a live follower starts from now).
        wait_for(
            lambda: "A" in engine.followers and engine.followers["A"].subscribed.is_set(),
            what="the follower of A subscribed",
            timeout_s=30.0,
        )
        # and evaluating with these settings: the engine reloads them every ALERTS_SYNC_S, so a
        # follower started before the put would otherwise deliver by the defaults (no webhook)
        wait_for(
            lambda: engine._docs.get("A") == doc,
            what="the engine to load the settings",
            timeout_s=30.0,
        )
        now = int(time.time()) + 600
        start = now - now % ENGINE_INTERVAL_S
        publish(engine.gridlight.broker, start, [0.3, 0.3, 20.0, 25.0, 0.3, 0.3, 0.3])
        wait_for(lambda: len(ext.log.page("A")[0]) >= 2, what="alert and recovery", timeout_s=30.0)
        wait_for(
            lambda: len(hook.requests) >= 2, what="alert and recovery webhooks", timeout_s=30.0
        )
        alerts, _ = ext.log.page("A")
        assert [(a["rule"], a["kind"]) for a in alerts] == [
            ("spike", "recovery"),
            ("spike", "alert"),
        ]
        spike = alerts[1]
        assert spike["message"] == SPIKE_MESSAGE
        assert spike["ts"] == format_ts(start + 3 * ENGINE_INTERVAL_S)
        assert spike["values"]["power_kw"] == 20.0
        wait_for(
            lambda: len(ext.log.attempts(spike["id"])) == 1,
            what="the delivery record",
            timeout_s=30.0,
        )
        assert [d.status for d in ext.log.attempts(spike["id"])] == ["sent"]

        def metrics() -> str:
            return app.test_client().get("/metrics").get_data(as_text=True)

        # the second attempt is recorded once the receiver has answered
        wait_for(
            lambda: "gridlight_alert_deliveries_sent_total 2" in metrics(),
            what="counts",
            timeout_s=30.0,
        )
        assert "gridlight_alerts_total 2" in metrics()
        first = hook.requests[0]
        assert first["headers"]["X-Gridlight-Signature"] == sign(SECRET, first["body"])
        assert json.loads(first["body"])["alert"]["rule"] == "spike"


@pytest.mark.parametrize("lease_in", ["redis", "sqlite", "postgresql"])
def test_one_evaluator_per_deployment(make_engine_app, lease_in, request):  # noqa: ANN001
    """Two workers (or hosts) elect one evaluator: by a Redis lease with REDIS_URL, else by a
    lease in the database they share (the data directory's SQLite file, or PostgreSQL)."""
    config: dict[str, object] = {"ALERTS_LEASE_TTL_S": 1.0}
    if lease_in == "redis":
        config["REDIS_URL"] = request.getfixturevalue("redis_server").url
    elif lease_in == "postgresql":
        config["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    first = make_engine_app(**config)
    second = make_engine_app(**config)
    engines = [app.extensions["alerts"].engine for app in (first, second)]
    wait_for(
        lambda: any(e.followers for e in engines), what="one evaluator following A", timeout_s=30.0
    )
    leaders = [e for e in engines if e.leader]
    assert len(leaders) == 1
    other = next(e for e in engines if e is not leaders[0])
    assert other.followers == {}
    leaders[0].stop()  # releases the lease: the other worker takes over
    wait_for(lambda: other.leader and "A" in other.followers, what="the takeover", timeout_s=30.0)


def test_a_new_meter_is_watched_from_its_first_minute(make_engine_app):  # noqa: ANN001
    """A live household registered with no history: followed at once (offline rule only), its
    back-dated upload of 20 minutes is no outage, and once its statistics exist the level rule
    judges it, without a restart."""
    app = make_engine_app(LIVE_STATS_MIN_S=600, FOLLOW_STATS_RETRY_S=0.05)
    services = app.extensions["gridlight"]
    _, key = services.keys.add_household("L1", ("AC", "Geyser", "Overall"))
    ext = app.extensions["alerts"]
    doc = default_settings("UTC", ("AC", "Geyser", "Overall"))
    ext.settings.put("L1", merge(doc, {"rules": {"level": {"intervals": 1}}}))
    engine = ext.engine
    wait_for(
        lambda: "L1" in engine.followers and engine.followers["L1"].subscribed.is_set(),
        what="the new meter followed",
        timeout_s=30.0,
    )
    following = engine.followers["L1"]
    assert following.stats is None  # learning: no statistics yet
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}

    def post(readings: list[dict]) -> None:
        r = client.post(
            "/api/v1/households/L1/readings", json={"readings": readings}, headers=headers
        )
        assert r.status_code == 200, r.get_data(as_text=True)

    now = int(time.time())
    history = [
        {
            "ts": now - 1500 + i,
            "power_kw": {"AC": 0.0, "Geyser": float(i % 600 < 30), "Overall": 0.4 + 0.1 * (i % 7)},
        }
        for i in range(1200)
    ]
    post(history)  # an hour-old upload without gaps, all at once
    wait_for(lambda: following.stats is not None, what="statistics picked up", timeout_s=30.0)
    assert not [a for a in ext.log.page("L1")[0] if a["rule"] == "offline"]
    start = (int(time.time()) // ENGINE_INTERVAL_S + 2) * ENGINE_INTERVAL_S
    spike = [
        {"ts": start + s, "power_kw": {"AC": 0.0, "Geyser": 0.0, "Overall": 12.0}}
        for s in range(ENGINE_INTERVAL_S)
    ]
    post([*spike, {"ts": start + ENGINE_INTERVAL_S, "power_kw": {"Overall": 0.4}}])
    wait_for(
        lambda: any(a["rule"] == "level" for a in ext.log.page("L1")[0]),
        what="a level alert of the new meter",
        timeout_s=30.0,
    )
    assert not [a for a in ext.log.page("L1")[0] if a["rule"] == "offline"]
