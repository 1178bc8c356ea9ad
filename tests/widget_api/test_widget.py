"""``GET /api/v1/households/{h}/widget``: shape, values, ETag/304, staleness, errors, access."""

from __future__ import annotations

import json

import pytest
from numpy.testing import assert_allclose

from server.stats import classify, worst
from server.streaming.bodies import encoder
from tests.widget_api.conftest import CHANNELS, OVERALL_KW, publish_window, reading

T0 = 1_900_000_200  # a multiple of 60 (2030-03-17T17:50:00Z)
URL = "/api/v1/households/A/widget"


@pytest.fixture
def demo_client(make_app):  # noqa: ANN001, ANN201
    app = make_app(DEMO=True)
    app.extensions["widget_api"].clock = lambda: T0 + 61.0
    return app, app.test_client()


def test_state_shape_and_values(demo_client):
    app, client = demo_client
    broker = app.extensions["gridlight"].broker
    ids = publish_window(broker, T0, 60, 1.0, AC=0.5)
    broker.publish("A", reading(T0 + 60, 3.0))  # the next window, in progress: not reported
    r = client.get(URL + "?interval=60")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    body = r.json
    assert list(body) == [
        "version",
        "household",
        "name",
        "as_of",
        "seq",
        "interval_s",
        "power_kw",
        "level",
        "worst",
        "message",
        "stale",
    ]
    assert body["version"] == 1
    assert body["household"] == "A"
    assert body["name"] == "Day worker's home"
    assert body["as_of"] == "2030-03-17T17:51:00Z"  # end of the window [17:50, 17:51)
    assert body["seq"] == ids[-1]
    assert body["interval_s"] == 60
    assert list(body["power_kw"]) == list(CHANNELS)
    assert_allclose([body["power_kw"][c] for c in CHANNELS], [0.5, 0.0, 1.0])
    assert body["level"]["Overall"] == "yellow"
    assert body["level"]["Geyser"] == "green"
    assert body["worst"] == worst(body["level"].values())
    assert body["stale"] is False
    assert isinstance(body["message"], str) and body["message"]
    # the default interval is 60 s
    assert client.get(URL).json == body


def test_levels_match_the_stream(demo_client):
    """The widget classifies its window exactly as the live SSE event of that window does."""
    app, client = demo_client
    gl = app.extensions["gridlight"]
    info = gl.households.info("A")
    stats = gl.stats.get("A", 60)
    channel = gl.hub.channel("A", tuple(info.channels), 60, "v1", encoder("v1", "A", stats))
    sub = channel.subscribe(16)
    publish_window(gl.broker, T0, 60, OVERALL_KW["red"], Geyser=None)
    gl.broker.publish("A", reading(T0 + 60, 0.1))
    item = sub.queue.get(timeout=10.0)  # raises queue.Empty if no event within 10 s
    event = json.loads(item[1].decode().split("data: ", 1)[1])
    body = client.get(URL).json
    assert body["level"] == event["level"]
    assert body["worst"] == event["worst"] == "critical"
    assert body["power_kw"]["Geyser"] is None  # unavailable, never 0
    assert body["seq"] == str(item[0])
    assert body["message"] == "No reading: Geyser"
    assert classify(stats, {"Overall": OVERALL_KW["red"]})["Overall"] == "red"


