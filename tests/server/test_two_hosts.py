"""Two hosts, one installation: two ``python -m server run`` (two gevent workers each) sharing
one ``redis-server`` and one PostgreSQL database, each with its own data directory.

A key made through host 1 works on host 2; readings posted to host 2 stream to SSE clients of
host 1 exactly once; a spike produces one alert and one push, not one per host or worker; and
stopping the host whose worker leads the alert evaluation moves it to the other host within
the lease time, without a duplicate. Every wait is bounded.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis
import requests

from tests.server.alerts.servers import webhook_receiver
from tests.server.ingest.test_live_stream import usual_history
from tests.server.push.fcm_server import FakeFcmServer
from tests.server.streaming.sse_client import SSEClient
from tests.services import free_port
from tests.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
INTERVAL = 5
LEASE_TTL_S = 3
CHANNELS = ("AC", "Geyser", "Overall")
TOKEN = "two-hosts:APA91b" + "t" * 140
ALERT_LEASE = "gridlight:alerts:evaluator"


def _iso(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


class Host:
    """One host: ``python -m server run`` (gunicorn, two workers) with its own data directory."""

    def __init__(self, name: str, workdir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data_dir = workdir / name
        self.data_dir.mkdir()
        self.env = {
            **env,
            "PORT": str(self.port),
            "GRIDLIGHT_DATA_DIR": str(self.data_dir),
            "GRIDLIGHT_STATS_CACHE_DIR": str(self.data_dir / "stats"),
        }
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server", "run"],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def workers(self) -> set[int]:
        """Process ids of this host's processes (the run command, gunicorn and its workers)."""
        if self.proc is None:
            return set()
        try:
            parent = psutil.Process(self.proc.pid)
            return {parent.pid, *(p.pid for p in parent.children(recursive=True))}
        except psutil.NoSuchProcess:
            return set()

    def healthy_workers(self, seen: set[int]) -> bool:
        try:
            r = requests.get(f"{self.base}/healthz", timeout=5)
        except (requests.ConnectionError, requests.Timeout):
            return False
        if r.status_code == 200:
            seen.add(r.json()["worker"])
        return len(seen) == 2

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            for pid in self.workers():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            self.proc.wait(timeout=10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@pytest.fixture
def deployment(tmp_path: Path, redis_server, postgres_url: str) -> Iterator[dict]:  # noqa: ANN001
    with webhook_receiver() as hook, FakeFcmServer(tmp_path) as fcm:
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLIGHT_")}
        base_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        base_env.update(
            {
                "REDIS_URL": redis_server.url,
                "DATABASE_URL": postgres_url,
                # hosts sharing a database share the master key (docs/privacy.md)
                "GRIDLIGHT_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
                "WEB_CONCURRENCY": "2",
                "GRIDLIGHT_DEMO": "0",
                "GRIDLIGHT_LOG_LEVEL": "warning",
                "GRIDLIGHT_PING_INTERVAL_S": "0.5",
                "GRIDLIGHT_WARM_STATS": "false",
                "GRIDLIGHT_LIVE_STATS_MIN_S": "600",
                "GRIDLIGHT_FOLLOW_STATS_RETRY_S": "0.2",
                "GRIDLIGHT_ALERTS_ENABLED": "true",
                "GRIDLIGHT_ALERTS_INTERVAL_S": str(INTERVAL),
                "GRIDLIGHT_ALERTS_SYNC_S": "0.2",
                "GRIDLIGHT_ALERTS_BACKOFF_S": "0.1",
                "GRIDLIGHT_ALERTS_LEASE_TTL_S": str(LEASE_TTL_S),
                "GRIDLIGHT_PUSH_ENABLED": "true",
                "GRIDLIGHT_FCM_CREDENTIALS": str(fcm.credentials),
                "GRIDLIGHT_FCM_BASE_URL": fcm.url,
                "GRIDLIGHT_PUSH_LEASE_TTL_S": str(LEASE_TTL_S),
                "GRIDLIGHT_PUSH_SYNC_S": "0.2",
            }
        )
        hosts = [Host("host1", tmp_path, base_env), Host("host2", tmp_path, base_env)]
        # a live household and its key, made through host 1's command line
        made = subprocess.run(
            [sys.executable, "-m", "server", "households", "add", "L1"]
            + ["--channels", ",".join(CHANNELS), "--timezone", "UTC"],
            env=hosts[0].env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stderr
        key = made.stdout.strip().splitlines()[-1]
        try:
            for host in hosts:
                host.start()
            for host in hosts:
                seen: set[int] = set()
                try:
                    wait_for(
                        lambda h=host, s=seen: h.healthy_workers(s),
                        what=f"{host.name}",
                        timeout_s=90,
                    )
                except AssertionError:
                    pytest.fail(f"{host.name} did not start:\n{host.tail()}")
            yield {"hosts": hosts, "key": key, "hook": hook, "fcm": fcm, "redis": redis_server}
        finally:
            for host in hosts:
                host.stop()


def _post(host: Host, key: str, readings: list[dict]) -> None:
    r = requests.post(
        f"{host.base}/api/v1/households/L1/readings",
        json={"readings": readings},
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text


def _post_until(host: Host, key: str, at: int, overall_kw: float, done) -> int:  # noqa: ANN001
    """Post windows of ``overall_kw`` from ``at`` on (each closing the one before) until
    ``done()``, waiting up to 1.5 s after each; the start of the next window. Bounded."""
    for _ in range(40):
        _post(host, key, [*_window(at, overall_kw), _window(at + INTERVAL, overall_kw)[0]])
        at += INTERVAL
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            if done():
                return at
            time.sleep(0.05)  # polling interval of a bounded wait
    raise AssertionError(f"no outcome after 40 windows of {overall_kw} kW on {host.name}")


def _window(start_s: int, overall_kw: float) -> list[dict]:
    return [
        {"ts": start_s + s, "power_kw": {"AC": 0.0, "Geyser": 0.0, "Overall": overall_kw}}
        for s in range(INTERVAL)
    ]


def _alert_pushes(fcm) -> list[dict]:  # noqa: ANN001
    """Visible notifications (alerts and recoveries; widget states are data-only)."""
    return [m for m in fcm.messages_to(TOKEN) if m.get("notification")]


def _all_deliveries(hook) -> list[dict]:  # noqa: ANN001
    """The alerts the webhook received, in order."""
    return [json.loads(r["body"])["alert"] for r in list(hook.requests)]


def _spike_alerts(hook, overall_kw: float) -> list[dict]:  # noqa: ANN001
    return [
        a
        for a in _all_deliveries(hook)
        if a["kind"] == "alert" and a["values"]["power_kw"]["Overall"] == overall_kw
    ]


def _recovered_after(hook, ts_s: int) -> bool:  # noqa: ANN001
    return any(a["kind"] == "recovery" and a["ts"] > _iso(ts_s) for a in _all_deliveries(hook))


def _check_once_each(hook, fcm) -> None:  # noqa: ANN001
    """Every alert was logged once (no two with the same rule, kind and window, as two
    evaluators would log) and delivered once by webhook and once by push."""
    delivered = _all_deliveries(hook)
    keys = [(a["rule"], a["kind"], a["ts"]) for a in delivered]
    assert len(keys) == len(set(keys)), keys
    ids = [a["id"] for a in delivered]
    assert len(ids) == len(set(ids)), ids
    wait_for(
        lambda: len(_alert_pushes(fcm)) >= len(delivered), what="one push per alert", timeout_s=30
    )
    assert len(_alert_pushes(fcm)) == len(delivered)


def test_two_hosts_share_keys_streams_alerts_and_leadership(deployment: dict) -> None:
    host1, host2 = deployment["hosts"]
    key, hook, fcm = deployment["key"], deployment["hook"], deployment["fcm"]
    headers = {"Authorization": f"Bearer {key}"}

    # the key made through host 1 works on host 2: register the phone there
    r = requests.post(
        f"{host2.base}/api/v1/households/L1/devices",
        json={"token": TOKEN, "platform": "android"},
        headers=headers,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    # alert settings written through host 1: level alerts on one window, webhook and push
    r = requests.put(
        f"{host1.base}/api/v1/households/L1/alert-settings",
        json={
            "cooldown_min": 0,  # the second spike, after the failover, alerts again
            "rules": {
                "level": {"enabled": True, "min_level": "red", "intervals": 1},
                "spike": {"enabled": False},
            },
            "channels": {
                "push": {"enabled": True},
                "webhook": {"enabled": True, "url": hook.url + "/hook", "secret": "s" * 24},
            },
        },
        headers=headers,
        timeout=10,
    )
    assert r.status_code == 200, r.text

    # twenty minutes of back-dated history posted to host 2 give the household statistics
    now = int(time.time())
    _post(host2, key, usual_history(now - 1500, seed=3))
    wait_for(
        lambda: (
            requests.get(
                f"{host1.base}/api/v1/households/L1/stats?interval={INTERVAL}",
                headers=headers,
                timeout=10,
            ).status_code
            == 200
        ),
        what="statistics on host 1",
        timeout_s=60,
    )

    # an SSE client of host 1; readings posted to host 2 reach it exactly once each
    client = SSEClient(
        f"{host1.base}/api/v1/households/L1/stream?interval={INTERVAL}",
        headers=headers,
        timeout_s=30,
    )
    try:
        assert client.status == 200
        client.events(1, timeout_s=20, kind="")  # subscribed (its first ping)
        start = (int(time.time()) // INTERVAL + 2) * INTERVAL
        normal = [0.5, 0.6, 0.4]
        for i, kw in enumerate(normal):
            _post(host2, key, _window(start + i * INTERVAL, kw))
        spike_at = start + len(normal) * INTERVAL
        _post(host2, key, _window(spike_at, 14.0))
        calm_at = spike_at + INTERVAL
        _post(host2, key, _window(calm_at, 0.5))
        _post(host2, key, _window(calm_at + INTERVAL, 0.5))  # closes the calm window
        seen: list[dict] = []
        while not seen or seen[-1]["ts"] < _iso(calm_at):
            seen += [e.json() for e in client.events(1, timeout_s=30)]
    finally:
        client.close()
    mine = [e for e in seen if e["ts"] >= _iso(start)]
    assert [e["ts"] for e in mine] == [_iso(start + i * INTERVAL) for i in range(5)]
    assert [e["power_kw"]["Overall"] for e in mine] == pytest.approx([*normal, 14.0, 0.5])
    assert mine[3]["level"]["Overall"] in ("red", "critical")

    # the spike: one alert and then its recovery, each delivered once by webhook and once by
    # push, not once per host or worker (the back-dated history may have had red windows of its
    # own: those are alerts too, each once)
    wait_for(lambda: _spike_alerts(hook, 14.0), what="the spike's webhook", timeout_s=60)
    wait_for(lambda: _recovered_after(hook, spike_at), what="the spike's recovery", timeout_s=60)
    _check_once_each(hook, fcm)
    assert len(_spike_alerts(hook, 14.0)) == 1
    log = requests.get(f"{host2.base}/api/v1/households/L1/alerts", headers=headers, timeout=10)
    assert sorted(a["id"] for a in log.json()["alerts"]) == sorted(
        a["id"] for a in _all_deliveries(hook)
    )

    # stop the host whose worker holds the evaluator's lease: the other takes over
    client_redis = redis.Redis.from_url(deployment["redis"].url)
    owner = client_redis.get(ALERT_LEASE)
    assert owner is not None, "no evaluator holds the lease"
    leader_pid = int(owner.decode().split(":")[1])
    leader, survivor = (host1, host2) if leader_pid in host1.workers() else (host2, host1)
    assert leader_pid in leader.workers()
    stopped_at = time.monotonic()
    leader.stop()
    wait_for(
        lambda: (
            (o := client_redis.get(ALERT_LEASE)) is not None
            and int(o.decode().split(":")[1]) in survivor.workers()
        ),
        what="the survivor to take the evaluator's lease",
        timeout_s=LEASE_TTL_S + 30,
    )
    assert time.monotonic() - stopped_at < LEASE_TTL_S + 30
    # the new leader follows the household once it holds the lease and has loaded its
    # statistics: a meter keeps sending, so spike windows follow one another until one is judged
    at = (int(time.time()) // INTERVAL + 2) * INTERVAL
    _post(survivor, key, _window(at, 0.5))
    at = _post_until(survivor, key, at + INTERVAL, 15.0, lambda: _spike_alerts(hook, 15.0))
    _post_until(survivor, key, at, 0.5, lambda: _recovered_after(hook, at))
    _check_once_each(hook, fcm)
    assert len(_spike_alerts(hook, 15.0)) == 1
