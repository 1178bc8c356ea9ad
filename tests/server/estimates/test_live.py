"""Live estimates end to end, on real components: a causal AC model trained on synthetic household
A (three days at 1 min), attached with ``python -m server nilm attach`` to a live household that
reports A's Overall over HTTP ingest, with Redis as the broker and the estimator's lease.

Readings are back-dated (two days ago, one a minute), so the windows close as readings arrive, not
on the wall clock; ``SILENT_GRACE_S`` is long so the hub never calls the meter silent meanwhile.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from generator.times import format_ts, parse_ts
from server.errors import UnknownHousehold
from server.estimates import ApplianceMetered, InvalidModel, attach_model
from server.nilm import Disaggregator
from server.storage import KeyStore, Reading, ReadingStore
from server.storage.database import command_database
from server.storage.estimators import EstimatorStore
from tests.server.estimates.conftest import TZ, R, ac_entries, cli, live_household
from tests.wait import wait_for


def test_an_attached_model_estimates_a_live_household_as_readings_arrive(make_app, trained):  # noqa: ANN001
    model: Disaggregator = trained["model"]
    need = model.context_samples
    overall = trained["overall_kw"]
    app = make_app()
    client = app.test_client()
    t0, key, post = live_household(app, trained)
    n = need + 6

    def ts(i: int) -> int:
        return t0 + i * R

    def described() -> dict:
        r = client.get("/api/v1/households/L")
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()

    waiting = need - 10
    post(0, waiting)  # too little history for the model's context
    assert "estimated" not in described()
    data_dir = app.config["DATA_DIR"]
    assert (
        cli("attach", "--household", "L", "--model", str(trained["path"]), "--data-dir", data_dir)
        == 0
    )
    engine = app.extensions["estimates"].engine
    wait_for(
        lambda: engine.listener("L") is not None and "AC" in engine.listener("L").models,
        what="the estimator to load the attached model",
        timeout_s=30.0,
    )
    wait_for(
        lambda: engine.job.followings["L"].subscribed.is_set(), what="L followed", timeout_s=30.0
    )
    body = described()
    assert body["channels"] == ["Overall", "AC"]
    assert body["estimated"] == ["AC"]
    assert body["estimates"]["AC"]["model_resolution_s"] == R
    assert body["estimates"]["AC"]["need_samples"] == need

    post(waiting, waiting + 1)  # closes the window before: not enough history yet
    wait_for(
        lambda: described()["estimates"]["AC"]["state"] == "waiting_for_history",
        what="the waiting state",
        timeout_s=30.0,
    )
    state = described()["estimates"]["AC"]
    assert (state["have_samples"], state["need_samples"]) == (waiting, need)
    assert ac_entries(app, "L") == []

    post(waiting + 1, n)  # enough: windows need-1 .. n-2 are estimated as they close
    expected = list(range(need - 1, n - 1))
    wait_for(
        lambda: len(ac_entries(app, "L")) == len(expected), what="the estimates", timeout_s=30.0
    )
    found = ac_entries(app, "L")
    for (at_s, value, _), k in zip(found, expected, strict=True):
        tail = model.predict_tail(
            overall[k - need + 1 : k + 1], pd.Timestamp(ts(k), unit="s", tz="UTC"), TZ
        )
        assert tail.ts == pd.Timestamp(ts(k), unit="s", tz="UTC")
        assert at_s == ts(k + 1)  # written when known: at the start of the next window
        assert value == round(tail.power_kw, 6)
    values = [v for _, v, _ in found]
    assert max(values) * 1000 > model.on_threshold_w, values  # the AC seen on, from Overall
    assert min(values) * 1000 < model.on_threshold_w, values  # and off
    wait_for(
        lambda: described()["estimates"]["AC"]["state"] == "estimating",
        what="estimating state",
        timeout_s=30.0,
    )
    # written when the state changes, then at most every 30 s
    assert described()["estimates"]["AC"]["last_estimate_of"] in {
        format_ts(ts(k)) for k in expected
    }
    # the widget's state (its last window from the stream) marks the channel estimated
    r = client.get(
        "/api/v1/households/L/widget?interval=60", headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["estimated"] == ["AC"], r.get_json()
    # a widget finer than the model shows the latest estimate held over its minute, as a 1 s
    # stream does: a second in the middle of the minute has an Overall reading and no AC one
    mid = ts(n - 1) + R // 2
    r = client.post(
        "/api/v1/households/L/readings",
        json={"readings": [{"ts": mid, "power_kw": {"Overall": float(overall[n - 1])}}]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    r = client.get(
        "/api/v1/households/L/widget?interval=1", headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    state = r.get_json()
    assert state["as_of"] == format_ts(mid + 1), state
    assert state["power_kw"]["AC"] == round(found[-1][1], 3), (state, found[-1])
    assert state["estimated"] == ["AC"], state
    # stored like a meter's readings: the history has them, marked by the description
    r = client.get(
        f"/api/v1/households/L/readings?from={format_ts(t0)}&to={format_ts(ts(n))}&resolution=raw",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.get_data(as_text=True)
    history = r.get_json()
    assert history["estimated"] == ["AC"]
    stored = {
        parse_ts(row["ts"]): row["power_kw"]["AC"]
        for row in history["readings"]
        if row["power_kw"].get("AC") is not None
    }
    assert stored == {at_s: value for at_s, value, _ in found}

    # detached: the estimator lets the household go and writes nothing more
    assert cli("detach", "--household", "L", "--appliance", "AC", "--data-dir", data_dir) == 0
    wait_for(lambda: "L" not in engine.job.followings, what="L let go", timeout_s=30.0)
    post(n, n + 3)
    assert len(ac_entries(app, "L")) == len(expected)
    assert "estimated" not in described()


def test_a_model_attached_with_the_households_rating_estimates_at_that_size(make_app, trained):  # noqa: ANN001
    """``nilm attach --rated-w``: the household's AC draws 2.2 kW where the model learned about
    1.5 kW; the live estimates are the rated model's, as offline, and the description says so."""
    model: Disaggregator = trained["model"].rated(2200.0)
    need = model.context_samples
    overall = trained["overall_kw"]
    app = make_app()
    client = app.test_client()
    t0, _, post = live_household(app, trained)
    post(0, need - 1)
    data_dir = app.config["DATA_DIR"]
    attach = ("attach", "--household", "L", "--model", str(trained["path"]))
    assert cli(*attach, "--rated-w", "2200", "--data-dir", data_dir) == 0
    engine = app.extensions["estimates"].engine
    wait_for(
        lambda: engine.listener("L") is not None and "AC" in engine.listener("L").models,
        what="the estimator to load the attached model",
        timeout_s=30.0,
    )
    assert engine.listener("L").models["AC"].model.rated_w == 2200.0
    wait_for(
        lambda: engine.job.followings["L"].subscribed.is_set(), what="L followed", timeout_s=30.0
    )
    described = client.get("/api/v1/households/L").get_json()["estimates"]["AC"]
    assert described["rated_w"] == 2200.0
    assert described["on_level_w"] == trained["model"].header["on_level_w"]
    assert described["on_threshold_w"] == pytest.approx(model.on_threshold_w, abs=0.05)
    assert described["on_threshold_w"] > trained["model"].on_threshold_w

    post(need - 1, need + 3)  # windows need-1 .. need+1 close and are estimated
    expected = list(range(need - 1, need + 2))
    wait_for(
        lambda: len(ac_entries(app, "L")) == len(expected), what="the estimates", timeout_s=30.0
    )
    unrated = trained["model"]
    scaled = 0
    for (_, value, _), k in zip(ac_entries(app, "L"), expected, strict=True):
        at = pd.Timestamp(t0 + k * R, unit="s", tz="UTC")
        tail = model.predict_tail(overall[k - need + 1 : k + 1], at, TZ)
        assert value == round(tail.power_kw, 6)
        plain = unrated.predict_tail(overall[k - need + 1 : k + 1], at, TZ).power_kw
        scaled += value != round(plain, 6)
    assert scaled, "the rating changed no estimate"


