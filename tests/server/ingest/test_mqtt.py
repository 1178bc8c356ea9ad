"""MQTT ingest against a real mosquitto: good readings around malformed messages all arrive,
the broker restarted mid-stream loses nothing at QoS 1, readings published while the
subscriber was away are delivered when it returns (persistent session), and a PostgreSQL
database stopped mid-stream loses nothing and stores each reading once when it returns."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from server import create_app
from server.broker import MemoryBroker
from server.config import defaults
from server.ingest import Pipeline, open_pipeline
from server.ingest.sink import MqttSink
from server.ingest.status import STALE_AFTER_S, read_status, status_path
from server.metrics import Metrics
from server.storage import DeadLetters
from tests.server.ingest.conftest import CHANNELS, app_database, keys_of
from tests.wait import wait_for


class Setup:
    def __init__(self, data_dir: Path, url: str, database_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.url = url
        self.database_url = database_url
        self.client_id = f"gridlight-test-{uuid.uuid4().hex[:8]}"
        self.broker = MemoryBroker()
        self.metrics = Metrics()
        self.pipelines: list[Pipeline] = []
        self.db = app_database(data_dir, database_url)
        keys_of(data_dir, self.db).add_household("L1", CHANNELS)

    def start(self) -> Pipeline:
        cfg = dict(
            defaults(),
            DATA_DIR=str(self.data_dir),
            MQTT_URL=self.url,
            MQTT_CLIENT_ID=self.client_id,
            INGEST_BATCH_MS=20,
            RETENTION_ENABLED=False,
            DATABASE_URL=self.database_url,
        )
        pipeline = open_pipeline(cfg, self.broker.publish, self.metrics.add)
        pipeline.start_mqtt()
        assert pipeline.mqtt is not None
        assert pipeline.mqtt.connected.wait(10), "the subscriber did not connect"
        self.pipelines.append(pipeline)
        return pipeline

    def stored(self) -> int:
        with self.db.read() as c:
            return c.execute(
                sa.text("SELECT count(*) FROM readings WHERE household = 'L1'")
            ).scalar_one()

    def values(self) -> dict[tuple[int, str], float | None]:
        with self.db.read() as c:
            rows = c.execute(
                sa.text("SELECT ts_s, channel, power_kw FROM readings WHERE household = 'L1'")
            ).all()
        return {(ts, c): v for ts, c, v in rows}

    def dead(self) -> int:
        return len(DeadLetters(self.db).recent(10_000))

    def close(self) -> None:
        for p in self.pipelines:
            p.stop()
        self.db.dispose()


@pytest.fixture
def setup(tmp_path: Path, mosquitto_server) -> Iterator[Setup]:  # noqa: ANN001
    data = tmp_path / "data"
    data.mkdir()
    s = Setup(data, mosquitto_server.url)
    yield s
    s.close()


def reading(t: int) -> dict:
    return {
        "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
        "power_kw": {"AC": (t % 7) / 7, "Geyser": None, "Overall": 1 + (t % 5) / 5},
    }


def test_malformed_messages_are_rejected_and_counted_while_every_valid_reading_arrives(
    setup: Setup,
) -> None:
    setup.start()
    sink = MqttSink(setup.url)
    t0 = int(time.time()) - 600
    bad = [
        ("gridlight/L1/readings", b"{not json"),
        ("gridlight/NOPE/readings", json.dumps(reading(t0)).encode()),
        ("gridlight/L1/readings", b'{"ts": "2025-01-01", "power_kw": {"AC": 1}}'),
        ("gridlight/L1/AC/power", b"one kilowatt"),
        ("gridlight/L1/Fridge/power", b"0.2"),
        ("gridlight/L1/readings", b'{"ts": 0, "power_kw": {"AC": 1}}'),
        ("gridlight/L1/readings", b"[]"),
        ("gridlight/L1/readings", b'{"ts": 1, "power_kw": {"AC": NaN}}'),
    ]
    n = 240
    for i in range(n):
        sink.publish("L1", reading(t0 + i))
        if i % 30 == 0:
            topic, payload = bad[i // 30]
            sink.publish_raw(topic, payload)
    sink.publish_raw("gridlight/L1/Overall/power", json.dumps({"ts": t0 + n, "power_kw": 2.5}))
    assert sink.close(timeout_s=20)
    wait_for(lambda: setup.stored() == 3 * n + 1, what="every valid reading", timeout_s=20)
    wait_for(lambda: setup.dead() == len(bad), what="the dead letters", timeout_s=10)
    values = setup.values()
    assert values[(t0 + 5, "AC")] == pytest.approx(((t0 + 5) % 7) / 7)
    assert values[(t0 + n, "Overall")] == 2.5
    assert (t0, "Geyser") in values and values[(t0, "Geyser")] is None  # unavailable, not zero
    counts = setup.metrics.values
    assert counts["gridlight_ingest_rejected_total"] == len(bad)
    assert counts["gridlight_ingest_mqtt_messages_total"] == n + len(bad) + 1
    entries = setup.broker.range("L1", None, 10_000)
    assert len(entries) == n + 1  # one stream entry per second, none for the bad messages


def test_broker_restart_and_subscriber_downtime_lose_nothing(
    setup: Setup, mosquitto_server
) -> None:  # noqa: ANN001
    first = setup.start()
    sink = MqttSink(setup.url, client_id=f"replay-{setup.client_id}")
    t0 = int(time.time()) - 900
    for i in range(150):
        sink.publish("L1", reading(t0 + i))
    mosquitto_server.restart()  # mid-stream: some messages in flight, some queued
    for i in range(150, 300):
        sink.publish("L1", reading(t0 + i))
    wait_for(
        lambda: setup.stored() == 300 * 3, what="300 readings across a broker restart", timeout_s=30
    )
    first.stop()  # Gridlight away: the broker keeps its session
    for i in range(300, 400):
        sink.publish("L1", reading(t0 + i))
    assert sink.close(timeout_s=20)
    assert setup.stored() == 300 * 3
    setup.start()
    wait_for(lambda: setup.stored() == 400 * 3, what="readings published while away", timeout_s=30)
    seconds = sorted({ts for ts, _ in setup.values()})
    assert seconds == list(range(t0, t0 + 400))


def test_the_subscriber_reports_its_connection_for_healthz(
    setup: Setup, mosquitto_server, tmp_path: Path
) -> None:  # noqa: ANN001
    """What /healthz shows of the subscriber follows the broker going away and coming back; a
    subscriber that stopped writing its status is reported down once the status is stale."""
    path = status_path(setup.data_dir)
    pipeline = setup.start()
    status = read_status(path, time.time())
    assert status["ok"] and status["connected"] and status["pid"] == os.getpid()
    assert path.stat().st_mode & 0o777 == 0o644  # readable by web workers of another user
    assert status["broker"] == setup.url.removeprefix("mqtt://")
    mosquitto_server.stop()
    wait_for(
        lambda: not read_status(path, time.time())["ok"], what="the outage reported", timeout_s=20
    )
    assert "not connected" in read_status(path, time.time())["error"]
    mosquitto_server.start()
    wait_for(
        lambda: read_status(path, time.time())["ok"], what="the reconnection reported", timeout_s=30
    )
    pipeline.stop()
    assert "not connected" in read_status(path, time.time())["error"]
    later = time.time() + STALE_AFTER_S + 1  # a subscriber that died without a word
    path.write_text(path.read_text().replace('"connected": false', '"connected": true'))
    assert read_status(path, time.time())["ok"]
    assert "has not reported for" in read_status(path, later)["error"]
    path.write_text("{half a file")
    assert "unreadable status" in read_status(path, time.time())["error"]
    assert "no MQTT subscriber" in read_status(tmp_path / "none.json", time.time())["error"]
    # /healthz: degraded (still 200) while the subscriber is down; broker and streams are fine
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(setup.data_dir),
            "REDIS_URL": None,
            "MQTT_URL": setup.url,
            "INGEST_EMBEDDED": False,
            "RETENTION_ENABLED": False,
        }
    )
    try:
        r = app.test_client().get("/healthz")
        assert r.status_code == 200 and r.json["status"] == "degraded"
        assert r.json["mqtt"]["ok"] is False and r.json["broker"]["ok"] is True
    finally:
        app.extensions["gridlight"].stop()


def test_postgres_stopped_mid_stream_loses_nothing_and_stores_each_reading_once(
    tmp_path: Path, mosquitto_server, postgres_server, postgres_url
) -> None:  # noqa: ANN001
    """Readings keep arriving while PostgreSQL is down: they are not acknowledged, the writer
    retries, and when the database returns every reading is stored and streamed exactly once."""
    data = tmp_path / "data"
    data.mkdir()
    setup = Setup(data, mosquitto_server.url, postgres_url)
    sink = None
    try:
        pipeline = setup.start()
        sink = MqttSink(setup.url, client_id=f"replay-{setup.client_id}")
        t0 = int(time.time()) - 900
        for i in range(100):
            sink.publish("L1", reading(t0 + i))
        wait_for(lambda: setup.stored() == 100 * 3, what="the first 100 readings", timeout_s=30)
        postgres_server.stop()
        try:
            for i in range(100, 200):  # received while the database is down: held, not acked
                sink.publish("L1", reading(t0 + i))
            wait_for(
                lambda: pipeline.mqtt.messages >= 200,
                what="messages during the outage",
                timeout_s=30,
            )
        finally:
            postgres_server.start()
        for i in range(200, 300):
            sink.publish("L1", reading(t0 + i))
        assert sink.close(timeout_s=30)
        sink = None
        wait_for(
            lambda: setup.stored() == 300 * 3, what="every reading after the outage", timeout_s=60
        )
        assert sorted({ts for ts, _ in setup.values()}) == list(range(t0, t0 + 300))
        counts = setup.metrics.values
        assert counts["gridlight_ingest_readings_accepted_total"] == 300 * 3
        entries = setup.broker.range("L1", None, 10_000)
        streamed = [(r["ts"], channel) for _, r in entries for channel in r["power_kw"]]
        assert len(streamed) == len(set(streamed)) == 300 * 3
    finally:
        if sink is not None:
            sink.close(timeout_s=5)
        setup.close()
