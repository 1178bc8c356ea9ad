"""End to end, served for real: ``python -m generator replay --to mqtt://`` → mosquitto →
``python -m server run`` → an SSE client receives the replayed values with the right averages
and levels. Embedded default: gunicorn with one gevent worker running the MQTT subscriber. With
Redis: two workers and the dedicated ``python -m server ingest`` process, the only subscriber."""

from __future__ import annotations

import sys
import time

import numpy as np
import requests
from numpy.testing import assert_allclose

from generator.replay import Meter
from server.stats import StatsCache, classify, worst
from tests.server.ingest.conftest import CHANNELS, keys_of
from tests.server.test_served import (
    Processes,
    health,
    open_subscribed,
    processes,  # noqa: F401 - fixture
    server_env,
)
from tests.services import free_port
from tests.wait import wait_for

INTERVAL = 5
SPEED = 20
DURATION_S = 160  # virtual seconds: 8 s of real time, at most ~150 s ahead of the wall clock


def expected_window(meter: Meter, start_s: int) -> dict[str, float | None]:
    rows = [meter.reading_at(s)["power_kw"] for s in range(start_s, start_s + INTERVAL)]
    out: dict[str, float | None] = {}
    for channel in CHANNELS:
        values = [r[channel] for r in rows if r[channel] is not None]
        out[channel] = round(float(np.mean(values)), 6) if values else None
    return out


def replay_command(dataset_dir, url: str, start_s: int) -> list[str]:  # noqa: ANN001
    return [
        sys.executable,
        "-m",
        "generator",
        "replay",
        "--dataset",
        str(dataset_dir),
        "--households",
        "A",
        "--to",
        url,
        "--speed",
        str(SPEED),
        "--start",
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_s)),
        "--duration-s",
        str(DURATION_S),
        "--faulty",
    ]


