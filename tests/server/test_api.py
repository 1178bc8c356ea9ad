"""JSON routes, error shapes and validation, with Flask's test client."""

from __future__ import annotations

import pytest

from server import create_app


def test_households(client):
    r = client.get("/api/v1/households")
    assert r.status_code == 200
    ids = [h["id"] for h in r.json["households"]]
    assert ids == ["A", "B", "C"]
    assert r.json["households"][0]["channels"] == ["AC", "Geyser", "Overall"]
    one = client.get("/api/v1/households/B").json
    assert one["id"] == "B" and one["timezone"] == "Asia/Kolkata"
    assert one["data"]["span_s"] == 2 * 86_400


def test_stats_have_the_seed_keys(client):
    r = client.get("/api/v1/households/A/stats?interval=5")
    assert r.status_code == 200
    assert list(r.json)[:5] == [
        "25p",
        "median",
        "75p",
        "rt_critical_value_0.01",
        "best_distribution",
    ]
    assert set(r.json["75p"]) == {"AC", "Geyser", "Overall"}


@pytest.mark.parametrize(
    ("url", "status", "code", "message"),
    [
        ("/api/v1/households/Z", 404, "unknown_household", "unknown household 'Z'"),
        ("/api/v1/households/Z/stats?interval=5", 404, "unknown_household", "'Z'"),
        ("/api/v1/households/Z/stream?interval=5", 404, "unknown_household", "'Z'"),
        ("/api/v1/households/A/stats", 400, "invalid_parameter", "interval is required"),
        ("/api/v1/households/A/stats?interval=abc", 400, "invalid_parameter", "got 'abc'"),
        ("/api/v1/households/A/stats?interval=2.5", 400, "invalid_parameter", "got '2.5'"),
        ("/api/v1/households/A/stats?interval=0", 400, "invalid_parameter", "positive, got 0"),
        ("/api/v1/households/A/stats?interval=-5", 400, "invalid_parameter", "got -5"),
        # signs and digits that str.isdigit accepts but int() does not (were a 500)
        ("/api/v1/households/A/stats?interval=%2B-5", 400, "invalid_parameter", "got '+-5'"),
        ("/api/v1/households/A/stats?interval=%C2%B2", 400, "invalid_parameter", "got '²'"),
        ("/api/v1/households/A/stats?interval=86401", 400, "invalid_parameter", "at most 86400"),
        ("/api/v1/households/A/stats?interval=5&by=day", 400, "invalid_parameter", "got 'day'"),
        ("/api/v1/households/A/stream?interval=x", 400, "invalid_parameter", "got 'x'"),
        ("/api/v1/households/A/stream?interval=0", 400, "invalid_parameter", "got 0"),
        (
            "/api/v1/households/A/stream?interval=5&start_index=-1",
            400,
            "invalid_parameter",
            "start_index -1 is outside the data: expected 0 to 172799",
        ),
        (
            "/api/v1/households/A/stream?interval=5&start_index=172800",
            400,
            "invalid_parameter",
            "start_index 172800 is outside",
        ),
        (
            "/api/v1/households/A/stream?interval=5&start_index=ten",
            400,
            "invalid_parameter",
            "start_index must be an integer, got 'ten'",
        ),
        (
            "/api/v1/households/A/stream?interval=5&start_index=0&speed=0",
            400,
            "invalid_parameter",
            "speed must be positive, got '0'",
        ),
        (
            "/api/v1/households/A/stream?interval=5&start_index=0&speed=-2",
            400,
            "invalid_parameter",
            "got '-2'",
        ),
        (
            "/api/v1/households/A/stream?interval=5&start_index=0&speed=1e6",
            400,
            "invalid_parameter",
            "at most 1000",
        ),
        (
            "/api/v1/households/A/stream?interval=5&start_index=0&speed=nan",
            400,
            "invalid_parameter",
            "got 'nan'",
        ),
        (
            "/api/v1/households/A/stream?interval=5&start_index=0&speed=fast",
            400,
            "invalid_parameter",
            "speed must be a number, got 'fast'",
        ),
        (
            "/api/v1/households/A/stream?interval=5&speed=2",
            400,
            "invalid_parameter",
            "speed applies to replays only",
        ),
        (
            "/api/v1/households/A/stream?interval=5&last_event_id=garbage",
            400,
            "invalid_parameter",
            "invalid event id 'garbage'",
        ),
        (
            "/api/v1/households/A/stream?interval=5&start_index=10&last_event_id=12",
            400,
            "invalid_parameter",
            "not an event of this replay",
        ),
        ("/nowhere", 404, "not_found", "not found"),
    ],
)
def test_errors_are_json_with_a_message_naming_the_value(client, url, status, code, message):
    r = client.get(url)
    assert r.status_code == status
    assert r.content_type == "application/json"
    assert r.json["error"]["code"] == code
    assert message in r.json["error"]["message"]


