"""Command round trip, served for real: API POST → MQTT → simulated device → ack → SSE event.

``python -m server run`` (gunicorn, two gevent workers, ``docker/gunicorn.conf.py``) with a real
``redis-server`` and ``mosquitto`` on free loopback ports (``tests/services.py``), a live
household H1 with a plug, and a simulated device (a paho client, as in
``tests/server/control/conftest.py``) that answers every set on
``gridlight/H1/control/plug1/state``. An SSE client reads ``/api/v1/households/H1/stream``
while ``--n`` commands are POSTed one after another (``--gap-ms`` apart) to
``…/controls/plug1/commands``; the latency of a command is from just before its POST to the
arrival of its ``event: command`` with ``status: acked``. Aim (#20): p99 < 500 ms on loopback.

    python benchmarks/bench_control.py [--n 200] [--gap-ms 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import requests
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.storage import KeyStore, command_database  # noqa: E402
from tests.server.streaming.sse_client import SSEClient  # noqa: E402
from tests.services import MosquittoServer, RedisServer, free_port, wait_for_port  # noqa: E402

AIM_P99_MS = 500.0


class Device:
    """Answers every set with ok (as the tests' SimulatedDevice)."""

    def __init__(self, port: int, household: str, device: str) -> None:
        self.base = f"gridlight/{household}/control/{device}"
        self.ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, *a: (
            c.subscribe(f"{self.base}/set", qos=1),
            self.ready.set(),
        )
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self.ready.wait(10):
            raise RuntimeError("the simulated device did not connect")

    def _message(self, client, userdata, message) -> None:  # noqa: ANN001
        body = json.loads(message.payload)
        answer = {
            "command_id": body["command_id"],
            "ok": True,
            "state": {"on": body["action"] == "on"},
        }
        client.publish(f"{self.base}/state", json.dumps(answer), qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    args = parser.parse_args()
    n = max(1, min(args.n, 2000))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in ("redis", "mqtt", "data", "stats"):
            (work / name).mkdir()
        redis = RedisServer(work / "redis")
        broker = MosquittoServer(work / "mqtt")
        redis.start()
        broker.start()
        db = command_database(work / "data")
        _, key = KeyStore(db).add_household("H1", ["AC", "Geyser", "Overall"], timezone="UTC")
        db.dispose()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLIGHT_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update(
            {
                "PORT": str(port),
                "REDIS_URL": redis.url,
                "MQTT_URL": broker.url,
                "GRIDLIGHT_DATA_DIR": str(work / "data"),
                "GRIDLIGHT_STATS_CACHE_DIR": str(work / "stats"),
                "GRIDLIGHT_DEMO": "false",
                "GRIDLIGHT_WARM_STATS": "false",
                "GRIDLIGHT_PING_INTERVAL_S": "0.5",
                "GRIDLIGHT_LOG_LEVEL": "warning",
                "PYTHONPATH": str(ROOT),
            }
        )
        with open(work / "server.log", "ab") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "server", "run"],
                env=env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        device = None
        sse = None
        try:
            wait_for_port(port, proc=server, timeout_s=60)
            base = f"http://127.0.0.1:{port}/api/v1/households/H1"
            headers = {"Authorization": f"Bearer {key}"}
            plug = {"id": "plug1", "kind": "plug", "capabilities": ["on_off"], "power_kw": 2.0}
            r = requests.put(
                f"{base}/controls", json={"devices": [plug]}, headers=headers, timeout=10
            )
            r.raise_for_status()
            device = Device(broker.port, "H1", "plug1")
            sse = SSEClient(f"{base}/stream?interval=5", headers=headers, timeout_s=20)
            assert sse.status == 200, sse.response.read()
            sse.events(1, timeout_s=20, kind="")  # subscribed: its first ping
            arrived: dict[str, float] = {}
            done = threading.Event()

            def read() -> None:
                deadline = time.monotonic() + 60 + n * 0.5
                while not done.is_set() and time.monotonic() < deadline:
                    try:
                        block = sse.next(min(deadline, time.monotonic() + 1))
                    except TimeoutError:
                        continue
                    except (OSError, AttributeError, ValueError):  # closed at the end
                        return
                    if block is None:
                        return
                    if block.event == "command":
                        body = block.json()
                        if body["status"] == "acked":
                            arrived.setdefault(body["id"], time.perf_counter())

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            session = requests.Session()
            sent: dict[str, float] = {}
            post_ms = []
            for i in range(n):
                cid = f"b{i:05d}"
                began = time.perf_counter()
                r = session.post(
                    f"{base}/controls/plug1/commands",
                    json={"id": cid, "action": "on" if i % 2 else "off"},
                    headers=headers,
                    timeout=10,
                )
                post_ms.append((time.perf_counter() - began) * 1000)
                assert r.status_code == 202, r.text
                sent[cid] = began
                time.sleep(args.gap_ms / 1000)
            wait_until = time.monotonic() + 30
            while len(arrived) < n and time.monotonic() < wait_until:
                time.sleep(0.05)
            done.set()
            reader.join(timeout=5)
            lat = [(arrived[c] - sent[c]) * 1000 for c in sent if c in arrived]
        finally:
            if sse is not None:
                sse.close()
            if device is not None:
                device.close()
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
            broker.stop()
            redis.stop()
    missing = n - len(lat)
    print(
        f"served: python -m server run (gunicorn, 2 gevent workers), redis-server, mosquitto on "
        f"loopback; {n} commands, {args.gap_ms:g} ms apart, one SSE client"
    )
    print(f"POST -> 202: p50 {statistics.median(post_ms):.1f} ms, p99 {pct(post_ms, 0.99):.1f} ms")
    if lat:
        print(
            f"POST -> SSE 'command' acked: p50 {statistics.median(lat):.1f} ms, p99 "
            f"{pct(lat, 0.99):.1f} ms, max {max(lat):.1f} ms; acked events missing: {missing}"
        )
    p99 = pct(lat, 0.99) if lat else float("inf")
    checks = [
        (f"every command acked on the stream: {n - missing}/{n}", missing == 0),
        (f"round trip p99 < {AIM_P99_MS:g} ms: {p99:.1f} ms", p99 < AIM_P99_MS),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
