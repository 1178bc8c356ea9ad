"""Smoke tests of the real-server fixtures the rest of the suite relies on."""

from __future__ import annotations

import threading

import paho.mqtt.client as mqtt
import redis


def test_redis_server_answers_and_restarts(redis_server):
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    assert client.ping()
    entry = client.xadd("gridlight:smoke", {"power_kw": "1.5"})
    assert client.xrange("gridlight:smoke")[0][0] == entry
    redis_server.restart()
    client = redis.Redis.from_url(redis_server.url, socket_timeout=5)
    assert client.ping()
    assert client.exists("gridlight:smoke") == 0  # no persistence: a restart is a clean slate


def test_mosquitto_round_trip(mosquitto_server):
    got = threading.Event()
    received: list[bytes] = []

    def on_message(_client, _userdata, message):
        received.append(message.payload)
        got.set()

    subscribed = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="smoke-sub")
    sub.on_message = on_message
    sub.on_subscribe = lambda *args: subscribed.set()
    sub.connect("127.0.0.1", mosquitto_server.port)
    sub.subscribe("gridlight/+/Overall/power", qos=1)
    sub.loop_start()
    try:
        assert subscribed.wait(30), "no SUBACK from mosquitto within 30 s"
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="smoke-pub")
        pub.connect("127.0.0.1", mosquitto_server.port)
        pub.loop_start()
        info = pub.publish("gridlight/A/Overall/power", b"2.31", qos=1)
        info.wait_for_publish(timeout=30)
        pub.loop_stop()
        pub.disconnect()
        assert got.wait(30), "message not delivered within 30 s"
        assert received == [b"2.31"]
    finally:
        sub.loop_stop()
        sub.disconnect()
