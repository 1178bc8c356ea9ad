"""HTTP ingest and history: auth, limits, partial rejects, idempotency, dead letters, metrics,
the streams' broker, query resolutions and statistics from stored history."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose

from server.storage import DeadLetters

URL = "/api/v1/households/L1/readings"


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _minute_start() -> int:
    now = int(time.time())
    return now - now % 3600 - 3600  # an hour boundary in the past, inside the retention


def _post(client, key, readings):  # noqa: ANN001, ANN202
    return client.post(URL, json={"readings": readings}, headers=_auth(key))


def test_needs_a_registered_household_and_its_key(client, live_key) -> None:  # noqa: ANN001
    body = {"readings": [{"ts": int(time.time()), "power_kw": {"AC": 1.0}}]}
    r = client.post(URL, json=body)
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    r = client.post(URL, json=body, headers=_auth("gl_000000000000_nope"))
    assert r.status_code == 401
    r = client.post("/api/v1/households/A/readings", json=body, headers=_auth(live_key))
    assert r.status_code == 404 and "not registered for ingest" in r.json["error"]["message"]
    r = client.post(URL, data="not json", headers=_auth(live_key))
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_json"


def test_partial_rejects_idempotency_dead_letters_and_stream(app, client, live_key) -> None:  # noqa: ANN001
    t0 = _minute_start()
    readings = [
        {"ts": t0, "power_kw": {"AC": 1.0, "Overall": 2.0}},
        {"ts": t0 + 1, "power_kw": {"AC": "high", "Overall": 2.2}},
        {"ts": t0 + 2, "channel": "Fridge", "power_kw": 0.1},
        {"ts": t0 + 3, "channel": "Overall", "power_kw": -0.5},
        {"ts": t0 + 4, "power_kw": {"Overall": None}},
    ]
    r = _post(client, live_key, readings)
    assert r.status_code == 207, r.json
    assert r.json["accepted"] == 5 and r.json["duplicates"] == 0
    assert [(x["index"], x.get("channel")) for x in r.json["rejected"]] == [
        (1, "AC"),
        (2, "Fridge"),
    ]
    assert "'high'" in r.json["rejected"][0]["reason"]
    again = _post(client, live_key, readings[:1] + readings[3:])
    assert again.status_code == 200
    assert again.json == {"accepted": 0, "duplicates": 4, "rejected": []}
    dead = DeadLetters(app.extensions["gridlight"].db).recent(household="L1")
    assert len(dead) == 1 and dead[0].source == "http" and "Fridge" in dead[0].reason
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "gridlight_ingest_rejected_total 2" in metrics
    assert "gridlight_ingest_readings_accepted_total 5" in metrics
    assert "gridlight_ingest_duplicates_total 4" in metrics
    # only newly stored readings reach the stream, grouped by second
    entries = app.extensions["gridlight"].broker.range("L1", None, 100)
    assert [e[1]["power_kw"] for e in entries] == [
        {"AC": 1.0, "Overall": 2.0},
        {"Overall": 2.2},
        {"Overall": -0.5},
        {"Overall": None},
    ]


def test_everything_rejected_is_422(client, live_key) -> None:  # noqa: ANN001
    r = _post(client, live_key, [{"ts": "nope", "power_kw": {"AC": 1}}])
    assert r.status_code == 422 and r.json["accepted"] == 0
    assert "'nope' is not a timestamp" in r.json["rejected"][0]["reason"]


def test_limits_answer_413(app, client, live_key) -> None:  # noqa: ANN001
    app.config["INGEST_MAX_READINGS"] = 3
    t0 = _minute_start()
    r = _post(client, live_key, [{"ts": t0 + i, "power_kw": {"AC": 1.0}} for i in range(4)])
    assert r.status_code == 413 and r.json["error"]["code"] == "payload_too_large"
    assert "4 readings" in r.json["error"]["message"]
    app.config["INGEST_MAX_BODY_BYTES"] = 200
    r = _post(client, live_key, [{"ts": t0, "power_kw": {"AC": 1.0 + i / 7}} for i in range(3)] * 3)
    assert r.status_code == 413 and r.is_json and "error" in r.json


def test_query_resolutions(client, live_key) -> None:  # noqa: ANN001
    t0 = _minute_start()
    values = [float(i % 10) for i in range(1800)]
    readings = [{"ts": t0 + i, "power_kw": {"Overall": v}} for i, v in enumerate(values)]
    readings[5]["power_kw"]["AC"] = 0.5
    assert _post(client, live_key, readings).status_code == 200
    q = f"{URL}?from={t0}&to={t0 + 1800}"
    raw = client.get(q + "&resolution=raw", headers=_auth(live_key)).json["readings"]
    assert len(raw) == 1800 and raw[5]["power_kw"] == {"AC": 0.5, "Overall": 5.0}
    assert raw[6]["power_kw"]["AC"] is None
    minute = client.get(q + "&resolution=1m", headers=_auth(live_key)).json["readings"]
    assert len(minute) == 30
    assert_allclose([m["power_kw"]["Overall"] for m in minute], np.full(30, 4.5))
    assert minute[0]["count"] == {"AC": 1, "Overall": 60}
    assert (minute[0]["min_kw"]["Overall"], minute[0]["max_kw"]["Overall"]) == (0.0, 9.0)
    quarter = client.get(q + "&resolution=15m", headers=_auth(live_key)).json["readings"]
    assert [x["count"]["Overall"] for x in quarter] == [900, 900]
    iso_from = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0))
    hour = client.get(
        f"{URL}?from={iso_from}&to={t0 + 3600}&resolution=1h", headers=_auth(live_key)
    ).json
    assert hour["from"] == iso_from and len(hour["readings"]) == 1
    assert_allclose(hour["readings"][0]["power_kw"]["Overall"], 4.5)
    assert client.get(q + "&resolution=1d", headers=_auth(live_key)).status_code == 200
    for bad, message in (
        (q + "&resolution=2m", "resolution must be one of"),
        (f"{URL}?from={t0}&to={t0 + 2 * 86_400}&resolution=raw", "spans at most"),
        (f"{URL}?from={t0}&to={t0}", "must be after"),
    ):
        r = client.get(bad, headers=_auth(live_key))
        assert r.status_code == 400 and message in r.json["error"]["message"], r.json
    r = client.get(f"{URL}?from=soon&resolution=raw", headers=_auth(live_key))
    assert r.status_code == 400 and "from" in r.json["error"]["message"]
    assert client.get(q).status_code == 401


def test_the_readings_of_chosen_channels_only(client, live_key) -> None:  # noqa: ANN001
    t0 = _minute_start()
    readings = [
        {"ts": t0 + i, "power_kw": {"Overall": 2.0, "AC": 0.5, "Geyser": 1.0}} for i in range(120)
    ]
    assert _post(client, live_key, readings).status_code == 200
    q = f"{URL}?from={t0}&to={t0 + 120}"
    raw = client.get(q + "&resolution=raw&channels=AC", headers=_auth(live_key)).json
    assert len(raw["readings"]) == 120 and raw["readings"][0]["power_kw"] == {"AC": 0.5}
    both = client.get(q + "&channels=Overall, AC,Overall", headers=_auth(live_key)).json
    assert [set(row) & {"power_kw", "min_kw", "max_kw", "count"} for row in both["readings"]] == [
        {"power_kw", "min_kw", "max_kw", "count"}
    ] * 2
    for row in both["readings"]:
        for key in ("power_kw", "min_kw", "max_kw", "count"):
            assert set(row[key]) == {"AC", "Overall"}, row
        if "energy_kwh" in row:  # the insights' fields follow the same channels
            assert set(row["energy_kwh"]) == {"AC", "Overall"}
    everything = client.get(q, headers=_auth(live_key)).json["readings"]
    assert set(everything[0]["power_kw"]) == {"AC", "Geyser", "Overall"}
    for bad, message in (
        ("&channels=Fridge,AC", "'Fridge' not among"),
        ("&channels=,", "at least one channel"),
    ):
        r = client.get(q + bad, headers=_auth(live_key))
        assert r.status_code == 400 and message in r.json["error"]["message"], r.json


def test_live_household_listed_and_stats_from_stored_history(app, client, live_key) -> None:  # noqa: ANN001
    listed = [h["id"] for h in client.get("/api/v1/households").json["households"]]
    assert "L1" in listed and "A" in listed
    info = client.get("/api/v1/households/L1").json
    assert info["source"] == "live" and info["dataset"] is None
    app.extensions["gridlight_ingest"].pipeline.live.min_history_s = 600
    # a live household's statistics and stream are its owner's: they need its key
    for path in ("stats", "stream"):
        r = client.get(f"/api/v1/households/L1/{path}?interval=5")
        assert r.status_code == 401 and "needs its API key" in r.json["error"]["message"]
        r = client.get(f"/api/v1/households/L1/{path}?interval=5", headers=_auth("gl_wrong"))
        assert r.status_code == 401 and "not a live key" in r.json["error"]["message"]
    r = client.get("/api/v1/households/L1/stats?interval=5", headers=_auth(live_key))
    assert r.status_code == 409 and r.json["error"]["code"] == "not_enough_history"
    # its stream does not wait for statistics: values at once, levels once they exist
    # (test_live_stream.py follows one through the switch)
    r = client.get(
        "/api/v1/households/L1/stream?interval=5", headers=_auth(live_key), buffered=False
    )
    assert r.status_code == 200 and r.mimetype == "text/event-stream"
    r.close()
    # the seed's set-up follows a live household too (no start_index); it has nothing to replay
    setup = {"household": "L1", "interval": 5}
    r = client.post("/stream_setup", json=setup, headers=_auth(live_key))
    assert r.status_code == 409 and "stored readings" in r.json["error"]
    r = client.post("/stream_setup", json={**setup, "start_index": 0}, headers=_auth(live_key))
    assert r.status_code == 400 and "is live" in r.json["error"]
    t0 = _minute_start()
    quiet = [{"ts": t0 - 700 + i, "power_kw": {"Overall": 1.0}} for i in range(700)]
    assert _post(client, live_key, quiet).status_code == 200
    r = client.get("/api/v1/households/L1/stats?interval=5", headers=_auth(live_key))
    assert r.status_code == 409 and "AC (0), Geyser (0)" in r.json["error"]["message"]
    app.extensions["gridlight_ingest"].pipeline.live.refresh_s = 0  # re-read the history
    rng = np.random.default_rng(3)
    readings = [
        {
            "ts": t0 + i,
            "power_kw": {
                "AC": float(1.5 * (i % 300 < 120)),
                "Geyser": float(2.0 * (i % 600 < 60)),
                "Overall": float(0.3 + rng.gamma(2.0, 0.2)),
            },
        }
        for i in range(1200)
    ]
    assert _post(client, live_key, readings).status_code == 200
    stats = client.get("/api/v1/households/L1/stats?interval=5", headers=_auth(live_key))
    assert stats.status_code == 200, stats.json
    r = client.post("/stream_setup", json=setup, headers=_auth(live_key))
    assert r.status_code == 200, r.json
    qstats = client.get(f"/stream_qstats?stream_id={r.json['stream_id']}")
    assert qstats.status_code == 200 and qstats.json["median"] == stats.json["median"]
    overall = [r["power_kw"]["Overall"] for r in readings]
    means = np.asarray([1.0] * 700 + overall).reshape(-1, 5).mean(axis=1)
    assert_allclose(stats.json["median"]["Overall"], np.median(means), rtol=1e-6)
    assert math.isfinite(stats.json["rt_critical_value_0.01"]["Overall"])


@pytest.mark.parametrize("resolution", ["raw", "1m"])
def test_unknown_household_404(client, resolution) -> None:  # noqa: ANN001
    r = client.get(f"/api/v1/households/ZZ/readings?resolution={resolution}")
    assert r.status_code == 404


def test_a_database_that_is_down_answers_503_and_recovers_by_itself(
    server_data_dir, stats_cache_dir, postgres_server, postgres_url
) -> None:  # noqa: ANN001
    from server import create_app
    from tests.server.ingest.conftest import CHANNELS, keys_of

    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(server_data_dir),
            "STATS_CACHE_DIR": str(stats_cache_dir),
            "DATABASE_URL": postgres_url,
            "REDIS_URL": None,
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "RETENTION_ENABLED": False,
        }
    )
    try:
        client = app.test_client()
        _, key = keys_of(server_data_dir, app.extensions["gridlight"].db).add_household(
            "L1", CHANNELS
        )
        t0 = _minute_start()
        first = [{"ts": t0 + i, "power_kw": {"AC": 1.0, "Overall": 2.0}} for i in range(10)]
        assert _post(client, key, first).json["accepted"] == 20
        later = [{"ts": t0 + 10 + i, "power_kw": {"Overall": 3.0}} for i in range(10)]
        postgres_server.stop()
        try:
            r = _post(client, key, later)
            assert r.status_code == 503, r.json
            assert r.json["error"]["code"] == "database_unavailable"
            assert r.headers["Retry-After"] == "5"
            assert "postgres" not in r.json["error"]["message"].lower()  # no connection details
            r = client.get(URL, query_string={"from": t0, "to": t0 + 60}, headers=_auth(key))
            assert r.status_code == 503 and r.json["error"]["code"] == "database_unavailable"
            health = client.get("/healthz")
            assert health.status_code == 503 and health.json["status"] == "unavailable"
            assert health.json["database"]["kind"] == "postgresql"
            assert health.json["database"]["ok"] is False and health.json["database"]["error"]
        finally:
            postgres_server.start()
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json["database"] == {
            "kind": "postgresql",
            "ok": True,
        }
        r = _post(client, key, first + later)  # the client's retry, nothing else
        assert r.status_code == 200, r.json
        assert (r.json["accepted"], r.json["duplicates"]) == (10, 20)
        r = client.get(
            URL, query_string={"from": t0, "to": t0 + 60, "resolution": "raw"}, headers=_auth(key)
        )
        assert r.status_code == 200 and len(r.json["readings"]) == 20
    finally:
        app.extensions["gridlight"].stop()
