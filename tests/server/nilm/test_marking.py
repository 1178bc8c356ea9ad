"""Estimated channels are marked wherever they appear: a dataset written by ``python -m server
nilm apply`` (household B with an estimated AC) served beside a metered one (household A), through
the household description and list, the statistics, the v1 stream's reading events (replay and
live), and the widget state; the metered household has none of the fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from jsonschema import Draft202012Validator

from generator.dataset import Dataset, write_dataset
from generator.times import format_ts
from server import create_app
from server.cli import main
from server.openapi import build_spec
from tests.server.nilm.conftest import UNTIL, minute_dataset

DAYS = 2
T0 = 1_900_000_200  # a multiple of 60
SPEC = build_spec()


def conforms(body: dict, schema: str) -> dict:
    """``body`` after checking it against the OpenAPI document's ``schema``."""
    ref = {"$ref": f"#/components/schemas/{schema}", "components": SPEC["components"]}
    Draft202012Validator(ref).validate(body)
    return body


@pytest.fixture(scope="module")
def marking_data_dir(nilm_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``est``: B's Overall and its AC estimated by a model trained on A (``nilm train`` then
    ``nilm apply``); ``metered``: A with its real sub-meters. Two days at 1 minute each."""
    root = tmp_path_factory.mktemp("marking")
    model = root / "a-ac.model"
    args = ["nilm", "train", "--dataset", str(nilm_dir), "--household", "A", "--appliance"]
    assert main([*args, "AC", "--until", UNTIL.isoformat(), "--out", str(model)]) == 0
    small = minute_dataset(days=DAYS)
    source = write_dataset(small, root / "source")
    data = root / "data"
    data.mkdir()
    args = ["nilm", "apply", "--dataset", str(source), "--household", "B", "--model", str(model)]
    assert main([*args, "--out", str(data / "est")]) == 0
    metered = Dataset(
        households={"A": small.households["A"]},
        table=small.table[[c for c in small.table.columns if c.startswith("A_")]],
    )
    write_dataset(metered, data / "metered")
    return data


@pytest.fixture
def app(marking_data_dir: Path, tmp_path: Path) -> Iterator[Flask]:
    data = tmp_path / "data"  # this test's own (its SQLite file), linking the module's datasets
    data.mkdir()
    for name in ("est", "metered"):
        (data / name).symlink_to(marking_data_dir / name, target_is_directory=True)
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(data),
            "STATS_CACHE_DIR": str(marking_data_dir / "stats-cache"),
            "REDIS_URL": None,
            "DEMO": True,
            "DEMO_HOUSEHOLDS": ["A", "B"],
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "PUSH_ENABLED": False,
        }
    )
    yield app
    if "widget_api" in app.extensions:
        app.extensions["widget_api"].stop()
    app.extensions["gridlight"].stop()


@pytest.fixture
def client(app: Flask):  # noqa: ANN201
    return app.test_client()


def test_household_description_and_list(client):
    est = conforms(client.get("/api/v1/households/B").json, "Household")
    assert est["channels"] == ["Overall", "AC"]
    assert est["estimated"] == ["AC"]
    assert est["estimates"]["AC"]["trained_on"]["household"] == "A"
    metered = client.get("/api/v1/households/A").json
    assert "estimated" not in metered and "estimates" not in metered
    listed = {h["id"]: h for h in client.get("/api/v1/households").json["households"]}
    assert listed["B"]["estimated"] == ["AC"]
    assert "estimated" not in listed["A"]


def test_stats_mark_estimated_channels(client):
    body = conforms(client.get("/api/v1/households/B/stats?interval=60").json, "QuickStats")
    assert body["estimated"] == ["AC"]
    assert set(body["median"]) == {"Overall", "AC"}
    assert list(body)[-1] == "estimated"
    assert "estimated" not in client.get("/api/v1/households/A/stats?interval=60").json


def _readings(data: bytes) -> list[dict]:
    events = []
    for block in data.decode().split("\n\n"):
        lines = block.split("\n")
        if "event: reading" in lines:
            events.append(json.loads(next(ln for ln in lines if ln.startswith("data: "))[6:]))
    return events


def test_replayed_reading_events_are_marked(client):
    r = client.get("/api/v1/households/B/stream?interval=60&start_index=0&speed=1000&limit=2")
    events = [conforms(e, "ReadingEvent") for e in _readings(r.data)]
    assert len(events) == 2
    assert all(e["estimated"] == ["AC"] and set(e["power_kw"]) == {"Overall", "AC"} for e in events)
    r = client.get("/api/v1/households/A/stream?interval=60&start_index=0&speed=1000&limit=2")
    events = _readings(r.data)
    assert len(events) == 2 and all("estimated" not in e for e in events)


def _publish(broker, household: str, start: int, power: dict, windows: int = 2) -> list[str]:
    """Readings every 10 s over ``windows`` 1-minute windows from ``start`` (the last second of
    each closes it), then one in the window after; their broker ids."""
    ids = []
    for w in range(windows):
        for t in [*range(start + 60 * w, start + 60 * w + 60, 10), start + 60 * w + 59]:
            ids.append(broker.publish(household, {"ts": format_ts(t), "power_kw": power}))
    end = start + 60 * windows
    ids.append(broker.publish(household, {"ts": format_ts(end), "power_kw": power}))
    return ids


def test_live_reading_events_and_widget_state_are_marked(app, client):
    gl = app.extensions["gridlight"]
    app.extensions["widget_api"].clock = lambda: T0 + 121.0
    ids = _publish(gl.broker, "B", T0, {"Overall": 1.0, "AC": 0.5})
    # caught up from the history after the first reading: the second window
    url = "/api/v1/households/B/stream?interval=60&limit=1"
    events = _readings(client.get(url, headers={"Last-Event-ID": ids[0]}).data)
    assert len(events) == 1
    assert events[0]["estimated"] == ["AC"] and list(events[0])[-1] == "estimated"
    assert events[0]["power_kw"] == {"Overall": 1.0, "AC": 0.5}
    assert events[0]["level"]["AC"] is not None

    state = conforms(client.get("/api/v1/households/B/widget?interval=60").json, "WidgetState")
    assert state["estimated"] == ["AC"] and list(state)[-1] == "estimated"
    assert state["power_kw"] == {"Overall": 1.0, "AC": 0.5}

    ids = _publish(gl.broker, "A", T0, {"Overall": 1.0, "AC": 0.5, "Geyser": 0.0})
    url = "/api/v1/households/A/stream?interval=60&limit=1"
    events = _readings(client.get(url, headers={"Last-Event-ID": ids[0]}).data)
    assert len(events) == 1 and "estimated" not in events[0]
    assert "estimated" not in client.get("/api/v1/households/A/widget?interval=60").json


def test_widget_page_shows_an_est_mark(client):
    page = client.get("/widget/B").get_data(as_text=True)
    assert "state.estimated" in page and "est." in page