def test_last_event_id_header_is_validated(client):
    r = client.get("/api/v1/households/A/stream?interval=5", headers={"Last-Event-ID": "x\u00e9"})
    assert r.status_code == 400 and "invalid event id" in r.json["error"]["message"]


def test_wrong_method_is_json_405(client):
    r = client.delete("/api/v1/households")  # (POST creates one, signed in: accounts)
    assert r.status_code == 405
    assert r.json["error"]["code"] == "method_not_allowed"


def test_healthz_and_metrics(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json["status"] == "ok" and r.json["broker"] == {"kind": "memory", "ok": True}
    text = client.get("/metrics").get_data(as_text=True)
    for name in (
        "gridlight_sse_clients_connected",
        "gridlight_sse_events_sent_total",
        "gridlight_sse_slow_clients_dropped_total",
        "gridlight_broker_reconnects_total",
        "gridlight_reader_lag_seconds",
    ):
        assert f"# TYPE {name}" in text


def test_config_precedence(monkeypatch, server_data_dir, stats_cache_dir):
    monkeypatch.setenv("GRIDLIGHT_DATA_DIR", "/from/env")
    monkeypatch.setenv("GRIDLIGHT_CLIENT_QUEUE_LEN", "7")
    monkeypatch.setenv("PORT", "6123")
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app({"DATA_DIR": str(server_data_dir), "STATS_CACHE_DIR": str(stats_cache_dir)})
    try:
        assert app.config["DATA_DIR"] == str(server_data_dir)  # test_config wins
        assert app.config["CLIENT_QUEUE_LEN"] == 7  # environment over defaults
        assert app.config["PORT"] == 6123
        assert app.config["REDIS_URL"] is None
    finally:
        app.extensions["gridlight"].stop()


def test_cors(server_data_dir, stats_cache_dir):
    base = {"DATA_DIR": str(server_data_dir), "STATS_CACHE_DIR": str(stats_cache_dir)}
    demo = create_app({**base, "DEMO": True, "EMBEDDED_REPLAY": False, "WARM_STATS": False})
    listed = create_app({**base, "CORS_ORIGINS": "https://ui.example"})
    try:
        c = demo.test_client()
        r = c.get("/api/v1/households", headers={"Origin": "https://any.example"})
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "X-Gridlight-Worker" in r.headers["Access-Control-Expose-Headers"]
        assert "Access-Control-Allow-Credentials" not in r.headers  # never with *
        preflight = {
            "Origin": "https://any.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Content-Type",
        }
        pre = c.options("/stream_setup", headers=preflight)
        assert pre.headers["Access-Control-Allow-Origin"] == "*"
        assert "Content-Type" in pre.headers["Access-Control-Allow-Headers"]
        assert "POST" in pre.headers["Access-Control-Allow-Methods"]
        assert pre.headers["Access-Control-Max-Age"] == "600"
        setup = c.post("/stream_setup", json={}, headers={"Origin": "https://any.example"})
        assert setup.headers["Access-Control-Allow-Origin"] == "*"  # the seed's routes: any method
        write = c.post("/api/v1/households/A/devices", json={}, headers=preflight)
        assert "Access-Control-Allow-Origin" not in write.headers  # writes: listed origins only
        # streams too
        stream = c.get(
            "/api/v1/households/A/stream?interval=5&start_index=0&speed=1000",
            headers={"Origin": "https://any.example"},
        )
        assert stream.headers["Access-Control-Allow-Origin"] == "*"
        stream.close()
        c2 = listed.test_client()
        ok = c2.get("/api/v1/households", headers={"Origin": "https://ui.example"})
        assert ok.headers["Access-Control-Allow-Origin"] == "https://ui.example"
        assert ok.headers["Access-Control-Allow-Credentials"] == "true"
        assert "Origin" in ok.headers["Vary"]
        pre = c2.options(
            "/api/v1/households/A/devices",
            headers={
                **preflight,
                "Origin": "https://ui.example",
                "Access-Control-Request-Headers": "Authorization, Content-Type",
            },
        )
        assert pre.headers["Access-Control-Allow-Origin"] == "https://ui.example"
        assert "Authorization" in pre.headers["Access-Control-Allow-Headers"]
        assert "DELETE" in pre.headers["Access-Control-Allow-Methods"]
        other = c2.get("/api/v1/households", headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers
        pre = c2.options("/api/v1/households", headers=preflight)  # not listed, not demo
        assert "Access-Control-Allow-Origin" not in pre.headers
    finally:
        demo.extensions["gridlight"].stop()
        listed.extensions["gridlight"].stop()


def test_reads_of_a_household_outside_the_demo_need_its_key(app, client, server_data_dir):
    """Outside demo mode (or for a household not in DEMO_HOUSEHOLDS) a household's statistics,
    streams and the seed's set-up need its key; the list and its description stay open."""
    from server.storage import KeyStore, command_database

    app.config["DEMO_HOUSEHOLDS"] = ["B"]  # A is not an open demo household here
    _, key = KeyStore(command_database(server_data_dir)).add_household("A", ["AC"])
    assert client.get("/api/v1/households").status_code == 200
    assert client.get("/api/v1/households/A").status_code == 200
    reads = [
        "/api/v1/households/A/stats?interval=5",
        "/api/v1/households/A/stream?interval=5&start_index=0&speed=1000",
        "/api/v1/households/A/stream?interval=5",
    ]
    for url in reads:
        r = client.get(url)
        assert r.status_code == 401, url
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="gridlight"'
        assert "needs its API key" in r.json["error"]["message"]
        r = client.get(url, headers={"Authorization": "Bearer gl_not-a-key"})
        assert r.status_code == 401 and "not a live key" in r.json["error"]["message"]
        r = client.get(url, headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert r.status_code == 401 and "'Basic'" in r.json["error"]["message"]
    # bad parameters of an unknown household are still a 404 first
    assert client.get("/api/v1/households/ZZ/stats").status_code == 404
    ok = client.get(reads[0], headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200 and ok.json["household"] == "A"
    replay = client.get(reads[1], headers={"Authorization": f"Bearer {key}"})
    assert replay.status_code == 200
    assert next(replay.response) == b"retry: 3000\n\n"
    replay.close()
    # the seed's set-up answers in its own shape; its stream_id then is the capability
    body = {"household": "A", "interval": 5, "start_index": 0}
    r = client.post("/stream_setup", json=body)
    assert r.status_code == 401 and "needs its API key" in r.json["error"]
    r = client.post("/stream_setup", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    stream_id = r.json["stream_id"]
    assert client.get(f"/stream_qstats?stream_id={stream_id}").status_code == 200
    # ... while its key is live: revoked, the set-up stops working too
    assert KeyStore(command_database(server_data_dir)).revoke(key)
    for path in ("/stream_qstats", "/stream_data"):
        r = client.get(f"{path}?stream_id={stream_id}")
        assert r.status_code == 401 and "no longer valid" in r.json["error"], path
    # the open demo household needs nothing
    assert client.get("/api/v1/households/B/stats?interval=5").status_code == 200


def test_a_csv_format_dataset_is_served_like_a_parquet_one(tmp_path, dataset):
    """``--format csv`` writes the seed's wide CSV files; the server reads them (it answered
    500 for every read of such a household before)."""
    from generator.synth_cli import write_csv_dataset

    data_dir = tmp_path / "data"
    write_csv_dataset(dataset, data_dir / "seedcsv")
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(data_dir),
            "STATS_CACHE_DIR": str(tmp_path / "stats"),
            "REDIS_URL": None,
            "DEMO": True,
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
        }
    )
    try:
        client = app.test_client()
        info = client.get("/api/v1/households/B")
        assert info.status_code == 200 and info.json["dataset"] == "seedcsv"
        assert info.json["data"]["span_s"] == 2 * 86_400
        stats = client.get("/api/v1/households/B/stats?interval=900")
        assert stats.status_code == 200 and stats.json["interval_s"] == 900
    finally:
        app.extensions["gridlight"].stop()


def test_describing_a_household_does_not_load_its_tables(app, client):
    """``GET /households/{h}`` is open: its data span comes from the parquet metadata, equal to
    what the table holds, without reading the (replay) table into the worker."""
    from generator.times import format_ts

    households = app.extensions["gridlight"].households
    r = client.get("/api/v1/households/A")
    assert r.status_code == 200
    assert households._replayable == {} and households._datasets == {}
    replay = households.replayable("A")
    assert r.json["data"]["span_s"] == replay.span_s == 2 * 86_400
    assert r.json["data"]["rows"] == len(replay.values)
    assert r.json["data"]["start"] == format_ts(replay.start_s)
