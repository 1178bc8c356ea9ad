"""The seed's routes: request and response shapes, per-client set-ups, legacy line format."""

from __future__ import annotations

import itertools
import json
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose

LINE = re.compile(r"^data: (\{.*\}) status: (\{.*\})$")


def setup(client, **body):  # noqa: ANN001, ANN201
    return client.post("/stream_setup", json=body)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"household": "Z", "interval": 5}, "unknown household 'Z'"),
        ({"household": "A"}, "interval is required"),
        ({"household": "A", "interval": "five"}, "got 'five'"),
        ({"household": "A", "interval": 2.5}, "got 2.5"),
        ({"household": "A", "interval": 0}, "expected a positive whole number of seconds, got 0"),
        ({"household": "A", "interval": 10**6}, "at most 86400 s, got 1000000"),
        ({"household": "A", "interval": True}, "got True"),
        ({"household": "A", "interval": 5, "start_index": 10**9}, "outside the data"),
        ({"household": "A", "interval": 5, "start_index": -3}, "start_index: expected a dataset"),
        ({"household": "A", "interval": 5, "speed": 0}, "speed: expected a positive number"),
        ({"household": "A", "interval": 5, "speed": 5000}, "speed must be at most 1000"),
        ({"interval": 5}, "household is required: a household id such as 'A'"),
        ({"household": 5, "interval": 5}, "household: expected a household id such as 'A', got 5"),
    ],
)
def test_setup_rejects_bad_input_with_the_seeds_shape(client, body, message):
    r = setup(client, **body)
    assert r.status_code == 400
    assert isinstance(r.json["error"], str) and message in r.json["error"]


def test_setup_takes_the_seeds_numbers_written_as_strings(client):
    r = setup(client, household="A", interval="5", start_index="3600", speed="2.5")
    assert r.status_code == 200, r.json
    r = setup(client, household="A", interval=5, start_index="", speed="")
    assert r.status_code == 200, r.json


def test_setup_checks_the_household_and_its_key_before_the_other_fields(app, client):
    app.config["DEMO_HOUSEHOLDS"] = ["B"]  # A needs its key here
    r = setup(client, household="A", interval="five")
    assert r.status_code == 401 and "needs its API key" in r.json["error"]
    r = setup(client, household="Z", interval="five")
    assert r.status_code == 400 and "unknown household 'Z'" in r.json["error"]


@pytest.mark.parametrize("raw", ["not json", "{'household': 'A'}", "[1, 2]", ""])
def test_setup_body_not_json_is_400_json_not_html(client, raw):
    r = client.post("/stream_setup", data=raw, content_type="application/json")
    assert r.status_code == 400
    assert r.content_type == "application/json"
    assert "JSON" in r.json["error"]


def test_qstats_and_data_need_a_setup(client):
    for url in ("/stream_qstats", "/stream_data", "/stream_qstats?stream_id=unknown-id-123"):
        r = client.get(url)
        assert r.status_code == 404
        assert r.json == {"error": "First try stream_setup."}


def test_setup_then_qstats(client):
    r = setup(client, household="A", interval=5)
    assert r.status_code == 200
    assert r.json["status"] == "Streaming setup and stats calculation successful"
    assert "stream_id=" in r.headers["Set-Cookie"]
    stats = client.get("/stream_qstats").json
    assert list(stats)[:5] == [
        "25p",
        "median",
        "75p",
        "rt_critical_value_0.01",
        "best_distribution",
    ]


def legacy_events(response, n):  # noqa: ANN001, ANN201
    out = []
    text = ""
    for chunk in itertools.islice(response.response, 50):
        text += chunk.decode()
        out = [b for b in text.split("\n\n") if "data: " in b]
        if len(out) >= n:
            break
    response.close()
    return out[:n]


def test_two_clients_setups_do_not_interfere(app, dataset):
    a, b = app.test_client(), app.test_client()
    sa = setup(a, household="A", interval=5, start_index=3600, speed=1000).json["stream_id"]
    sb = setup(b, household="B", interval=5, start_index=7200, speed=1000).json["stream_id"]
    assert sa != sb
    frame_a = dataset.frame("A", faulty=True)
    frame_b = dataset.frame("B", faulty=True)
    for client, frame, start in ((a, frame_a, 3600), (b, frame_b, 7200)):
        blocks = legacy_events(client.get("/stream_data"), 3)
        assert len(blocks) == 3
        for k, block in enumerate(blocks):
            lines = block.strip().split("\n")
            assert lines[0] == f"id: {start + 5 * k}"
            m = LINE.match(lines[1])
            assert m, lines[1]
            values, colours = json.loads(m[1]), json.loads(m[2])
            assert "NaN" not in lines[1]
            expected = frame.iloc[start + 5 * k : start + 5 * k + 5].mean()
            for channel, value in values.items():
                assert colours[channel] in {"Green", "Yellow", "Red", "Critical Red"}
                if np.isnan(expected[channel]):
                    assert value is None and colours[channel] == "Critical Red"
                else:
                    assert_allclose(value, expected[channel], atol=1e-6)
    # the same set-ups chosen by ?stream_id= from a client without cookies
    other = app.test_client(use_cookies=False)
    assert other.get(f"/stream_qstats?stream_id={sb}").status_code == 200
    blocks = legacy_events(other.get(f"/stream_data?stream_id={sa}"), 1)
    assert blocks[0].startswith("id: 3600")


def test_missing_values_are_null_and_critical_red(app, dataset):
    frame = dataset.frame("A", faulty=True)
    missing = np.flatnonzero(frame["Overall"].isna().rolling(5).sum().to_numpy() == 5)
    start = int(missing[0]) - 4
    client = app.test_client()
    setup(client, household="A", interval=5, start_index=start, speed=1000)
    (block,) = legacy_events(client.get("/stream_data"), 1)
    m = LINE.match(block.strip().split("\n")[1])
    values, colours = json.loads(m[1]), json.loads(m[2])
    assert values["Overall"] is None
    assert colours["Overall"] == "Critical Red"