def test_bad_attachments_are_refused_with_the_reason(make_app, trained):  # noqa: ANN001
    app = make_app(NILM_ENABLED=False)
    gl = app.extensions["gridlight"]
    db = command_database(app.config["DATA_DIR"])
    try:
        keys, store, readings = KeyStore(db), EstimatorStore(db), ReadingStore(db)
        data = Path(trained["path"]).read_bytes()
        now = time.time()
        with pytest.raises(UnknownHousehold, match="'nobody'"):
            attach_model(keys, store, readings, "nobody", data, now)
        gl.keys.add_household("M", ("AC", "Overall"), timezone=TZ)
        with pytest.raises(ApplianceMetered, match="meters 'AC' itself") as err:
            attach_model(keys, store, readings, "M", data, now)
        assert err.value.status == 409
        gl.keys.add_household("S", ("Overall",), timezone=TZ)
        with pytest.raises(InvalidModel, match="centred") as err:
            attach_model(keys, store, readings, "S", Path(trained["centred"]).read_bytes(), now)
        assert err.value.status == 400
        with pytest.raises(InvalidModel, match="not a usable"):
            attach_model(keys, store, readings, "S", b"GRIDLIGHT-NILM/1\n{}\nxx", now)
        with pytest.raises(
            InvalidModel, match=r"rated_w: a rating of 100 W is not within \d+-\d+ W"
        ):
            attach_model(keys, store, readings, "S", data, now, rated_w=100.0)
        start = int(now) - int(now) % 300 - 3600
        readings.write(
            [Reading("S", "Overall", start + 300 * i, 0.5) for i in range(6)]  # every 5 min
        )
        with pytest.raises(
            InvalidModel, match="reports every 300 s.*coarser than the model's 60 s"
        ):
            attach_model(keys, store, readings, "S", data, now)
        assert store.list() == []
    finally:
        db.dispose()


def test_an_erased_household_is_let_go_at_once_and_its_models_are_gone(make_app, trained):  # noqa: ANN001
    app = make_app(NILM_SYNC_S=3600.0)  # no periodic sync: only the removal can let L go
    gl = app.extensions["gridlight"]
    gl.keys.add_household("L", ("Overall",), timezone=TZ)
    data_dir = app.config["DATA_DIR"]
    assert (
        cli("attach", "--household", "L", "--model", str(trained["path"]), "--data-dir", data_dir)
        == 0
    )
    engine = app.extensions["estimates"].engine
    engine.sync()
    wait_for(lambda: "L" in engine.job.followings, what="L followed", timeout_s=30.0)
    gl.erase_household("L", data_dir)
    assert "L" not in engine.job.followings  # this worker's forgetters run before the answer
    assert app.extensions["estimates"].store.list() == []
    engine.sync()
    assert "L" not in engine.job.followings