def test_etag_and_304(demo_client):
    app, client = demo_client
    broker = app.extensions["gridlight"].broker
    publish_window(broker, T0, 60, OVERALL_KW["green"])
    broker.publish("A", reading(T0 + 60, 0.1))
    first = client.get(URL)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 10
    assert first.headers["Cache-Control"] == "no-cache"
    again = client.get(URL, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert client.get(URL, headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get(URL, headers={"If-None-Match": f'"other", {etag}'}).status_code == 304
    assert client.get(URL, headers={"If-None-Match": '"other"'}).status_code == 200
    # the same content at another interval is another representation
    assert client.get(URL + "?interval=5").headers["ETag"] != etag
    # a newer window changes the state and its tag
    publish_window(broker, T0 + 60, 60, OVERALL_KW["red"])
    broker.publish("A", reading(T0 + 120, 0.1))
    app.extensions["widget_api"].clock = lambda: T0 + 121.0
    newer = client.get(URL, headers={"If-None-Match": etag})
    assert newer.status_code == 200
    assert newer.headers["ETag"] != etag
    assert newer.json["worst"] == "red"
    assert newer.json["message"] == "Unusually high: Overall"


def test_stale_when_the_meter_went_silent(demo_client):
    app, client = demo_client
    broker = app.extensions["gridlight"].broker
    ids = publish_window(broker, T0, 30, OVERALL_KW["green"])  # silent from T0 + 30
    grace_s = app.config["SILENT_GRACE_S"]
    app.extensions["widget_api"].clock = lambda: T0 + 60 + grace_s - 1
    assert client.get(URL).json["seq"] == "0-0"  # no complete window yet
    app.extensions["widget_api"].clock = lambda: T0 + 60 + grace_s
    body = client.get(URL).json
    assert body["stale"] is True
    assert body["seq"] == ids[-1]
    assert body["message"] == "No recent readings"
    assert_allclose(body["power_kw"]["Overall"], OVERALL_KW["green"])


def test_no_readings(demo_client):
    _, client = demo_client
    body = client.get(URL).json
    assert body["seq"] == "0-0"
    assert body["stale"] is True
    assert body["worst"] is None
    assert body["power_kw"] == dict.fromkeys(CHANNELS)
    assert body["message"] == "No readings yet"


def test_an_empty_window_is_critical_with_the_previous_seq(demo_client):
    app, client = demo_client
    broker = app.extensions["gridlight"].broker
    ids = publish_window(broker, T0 - 60, 60, OVERALL_KW["green"])
    broker.publish("A", reading(T0 + 60, 0.1))  # nothing in [T0, T0 + 60)
    body = client.get(URL).json
    assert body["seq"] == ids[-1]
    assert body["power_kw"] == dict.fromkeys(CHANNELS)
    assert body["worst"] == "critical"
    assert body["stale"] is False
    assert body["message"] == "No readings this interval"


@pytest.mark.parametrize(
    ("url", "status", "code", "message"),
    [
        ("/api/v1/households/Q/widget", 404, "unknown_household", "unknown household 'Q'"),
        (URL + "?interval=abc", 400, "invalid_parameter", "got 'abc'"),
        (URL + "?interval=0", 400, "invalid_parameter", "positive, got 0"),
        (URL + "?interval=3601", 400, "invalid_parameter", "at most 3600 s, got 3601"),
    ],
)
def test_errors(demo_client, url, status, code, message):
    _, client = demo_client
    r = client.get(url)
    assert r.status_code == status
    assert r.json["error"]["code"] == code
    assert message in r.json["error"]["message"]


def test_cors_in_demo_mode(demo_client):
    _, client = demo_client
    r = client.get(URL, headers={"Origin": "https://demo.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in r.headers["Access-Control-Expose-Headers"]


def test_outside_demo_mode_a_key_is_needed(app, keys):
    client = app.test_client()
    r = client.get(URL)
    assert r.status_code == 401
    assert r.json["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(URL, headers={"Authorization": f"Bearer {keys['Z']}"}).status_code == 401
    ok = client.get(URL, headers={"Authorization": f"Bearer {keys['A']}"})
    assert ok.status_code == 200
    assert ok.json["household"] == "A"


def test_a_window_is_reported_once_its_last_second_is_in(demo_client):
    """As the stream: the reading of a window's last second closes it."""
    app, client = demo_client
    broker = app.extensions["gridlight"].broker
    older = publish_window(broker, T0 - 60, 60, OVERALL_KW["green"])
    ids = publish_window(broker, T0, 59, OVERALL_KW["red"])  # up to T0 + 58
    assert client.get(URL).json["seq"] == older[-1]
    ids.append(broker.publish("A", reading(T0 + 59, OVERALL_KW["red"])))
    body = client.get(URL).json
    assert body["seq"] == ids[-1]
    assert body["worst"] == "red"


def test_a_live_household_without_enough_history_has_values_but_no_lights(app, keys):
    broker = app.extensions["gridlight"].broker
    app.extensions["widget_api"].clock = lambda: T0 + 61.0
    for i in range(61):
        broker.publish("Z", {"ts": T0 + i, "power_kw": {"Overall": 0.5}})
    r = app.test_client().get(
        "/api/v1/households/Z/widget", headers={"Authorization": f"Bearer {keys['Z']}"}
    )
    assert r.status_code == 200, r.json
    body = r.json
    assert body["power_kw"] == {"Overall": 0.5}
    assert body["level"] == {"Overall": None}
    assert body["worst"] is None
    assert body["message"] == "Learning this home's usual use"
    assert body["stale"] is False
