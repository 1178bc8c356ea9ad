"""The app served for real: gunicorn with gevent workers, a real redis-server and one replay
process at high speed; and the embedded default started by ``python -m server run``.

Every wait is bounded by a deadline; nothing sleeps to wait.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from numpy.testing import assert_allclose

from server.run import STOP_GRACE_S
from server.storage import KeyStore, command_database
from tests.promtool import check_metrics, samples
from tests.server.streaming.sse_client import SSE, SSEClient
from tests.services import free_port, wait_for_port
from tests.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "docker" / "gunicorn.conf.py"
INTERVAL = 5
SPEED = 40  # 8 events per second per client


class Processes:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def processes() -> Iterator[Processes]:
    procs = Processes()
    yield procs
    procs.stop_all()


def server_env(data_dir: Path, stats_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLIGHT_")}
    env.pop("REDIS_URL", None)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        {
            "PORT": str(port),
            "GRIDLIGHT_DATA_DIR": str(data_dir),
            "GRIDLIGHT_STATS_CACHE_DIR": str(stats_dir),
            "GRIDLIGHT_PING_INTERVAL_S": "0.5",
            "GRIDLIGHT_WARM_STATS": "false",
            "GRIDLIGHT_DEMO_HOUSEHOLDS": '["A"]',
            "GRIDLIGHT_LOG_LEVEL": "warning",
            **extra,
        }
    )
    return env


def health(base: str) -> int:
    try:
        return requests.get(f"{base}/healthz", timeout=5).status_code
    except (requests.ConnectionError, requests.Timeout):
        return 0


def open_subscribed(url: str, headers: dict[str, str] | None = None) -> SSEClient:
    """A client whose stream has subscribed (its first ping has arrived)."""
    client = SSEClient(url, headers=headers, timeout_s=20)
    assert client.status == 200, client.response.read()
    client.events(1, timeout_s=20, kind="")
    return client


def check_values(events: list[SSE], frame) -> None:  # noqa: ANN001
    """Each event's values are the dataset's averages over its window (replayed rows)."""
    for event in events:
        body = event.json()
        index = body["index"]
        expected = frame.iloc[index : index + INTERVAL].mean()
        for channel, value in body["power_kw"].items():
            if np.isnan(expected[channel]):
                assert value is None and body["level"][channel] == "critical"
            else:
                assert_allclose(value, expected[channel], atol=1e-6, err_msg=f"{index} {channel}")


def contiguous(events: list[SSE]) -> bool:
    starts = [time.mktime(time.strptime(e.json()["ts"], "%Y-%m-%dT%H:%M:%SZ")) for e in events]
    return all(b - a == INTERVAL for a, b in zip(starts, starts[1:], strict=False))


def read_until(client: SSEClient, ts: str) -> list[SSE]:
    """Events up to and including the one whose window starts at ``ts``."""
    out = client.events(1, timeout_s=30)
    while out[-1].json()["ts"] < ts:
        out += client.events(1, timeout_s=30)
    return out


@pytest.fixture
def redis_stack(processes, redis_server, server_data_dir, stats_cache_dir, tmp_path):  # noqa: ANN001, ANN201
    """gunicorn (2 gevent workers, Redis broker) + one replay process publishing household A."""
    port = free_port()
    env = server_env(
        server_data_dir,
        stats_cache_dir,
        port,
        REDIS_URL=redis_server.url,
        WEB_CONCURRENCY="2",
        GRIDLIGHT_DEMO="1",
        # a given multiprocess directory, holding an earlier server's counts: emptied at start
        PROMETHEUS_MULTIPROC_DIR=str(stale_metrics_dir(tmp_path / "metrics")),
    )
    web = processes.start(
        [sys.executable, "-m", "gunicorn", "-c", str(CONF)], env, tmp_path / "web.log"
    )
    replay = processes.start(
        [
            sys.executable,
            "-m",
            "generator",
            "replay",
            "--dataset",
            str(server_data_dir / "demo"),
            "--households",
            "A",
            "--to",
            redis_server.url,
            "--speed",
            str(SPEED),
        ],
        env,
        tmp_path / "replay.log",
    )
    wait_for_port(port, timeout_s=30, proc=web)
    base = f"http://127.0.0.1:{port}"
    workers: set[int] = set()

    def both_workers_healthy() -> bool:
        r = requests.get(f"{base}/healthz", timeout=5) if health(base) == 200 else None
        if r is not None and r.status_code == 200:
            workers.add(r.json()["worker"])
        return len(workers) == 2

    wait_for(both_workers_healthy, what="both workers to answer /healthz", timeout_s=60)
    assert replay.poll() is None
    return base


STALE_EVENTS = 1_000_000


def stale_metrics_dir(path: Path) -> Path:
    """A multiprocess directory in which an earlier server (a process now gone) counted
    :data:`STALE_EVENTS` events."""
    path.mkdir()
    code = (
        "from server.metrics import Metrics\n"
        f"Metrics().add('gridlight_sse_events_sent_total', {STALE_EVENTS})\n"
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(path)}
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=60)
    assert any(p.name.startswith("counter_") for p in path.iterdir())
    return path


def clients_on_both_workers(url: str, per_worker: int = 2) -> list[SSEClient]:
    chosen: dict[str, list[SSEClient]] = {}
    spare: list[SSEClient] = []
    opened: list[SSEClient] = []
    for _ in range(40):
        client = open_subscribed(url)
        opened.append(client)
        pid = client.headers["X-Gridlight-Worker"]
        group = chosen.setdefault(pid, [])
        (group if len(group) < per_worker else spare).append(client)
        if len(chosen) == 2 and all(len(g) == per_worker for g in chosen.values()):
            break
    for client in spare:
        client.close()
    assert len(chosen) == 2, f"all clients landed on one worker: {list(chosen)}"
    kept = {id(c) for group in chosen.values() for c in group}
    return [c for c in opened if id(c) in kept]  # in the order they subscribed


def sessions_on_both_workers(url: str) -> tuple[list[requests.Session], int]:
    """One kept-alive HTTP session per gunicorn worker, and how many requests finding them took
    (new connections until both workers have taken one, for at most 60 s: under load one
    worker can take 40 in a row, as the startup's wait for both workers allows for too)."""
    found: dict[int, requests.Session] = {}
    made = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        session = requests.Session()
        r = session.get(url, timeout=5)
        made += 1
        assert r.status_code == 200
        worker = r.json()["worker"]
        if worker in found:
            session.close()
        else:
            found[worker] = session
        if len(found) == 2:
            return list(found.values()), made
        time.sleep(0.02)  # let the other worker's accept loop run
    for session in found.values():
        session.close()
    raise AssertionError(f"{made} connections in 60 s all landed on one worker: {list(found)}")


def test_two_workers_identical_sequences_resume_and_redis_restart(redis_stack, dataset):
    base = redis_stack
    url = f"{base}/api/v1/households/A/stream?interval={INTERVAL}"
    frame = dataset.frame("A", faulty=True)
    clients = clients_on_both_workers(url)
    try:
        # read every client up to the same window; workers may lag one another a little, so
        # compare from the latest first window on: the same ids with the same data
        newest = clients[-1].events(14, timeout_s=30)
        seqs = [read_until(c, newest[-1].json()["ts"]) for c in clients[:-1]] + [newest]
        start = max(seq[0].json()["ts"] for seq in seqs)
        common = [[(e.id, e.data) for e in seq if e.json()["ts"] >= start] for seq in seqs]
        assert len(common[0]) >= 5
        for seq, overlap in zip(seqs, common, strict=True):
            assert overlap == common[0]
            assert contiguous(seq)
            check_values(seq[1:], frame)

        # disconnect one client, let events pass, resume (on whichever worker) without loss
        away = clients.pop()
        last_seen = away.last_id
        away.close()
        reference = clients[0]
        more = reference.events(6, timeout_s=30)
        back = SSEClient(url, headers={"Last-Event-ID": last_seen}, timeout_s=20)
        resumed = back.events(10, timeout_s=30)
        ref_more = more + reference.events(4, timeout_s=30)
        ref_all = seqs[0] + ref_more
        assert last_seen in [e.id for e in ref_all]
        i = [e.id for e in ref_all].index(last_seen)
        assert [(e.id, e.data) for e in resumed] == [
            (e.id, e.data) for e in ref_all[i + 1 : i + 11]
        ]
        back.close()

        # Redis goes away: /healthz reports it; it comes back: streams go on without loss
        before = [c.events(1, timeout_s=30) for c in clients]
        redis_server_stop_start(base, redis_stack_server(redis_stack))
        lead = clients[0].events(10, timeout_s=60)
        after = [lead] + [read_until(c, lead[-1].json()["ts"]) for c in clients[1:]]
        for b, a in zip(before, after, strict=True):
            assert contiguous(b + a)
            check_values(a, frame)
            assert [(e.id, e.data) for e in a][-8:] == [(e.id, e.data) for e in lead][-8:]
        wait_for(
            lambda: metric(base, "gridlight_broker_reconnects_total") >= 1,
            what="metrics",
            timeout_s=10,
        )
        assert metric(base, "gridlight_sse_clients_connected") >= len(clients)
        assert metric(base, "gridlight_sse_events_sent_total") > 50
    finally:
        for c in clients:
            c.close()


def test_metrics_merged_over_workers_pass_promtool(redis_stack):
    """Two gunicorn workers count into prometheus_client's multiprocess directory; whichever
    worker answers ``/metrics`` serves the sums, which ``promtool check metrics`` accepts."""
    base = redis_stack
    duration = "gridlight_http_request_duration_seconds"
    latency = "gridlight_sse_delivery_latency_seconds"
    healthz = {"route": "/healthz", "status": "200"}

    def healthz_count() -> float:
        found = samples(
            requests.get(f"{base}/metrics", timeout=5).text, f"{duration}_count", **healthz
        )
        return found[0][1] if found else 0.0

    clients = clients_on_both_workers(f"{base}/api/v1/households/A/stream?interval={INTERVAL}")
    try:
        received = [len(c.events(4, timeout_s=30)) for c in clients]
    finally:
        for c in clients:
            c.close()
    before = healthz_count()
    # gunicorn hands each new connection to whichever worker accepts first, and under load one
    # worker may take them all; a kept-alive connection stays with its worker, so hold one per
    # worker and send the requests over those
    sessions, made = sessions_on_both_workers(f"{base}/healthz")
    answered: list[int] = []
    try:
        for i in range(30):
            r = sessions[i % 2].get(f"{base}/healthz", timeout=5)
            assert r.status_code == 200
            answered.append(r.json()["worker"])
    finally:
        for session in sessions:
            session.close()
    workers = set(answered)
    assert len(workers) == 2, "the requests all reached one worker"

    # every scrape (either worker) counts the requests of both workers
    for _ in range(6):
        assert healthz_count() - before == 30 + made
    text = requests.get(f"{base}/metrics", timeout=5).text
    r = requests.get(f"{base}/metrics", timeout=5)
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    print(check_metrics(text))
    assert samples(text, "gridlight_workers_reporting") == [({}, 2.0)]
    # each worker's channel observed the windows its clients received, once per window
    (count,) = samples(text, f"{latency}_count")
    assert count[1] >= max(received) * 2
    inf = samples(text, f"{latency}_bucket", le="+Inf")
    assert inf[0][1] == count[1]
    assert samples(text, f"{duration}_count", route="/api/v1/households/<household>/stream")
    # per worker: the process collector's figures with the worker's pid
    rss = samples(text, "process_resident_memory_bytes")
    assert {labels["pid"] for labels, _ in rss} == {str(w) for w in workers}
    assert all(value > 0 for _, value in rss)
    # an earlier server's counts were emptied at start
    events = samples(text, "gridlight_sse_events_sent_total")[0][1]
    assert 0 < events < STALE_EVENTS


_SERVERS: dict[str, object] = {}


def redis_stack_server(base: str):  # noqa: ANN201
    return _SERVERS[base]


@pytest.fixture(autouse=True)
def _remember_redis(request):  # noqa: ANN001, ANN202
    if "redis_stack" in request.fixturenames:
        base = request.getfixturevalue("redis_stack")
        _SERVERS[base] = request.getfixturevalue("redis_server")
    yield
    _SERVERS.clear()


def redis_server_stop_start(base: str, server) -> None:  # noqa: ANN001
    server.stop()
    wait_for(lambda: health(base) == 503, what="/healthz to report the outage", timeout_s=20)
    body = requests.get(f"{base}/healthz", timeout=5).json()
    assert body["status"] == "unavailable" and body["broker"]["ok"] is False
    server.start()
    wait_for(lambda: health(base) == 200, what="/healthz to recover", timeout_s=30)


def metric(base: str, name: str) -> float:
    text = requests.get(f"{base}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_compat_setups_are_shared_by_workers_through_redis(redis_stack, dataset, server_data_dir):
    base = redis_stack
    # A is the open demo household here; B is not: its set-up needs B's key
    _, key_b = KeyStore(command_database(server_data_dir)).add_household("B", ["AC"])
    body = {"household": "B", "interval": INTERVAL, "start_index": 600, "speed": 500}
    r = requests.post(f"{base}/stream_setup", json=body, timeout=30)
    assert r.status_code == 401 and "needs its API key" in r.json()["error"], r.text
    ids = []
    for household in ("A", "B"):
        r = requests.post(
            f"{base}/stream_setup",
            json={**body, "household": household},
            headers={"Authorization": f"Bearer {key_b}"} if household == "B" else {},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        ids.append((household, r.json()["stream_id"]))
    for household, stream_id in ids * 3:  # several connections: both workers answer
        client = SSEClient(f"{base}/stream_data?stream_id={stream_id}", timeout_s=20)
        (event,) = client.events(1, timeout_s=20, kind="message")
        client.close()
        assert event.id == "600" and "NaN" not in event.data
        values, _, colours = event.data.partition(" status: ")
        expected = dataset.frame(household, faulty=True).iloc[600:605].mean()
        for channel, value in json.loads(values).items():
            assert json.loads(colours)[channel] in {"Green", "Yellow", "Red", "Critical Red"}
            if np.isnan(expected[channel]):
                assert value is None
            else:
                assert_allclose(value, expected[channel], atol=1e-6)


def test_embedded_default_via_server_run(processes, server_data_dir, tmp_path, dataset):
    """Cold statistics cache, warming on start-up: requests needing other intervals meanwhile
    are answered. (The fits' thread-pool hang this guards against was intermittent, about 3 in 4
    start-ups on the 7-day demo dataset; this small dataset does not always reproduce it.)"""
    port = free_port()
    env = server_env(
        server_data_dir,
        tmp_path / "cold-stats",
        port,
        GRIDLIGHT_DEMO="1",
        GRIDLIGHT_REPLAY_SPEED=str(SPEED),
        GRIDLIGHT_WARM_STATS="true",
        # a graceful timeout longer than the wait below: a stream still open when the worker is
        # told to stop would only end when gunicorn cuts it, after this
        GUNICORN_CMD_ARGS="--graceful-timeout 90",
    )
    dry = subprocess.run(
        [sys.executable, "-m", "server", "run", "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert dry.stdout.count("\n") == 1 and "gunicorn" in dry.stdout  # no replay process
    with_redis = subprocess.run(
        [sys.executable, "-m", "server", "run", "--dry-run"],
        env={**env, "REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "replay: " in with_redis.stdout and "--to redis://127.0.0.1:1/0" in with_redis.stdout

    run = processes.start([sys.executable, "-m", "server", "run"], env, tmp_path / "run.log")
    wait_for_port(port, timeout_s=30, proc=run)
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: health(base) == 200, what="/healthz", timeout_s=30)
    assert requests.get(f"{base}/healthz", timeout=5).json()["broker"]["kind"] == "memory"
    for interval_s in (30, 10):  # 30 is being warmed, 10 is not
        r = requests.get(f"{base}/api/v1/households/A/stats?interval={interval_s}", timeout=90)
        assert r.status_code == 200 and r.json()["interval_s"] == interval_s
    client = open_subscribed(f"{base}/api/v1/households/A/stream?interval={INTERVAL}")
    events = client.events(6, timeout_s=30)
    client.close()
    assert contiguous(events)
    check_values(events, dataset.frame("A", faulty=True))
    log = (tmp_path / "run.log").read_text()
    assert f"http://localhost:{port}/" in log and "curl -N" in log
    # nothing failed on the way (the alert evaluator reads tables in the native thread pool)
    assert "Traceback" not in log, log
    # told to stop, the worker ends its open streams at once: not held until gunicorn's graceful
    # timeout (90 s here) or `server run`'s kill (STOP_GRACE_S, 15 s) cuts them
    live = open_subscribed(f"{base}/api/v1/households/A/stream?interval={INTERVAL}")
    replay = SSEClient(f"{base}/api/v1/households/A/stream?interval=60&start_index=0", timeout_s=20)
    replay.events(1, timeout_s=20, kind="")  # its retry: the replay is under way (1 event a min)
    run.send_signal(signal.SIGTERM)
    told = time.monotonic()
    for client in (live, replay):
        try:
            client.read_to_end(timeout_s=30)
        finally:
            client.close()
    assert time.monotonic() - told < STOP_GRACE_S - 5
    assert run.wait(timeout=30) == 0
    wait_for(lambda: health(base) == 0, what="the server to stop", timeout_s=20)
