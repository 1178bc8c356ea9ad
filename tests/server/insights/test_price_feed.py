"""The price feed of dynamic tariffs (server/insights/feeds.py PriceFeed): JSON and CSV from a
local HTTP server on loopback and from a file; a failing or unreachable feed keeps the last good
prices, reports /healthz degraded (200), and never makes a tariff, cost or schedule a 500."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from server.insights.feeds import PriceFeed, parse_prices
from server.insights.tariff import Tariff
from tests.wait import wait_for

T0 = pd.Timestamp("2026-11-22T00:00:00Z")


def hours(n: int, start: pd.Timestamp = T0, base: float = 0.2) -> list[dict]:
    return [
        {"ts": (start + pd.Timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "price_per_kwh": round(base + 0.01 * i, 4)}
        for i in range(n)
    ]  # fmt: skip


class Server:
    """A local HTTP feed: ``body`` and ``content_type`` as the test sets them (``None``: 503)."""

    def __init__(self) -> None:
        self.body: bytes | None = json.dumps({"prices": hours(24)}).encode()
        self.content_type = "application/json"
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                server.requests += 1
                if server.body is None:
                    self.send_error(503)
                    return
                self.send_response(200)
                self.send_header("Content-Type", server.content_type)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/prices?key=secret"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def test_parse_json_and_csv_and_refuse_bad_documents():
    prices = parse_prices(json.dumps(hours(3)).encode(), csv=False)
    assert list(prices) == [0.2, 0.21, 0.22] and str(prices.index[0]) == "2026-11-22 00:00:00+00:00"
    mapping = {"2026-11-22T05:00:00Z": -0.05}  # negative prices happen on wholesale tariffs
    assert list(parse_prices(json.dumps(mapping).encode(), csv=False)) == [-0.05]
    text = b"ts,price_per_kwh\n2026-11-22T00:00:00Z,0.3\n2026-11-22T01:00:00Z,0.31\n"
    assert list(parse_prices(text, csv=True)) == [0.3, 0.31]
    for bad, csv, why in [
        (b"<html>", False, "not JSON"),
        (b'{"prices": []}', False, "non-empty list"),
        (b'[{"ts": "2026-11-22T00:30:00Z", "price_per_kwh": 1}]', False, "start of an hour"),
        (b"ts,price\n2026-11-22T00:00:00Z,1\n", True, "lacks the column"),
        (b"ts,price_per_kwh\n2026-11-22T00:00:00Z,abc\n", True, "not a number"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_prices(bad, csv=csv)


def test_a_feed_over_http_keeps_its_last_good_prices_when_it_fails(server: Server):
    now = {"s": T0.timestamp()}
    feed = PriceFeed(server.url, timeout_s=2, clock=lambda: now["s"])
    assert feed.health()["ok"] is True and feed.health()["hours"] == 0  # not polled yet
    assert feed.poll()
    assert len(feed.prices) == 24 and feed.prices.iloc[0] == 0.2
    health = feed.health()
    assert health["ok"] and health["feed"].startswith("http://127.0.0.1:")
    assert health["first"] == "2026-11-22T00:00:00Z" and health["last"] == "2026-11-22T23:00:00Z"
    assert "secret" not in json.dumps(health)
    # the next day's prices merge over the held ones
    server.body = json.dumps(hours(24, T0 + pd.Timedelta(hours=12), base=1.0)).encode()
    assert feed.poll()
    assert len(feed.prices) == 36 and feed.prices.iloc[11] == pytest.approx(0.31)
    assert feed.prices.iloc[12] == 1.0
    # CSV, told by the content type
    server.content_type = "text/csv"
    server.body = b"ts,price_per_kwh\n2026-11-23T12:00:00Z,0.5\n"
    assert feed.poll() and feed.prices.iloc[-1] == 0.5
    kept = feed.prices.copy()
    for broken, kind in [(None, "HTTPError"), (b"ts,price_per_kwh\nnope,1\n", "TariffError")]:
        server.body = broken
        assert not feed.poll()
        assert feed.health()["ok"] is False and kind in feed.health()["error"]
        pd.testing.assert_series_equal(feed.prices, kept)
    server.close()  # unreachable
    assert not feed.poll()
    pd.testing.assert_series_equal(feed.prices, kept)


def test_a_feed_from_a_file(tmp_path: Path):
    path = tmp_path / "prices.csv"
    path.write_text("ts,price_per_kwh\n2026-11-22T00:00:00Z,0.3\n")
    feed = PriceFeed(str(path), clock=lambda: T0.timestamp())
    assert feed.poll() and list(feed.prices) == [0.3]
    assert feed.health()["feed"] == "file"
    path.unlink()
    assert not feed.poll() and "FileNotFoundError" in feed.health()["error"]
    assert list(feed.prices) == [0.3]


def test_a_feed_tariff_document():
    tariff = Tariff.from_json({"type": "dynamic", "currency": "GBP", "feed": True})
    assert tariff.feed and len(tariff.prices) == 0
    assert tariff.to_json()["feed"] is True and "prices" not in tariff.to_json()
    priced = tariff.with_prices(parse_prices(json.dumps(hours(2)).encode(), csv=False))
    assert priced.feed and list(priced.prices) == [0.2, 0.21]
    with pytest.raises(ValueError, match="not both"):
        Tariff.from_json({"type": "dynamic", "currency": "GBP", "feed": True, "prices": hours(1)})
    with pytest.raises(ValueError, match="feed: expected true or false"):
        Tariff.from_json({"type": "dynamic", "currency": "GBP", "feed": "yes"})


def test_the_app_prices_a_feed_tariff_and_degrades_healthz_never_500(
    make_app, live_key: str, server: Server
) -> None:  # noqa: ANN001
    now = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=2)
    server.body = json.dumps({"prices": hours(48, now, base=0.1)}).encode()
    no_feed = make_app().test_client()
    auth = {"Authorization": f"Bearer {live_key}"}
    doc = {"type": "dynamic", "currency": "GBP", "feed": True}
    r = no_feed.put("/api/v1/households/L1/tariff", json=doc, headers=auth)
    assert r.status_code == 400 and "PRICE_FEED_URL" in r.json["error"]["message"]

    app = make_app(PRICE_FEED_URL=server.url, PRICE_FEED_TIMEOUT_S=2)
    client = app.test_client()
    feed = app.extensions["insights"].price_feed
    r = client.put("/api/v1/households/L1/tariff", json=doc, headers=auth)
    assert r.status_code == 200, r.json
    assert r.json["tariff"]["feed"] is True
    assert feed.poll()
    assert client.get("/healthz").json["price_feed"]["hours"] == 48
    service = app.extensions["insights"].service
    tariff, source, _ = service.tariff("L1")
    assert source == "stored" and len(tariff.prices) == 48
    index = pd.date_range(now, periods=3, freq="h")
    assert list(tariff.hourly_prices(index)) == pytest.approx([0.1, 0.11, 0.12])
    # a schedule planned on the feed's prices: the cheapest of them
    plan = client.put(
        "/api/v1/households/L1/schedule",
        json={"loads": [{"id": "geyser", "energy_kwh": 1.0, "power_kw": 1.0}]},
        headers=auth,
    )
    assert plan.status_code in (200, 201), plan.json
    assert "(stored)" in plan.json["plan"]["inputs"]["tariff"]
    assert plan.json["plan"]["currency"] == "GBP"

    server.body = None  # the feed fails: the last good prices stay in use
    assert not feed.poll()
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json["status"] == "degraded" and health.json["price_feed"]["ok"] is False
    tariff, _, _ = service.tariff("L1")
    assert len(tariff.prices) == 48
    got = client.get("/api/v1/households/L1/tariff", headers=auth)
    assert got.status_code == 200 and got.json["tariff"]["feed"] is True
    server.close()  # unreachable
    assert not feed.poll()
    assert client.get("/healthz").json["status"] == "degraded"
    again = client.put(
        "/api/v1/households/L1/schedule",
        json={"loads": [{"id": "geyser", "energy_kwh": 1.0, "power_kw": 1.0}]},
        headers=auth,
    )
    assert again.status_code in (200, 201)
    assert feed.poll() is False and feed.health()["hours"] == 48


def test_carbon_from_an_mqtt_topic_keeps_its_last_value_while_the_broker_is_down(
    make_app, mosquitto_server
) -> None:  # noqa: ANN001
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    app = make_app(MQTT_URL=mosquitto_server.url, CARBON_FEED_TOPIC="grid/carbon/+")
    client = app.test_client()
    feed = app.extensions["insights"].mqtt_feed
    feed.start()
    wait_for(feed.subscribed.is_set, what="carbon feed subscription")
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    sender.connect("127.0.0.1", mosquitto_server.port)
    sender.loop_start()
    try:
        sender.publish("grid/carbon/IN", json.dumps({"zone": "IN", "g_per_kwh": 432.0}), qos=1)
        carbon = app.extensions["insights"].carbon
        wait_for(lambda: carbon.g_per_kwh("IN") == 432.0, what="the MQTT intensity")
        sender.publish("grid/carbon/IN", b"not json", qos=1)
        wait_for(lambda: feed.health().get("error"), what="the bad message reported")
        assert carbon.g_per_kwh("IN") == 432.0
        health = client.get("/healthz").json
        assert health["carbon_feed_mqtt"]["ok"] is True and health["carbon_feed_mqtt"]["zones"] == [
            "IN"
        ]
    finally:
        sender.disconnect()
        sender.loop_stop()
    mosquitto_server.stop()
    wait_for(lambda: not feed.subscribed.is_set(), what="the feed noticing the broker down")
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json["status"] == "degraded" and health.json["carbon_feed_mqtt"]["ok"] is False
    answer = client.get("/api/v1/households/A/recommendations")
    assert answer.status_code == 200 and answer.json["carbon"]["g_per_kwh"] == 432.0
    feed.stop()


def test_forecast_costs_follow_each_good_poll_of_the_feed(make_app, server: Server) -> None:  # noqa: ANN001
    app = make_app(PRICE_FEED_URL=server.url, PRICE_FEED_TIMEOUT_S=2)
    client = app.test_client()
    ext = app.extensions["insights"]
    ext.put_tariff("A", Tariff.from_json({"type": "dynamic", "currency": "INR", "feed": True}))
    first = client.get("/api/v1/households/A/forecast?horizon_h=3")
    assert first.status_code == 200, first.json
    stamps = [h["ts"] for h in first.json["hours"]]
    assert all(h["cost"] is None for h in first.json["hours"])  # no prices yet: no cost

    def serve(price: float) -> None:
        server.body = json.dumps([{"ts": ts, "price_per_kwh": price} for ts in stamps]).encode()
        assert ext.price_feed.poll()

    serve(5.0)
    costs = [
        h["cost"] for h in client.get("/api/v1/households/A/forecast?horizon_h=3").json["hours"]
    ]
    p50 = [h["energy_kwh"]["p50"] for h in first.json["hours"]]
    assert costs == pytest.approx([5.0 * e for e in p50], rel=1e-3)
    serve(10.0)  # the same tariff revision, new prices: not the cached answer
    again = client.get("/api/v1/households/A/forecast?horizon_h=3").json["hours"]
    assert [h["cost"] for h in again] == pytest.approx([2 * c for c in costs], rel=1e-3)


def test_a_feed_keeps_a_bounded_span_of_prices(tmp_path: Path):
    path = tmp_path / "prices.json"
    feed = PriceFeed(str(path))
    path.write_text(json.dumps(hours(2)))
    assert feed.poll() and len(feed.prices) == 2
    later = T0 + pd.Timedelta(days=60)
    path.write_text(json.dumps(hours(2, later)))
    assert feed.poll()
    assert list(feed.prices.index) == [later, later + pd.Timedelta(hours=1)]


def test_a_schedule_prices_a_feed_tariffs_unpriced_hours_at_the_mean():
    from server.control.schedules import insights_inputs

    class Households:
        def info(self, household: str):  # noqa: ANN201
            return type("Info", (), {"timezone": "Europe/London"})()

    tariff = Tariff.from_json({"type": "dynamic", "currency": "GBP", "feed": True})
    tariff = tariff.with_prices(parse_prices(json.dumps(hours(2)).encode(), csv=False))

    class Service:
        def tariff(self, household: str):  # noqa: ANN201
            return tariff, "stored", 1

        def carbon_of(self, household: str) -> None:
            return None

        def forecast(self, household: str, horizon_h: int):  # noqa: ANN201
            raise RuntimeError("no forecast yet")

    inputs = insights_inputs(Service(), Households())("L1", int(T0.timestamp()), 4)
    assert list(inputs.price_per_kwh) == pytest.approx([0.2, 0.21, 0.205, 0.205])
    assert inputs.currency == "GBP" and "2 h unpriced, at the mean" in inputs.sources["tariff"]