def check_events(events: list[dict], start_s: int, dataset, stats_cache_dir) -> None:  # noqa: ANN001
    meter = Meter(dataset, "A", faulty=True)
    stats = StatsCache(stats_cache_dir).for_dataset(dataset, "A", INTERVAL)
    starts = [
        int(time.mktime(time.strptime(e["ts"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone)
        for e in events
    ]
    assert starts == list(range(start_s, start_s + len(events) * INTERVAL, INTERVAL))
    for event, window_s in zip(events, starts, strict=True):
        assert "index" not in event  # a live household's event
        want = expected_window(meter, window_s)
        for channel in CHANNELS:
            got = event["power_kw"][channel]
            # the faulty replay drops a channel's readings for minutes at times: None on both
            assert (got is None) == (want[channel] is None), (window_s, channel)
            if got is not None:
                assert_allclose(got, want[channel], atol=1e-6)
        levels = classify(stats, want)
        assert event["level"] == levels and event["worst"] == worst(levels)


def ingest_messages(base: str) -> float:
    metrics = requests.get(f"{base}/metrics", timeout=5).text
    line = next(x for x in metrics.splitlines() if x.startswith("gridlight_ingest_mqtt_messages"))
    return float(line.split()[1])


def test_replay_over_mqtt_reaches_sse_clients(
    processes: Processes,  # noqa: F811
    mosquitto_server,  # noqa: ANN001
    server_data_dir,  # noqa: ANN001
    stats_cache_dir,  # noqa: ANN001
    dataset,  # noqa: ANN001
    tmp_path,  # noqa: ANN001
) -> None:
    _, key = keys_of(server_data_dir).add_household("A", CHANNELS)
    port = free_port()
    env = server_env(server_data_dir, stats_cache_dir, port, MQTT_URL=mosquitto_server.url)
    web = processes.start([sys.executable, "-m", "server", "run"], env, tmp_path / "web.log")
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: health(base) == 200 or web.poll() is not None, "the server", 60)
    assert web.poll() is None, (tmp_path / "web.log").read_text()[-2000:]
    client = open_subscribed(
        f"{base}/api/v1/households/A/stream?interval={INTERVAL}", {"Authorization": f"Bearer {key}"}
    )
    start_s = (int(time.time()) // INTERVAL + 1) * INTERVAL
    replay = processes.start(
        replay_command(server_data_dir / "demo", mosquitto_server.url, start_s),
        env,
        tmp_path / "replay.log",
    )
    try:
        events = [e.json() for e in client.events(DURATION_S // INTERVAL - 2, timeout_s=60)]
    finally:
        client.close()
    assert replay.wait(timeout=30) == 0, (tmp_path / "replay.log").read_text()[-2000:]
    check_events(events, start_s, dataset, stats_cache_dir)
    assert ingest_messages(base) >= DURATION_S - 5
    meter = Meter(dataset, "A", faulty=True)
    key = keys_of(server_data_dir).create_key("A")
    history = requests.get(
        f"{base}/api/v1/households/A/readings",
        params={"from": start_s, "to": start_s + 60, "resolution": "raw"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=5,
    ).json()["readings"]
    assert len(history) == 60
    for row, second in zip(history, range(start_s, start_s + 60), strict=True):
        want = meter.reading_at(second)["power_kw"]
        for channel in CHANNELS:
            got = row["power_kw"][channel]
            assert (got is None) == (want[channel] is None), (second, channel)
            if got is not None:
                assert_allclose(got, want[channel], atol=1e-6)


def test_with_redis_one_ingest_process_feeds_every_worker(
    processes: Processes,  # noqa: F811
    mosquitto_server,  # noqa: ANN001
    redis_server,  # noqa: ANN001
    server_data_dir,  # noqa: ANN001
    stats_cache_dir,  # noqa: ANN001
    dataset,  # noqa: ANN001
    tmp_path,  # noqa: ANN001
) -> None:
    _, key = keys_of(server_data_dir).add_household("A", CHANNELS)
    port = free_port()
    env = server_env(
        server_data_dir,
        stats_cache_dir,
        port,
        MQTT_URL=mosquitto_server.url,
        REDIS_URL=redis_server.url,
        WEB_CONCURRENCY="2",
    )
    web = processes.start([sys.executable, "-m", "server", "run"], env, tmp_path / "web.log")
    base = f"http://127.0.0.1:{port}"
    workers: set[int] = set()

    def both_workers() -> bool:
        if web.poll() is not None:
            return True
        if health(base) == 200:
            workers.add(requests.get(f"{base}/healthz", timeout=5).json()["worker"])
        return len(workers) == 2

    wait_for(both_workers, "both workers", 60)
    assert web.poll() is None, (tmp_path / "web.log").read_text()[-2000:]
    clients = {}
    for _ in range(40):  # one client on each worker
        client = open_subscribed(
            f"{base}/api/v1/households/A/stream?interval={INTERVAL}",
            {"Authorization": f"Bearer {key}"},
        )
        pid = client.headers["X-Gridlight-Worker"]
        if pid in clients:
            client.close()
        else:
            clients[pid] = client
        if len(clients) == 2:
            break
    assert len(clients) == 2
    start_s = (int(time.time()) // INTERVAL + 1) * INTERVAL
    replay = processes.start(
        replay_command(server_data_dir / "demo", mosquitto_server.url, start_s),
        env,
        tmp_path / "replay.log",
    )
    try:
        streams = [
            [e.json() for e in c.events(DURATION_S // INTERVAL - 2, timeout_s=60)]
            for c in clients.values()
        ]
    finally:
        for c in clients.values():
            c.close()
    assert replay.wait(timeout=30) == 0, (tmp_path / "replay.log").read_text()[-2000:]
    assert streams[0] == streams[1]
    check_events(streams[0], start_s, dataset, stats_cache_dir)
    # the ingest process's counters reach /metrics (shared metrics directory); each message was
    # received once: one subscriber per deployment, none in the workers
    wait_for(lambda: ingest_messages(base) >= DURATION_S, "the ingest process's counters", 10)
    assert ingest_messages(base) == DURATION_S
