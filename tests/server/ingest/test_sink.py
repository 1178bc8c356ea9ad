"""The replay harness's MQTT sink: ``python -m generator replay --mqtt URL`` publishes each second
of each household on ``gridlight/{h}/readings`` at QoS 1, as a meter would."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from generator.replay import Meter


def test_replay_cli_publishes_meter_readings(mosquitto_server, dataset_dir, dataset) -> None:  # noqa: ANN001
    received: list[tuple[str, dict]] = []
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sink-test")
    client.on_connect = lambda c, u, f, rc, p: c.subscribe("gridlight/+/readings", qos=1)
    client.on_subscribe = lambda c, u, mid, rcs, p: subscribed.set()
    client.on_message = lambda c, u, m: received.append((m.topic, json.loads(m.payload)))
    client.connect("127.0.0.1", mosquitto_server.port)
    client.loop_start()
    try:
        assert subscribed.wait(10)
        start_s = int(time.time()) // 10 * 10
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_s))
        cmd = [sys.executable, "-m", "generator", "replay", "--dataset", str(dataset_dir)]
        cmd += ["--households", "A", "B", "--mqtt", mosquitto_server.url, "--speed", "100"]
        cmd += ["--start", start, "--duration-s", "5", "--clean"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        deadline = time.monotonic() + 10
        while len(received) < 10 and time.monotonic() < deadline:
            time.sleep(0.02)  # polling interval of a bounded wait
    finally:
        client.disconnect()
        client.loop_stop()
    assert (
        sorted(t for t, _ in received)
        == ["gridlight/A/readings"] * 5 + ["gridlight/B/readings"] * 5
    )
    meter = Meter(dataset, "A", faulty=False)
    a = [body for topic, body in received if topic == "gridlight/A/readings"]
    for i, body in enumerate(a):
        expected = meter.reading_at(start_s + i)
        assert body == {"ts": expected["ts"], "power_kw": expected["power_kw"]}
