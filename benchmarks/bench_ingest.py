"""Ingest throughput: MQTT → storage + stream, and HTTP batches, each against a same-run baseline,
into the embedded SQLite and into PostgreSQL (``--backends``).

* **MQTT**: the subscriber's persistent session is created, the subscriber goes away, a publisher
  process sends ``--messages`` meter readings (``gridlight/{h}/readings``, 3 channels each,
  QoS 1) to a local mosquitto, which queues them; then the subscriber returns and drains the
  backlog: Gridlight's (:mod:`server.ingest`: manual acks after storage, batched writes, then the
  in-process stream broker) against the baseline. Timed from the subscriber's start until every
  reading is stored *and* on the stream; zero loss is checked (every channel value in SQLite,
  every second on the stream). Draining a backlog measures the server's sustained ingest rate
  rather than the Python publisher's (about 3,000 messages/s here).
  The baseline is the usual first version: paho with automatic acks, one ``INSERT`` and
  ``COMMIT`` per channel value, then the stream publish.
* **HTTP**: ``POST /api/v1/households/{h}/readings`` with 10,000-reading batches to Gridlight's
  app served on loopback (werkzeug, threaded), against the same Flask route doing one ``INSERT``
  and ``COMMIT`` per channel value.

PostgreSQL: a throw-away cluster (:class:`tests.services.PostgresServer`) with durable commits
(``fsync`` and ``synchronous_commit`` on, unlike the test suite's cluster), each run in a fresh
database; Gridlight copies each batch in (``COPY``) and inserts it with its rollups in one
statement, the baseline commits each channel value with ``INSERT … ON CONFLICT DO NOTHING``.

Runs with one second per message (a meter) and ten (a gateway forwarding ten seconds at once).
Targets: zero loss and faster than the baseline everywhere; ≥ 20,000 channel readings/s with ten
seconds per message (MQTT) and ≥ 30,000 channel readings/s over HTTP into PostgreSQL. With one second per message the rate is bounded by paho itself: its network
loop reads one packet per ``select()``, about 7,700 messages/s on this machine with an empty
``on_message``, so 3-channel messages cannot exceed about 23,000 channel readings/s whatever the
server does after them. Prints the figures and PASS/FAIL; exits 1 on a missed target.
Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
import requests  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from server.broker import MemoryBroker  # noqa: E402
from server.config import defaults  # noqa: E402
from server.ingest import open_pipeline  # noqa: E402
from server.metrics import Metrics  # noqa: E402
from server.storage import KeyStore  # noqa: E402
from server.storage.database import Database, database_url, open_database, sqlite_url  # noqa: E402
from tests.services import PostgresServer, free_port, wait_for_port  # noqa: E402

CHANNELS = ("AC", "Geyser", "Overall")
HOUSEHOLDS = ("M1", "M2", "M3", "M4")
TARGET_MQTT_PER_S = 20_000
TARGET_HTTP_POSTGRES_PER_S = 30_000
TIMEOUT_S = 180.0


class DurablePostgres(PostgresServer):
    """The test cluster with durable commits (fsync, synchronous_commit), as in production."""

    def _command(self) -> list[str]:
        cmd = super()._command()
        out: list[str] = []
        i = 0
        while i < len(cmd):
            if cmd[i] == "-c" and cmd[i + 1].split("=")[0] in (
                "fsync",
                "synchronous_commit",
                "full_page_writes",
            ):
                i += 2
                continue
            out.append(cmd[i])
            i += 1
        return out


class Backend:
    """Where a run stores: the embedded SQLite (under the run's data directory) or a fresh
    PostgreSQL database of the benchmark's cluster."""

    def __init__(self, name: str, pg: PostgresServer | None) -> None:
        self.name = name
        self.pg = pg

    def gridlight_url(self, data: Path) -> str | None:
        """``DATABASE_URL`` of a Gridlight run (None: SQLite under ``data``)."""
        return self.pg.create_database() if self.pg is not None else None

    def baseline_url(self, data: Path) -> str:
        if self.pg is not None:
            return self.pg.create_database()
        return sqlite_url(data / "baseline.sqlite3")


def register(data: Path, url: str | None, households) -> list[str]:  # noqa: ANN001
    """Register ``households`` (Gridlight's key store of that installation); their keys."""
    db = open_database(database_url({"DATABASE_URL": url, "DATA_DIR": data}))
    try:
        keys = KeyStore(db)
        return [keys.add_household(h, CHANNELS)[1] for h in households]
    finally:
        db.dispose()


# -- a local mosquitto -------------------------------------------------------------------------
def start_mosquitto(workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    conf = workdir / "mosquitto.conf"
    # no queue limit (mosquitto's default 1000 would drop under a burst), in-flight as the
    # client asks (MQTT 5 Receive Maximum)
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
        "max_inflight_messages 0\npersistence false\n"
    )
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_for_port(port, proc=proc)
    return proc, port


def publisher(port: int, readings: int, per_message: int, t0_s: int) -> None:
    """``readings`` household-seconds (3 channels each), ``per_message`` consecutive seconds of
    one household per message (1: a meter; more: a gateway forwarding a few seconds at once)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}")
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    payloads = []
    for m in range(readings // per_message):
        household = HOUSEHOLDS[m % len(HOUSEHOLDS)]
        first = t0_s + (m // len(HOUSEHOLDS)) * per_message
        body = [
            {"ts": ts, "power_kw": {"AC": (ts % 7) / 7, "Geyser": 0.0, "Overall": 1 + (ts % 5) / 5}}
            for ts in range(first, first + per_message)
        ]
        payload = json.dumps(body[0] if per_message == 1 else body)
        payloads.append((f"gridlight/{household}/readings", payload))
    last = None
    for topic, payload in payloads:
        last = client.publish(topic, payload, qos=1)
    if last is not None:
        last.wait_for_publish(timeout=TIMEOUT_S)
    client.disconnect()
    client.loop_stop()


# -- the baseline: automatic acks, one INSERT + COMMIT per channel value ------------------------
class RowPerCommit:
    """The baseline's storage: one ``INSERT`` and ``COMMIT`` per channel value."""

    def __init__(self, url: str) -> None:
        self.lock = threading.Lock()
        self.postgres = url.startswith("postgresql")
        if self.postgres:
            import psycopg

            self.conn = psycopg.connect(url)
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS readings (household text, channel text, ts_s bigint,"
                " power_kw double precision, PRIMARY KEY (household, channel, ts_s))"
            )
            self.conn.commit()
            return
        self.conn = sqlite3.connect(
            url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS readings (household TEXT, channel TEXT, ts_s INTEGER,"
            " power_kw REAL, PRIMARY KEY (household, channel, ts_s)) WITHOUT ROWID"
        )

    def insert(self, household: str, channel: str, ts_s: int, value: float | None) -> int:
        with self.lock:
            if self.postgres:
                cur = self.conn.execute(
                    "INSERT INTO readings VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (household, channel, ts_s, value),
                )
                self.conn.commit()
                return cur.rowcount
            self.conn.execute("BEGIN")
            cur = self.conn.execute(
                "INSERT OR IGNORE INTO readings VALUES (?, ?, ?, ?)",
                (household, channel, ts_s, value),
            )
            self.conn.execute("COMMIT")
            return cur.rowcount

    def close(self) -> None:
        self.conn.close()


class BaselineSubscriber:
    def __init__(self, port: int, url: str, broker: MemoryBroker) -> None:
        self.rows = RowPerCommit(url)
        self.broker = broker
        self.connected = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="bench-baseline", clean_session=False
        )
        self.client.on_connect = lambda c, u, f, rc, p: (
            c.subscribe("gridlight/+/readings", qos=1),
            self.connected.set(),
        )
        self.client.on_message = self.on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def on_message(self, client, userdata, msg) -> None:  # noqa: ANN001
        household = msg.topic.split("/")[1]
        body = json.loads(msg.payload)
        for reading in body if isinstance(body, list) else [body]:
            for channel, value in reading["power_kw"].items():
                self.rows.insert(household, channel, int(reading["ts"]), value)
            self.broker.publish(household, reading)

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.rows.close()


def stored(db: Database) -> int:
    with db.read() as c:
        return int(c.execute(sa.text("SELECT count(*) FROM readings")).scalar_one())


def stream_count(broker: MemoryBroker) -> int:
    return sum(len(broker.range(h, None, 10**9)) for h in HOUSEHOLDS)


class CountingBroker(MemoryBroker):
    """The in-process stream broker, counting publishes (cheap to poll while measuring)."""

    published = 0

    def publish(self, household: str, reading: dict) -> str:
        entry_id = super().publish(household, reading)
        self.published += 1
        return entry_id


def run_mqtt(kind: str, messages: int, per_message: int, workdir: Path, backend: Backend) -> dict:
    proc, port = start_mosquitto(workdir)
    data = workdir / f"data-{backend.name}-{kind}-{per_message}"
    data.mkdir()
    broker = CountingBroker(maxlen=messages + 10)
    pipeline = None
    baseline = None
    try:
        if kind == "gridlight":
            url = backend.gridlight_url(data)
            register(data, url, HOUSEHOLDS)
            cfg = dict(defaults(), DATA_DIR=str(data), MQTT_URL=f"mqtt://127.0.0.1:{port}")
            cfg["RETENTION_ENABLED"] = False
            cfg["DATABASE_URL"] = url
            counter = Database(database_url(cfg))

            def subscribe():  # noqa: ANN202
                p = open_pipeline(cfg, broker.publish, Metrics().add)
                p.start_mqtt()
                assert p.mqtt is not None and p.mqtt.connected.wait(10)
                return p
        else:
            url = backend.baseline_url(data)
            RowPerCommit(url).close()  # the table exists before counting starts
            counter = Database(url)

            def subscribe():  # noqa: ANN202
                b = BaselineSubscriber(port, url, broker)
                assert b.connected.wait(10)
                return b

        # 1. the subscriber's persistent session and subscription, then it goes away
        first = subscribe()
        # (SUBSCRIBE precedes DISCONNECT on the same connection, so the broker has it)
        first.stop()
        # 2. the meters publish while it is away: the broker queues everything
        t0_s = int(time.time()) - messages // len(HOUSEHOLDS) - 600  # all inside the window
        pub = mp.Process(target=publisher, args=(port, messages, per_message, t0_s))
        pub.start()
        pub.join(TIMEOUT_S)
        # 3. it returns and drains the backlog: timed until every reading is stored and streamed
        start = time.perf_counter()
        if kind == "gridlight":
            pipeline = subscribe()
        else:
            baseline = subscribe()
        want_rows = messages * len(CHANNELS)
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:  # stream first (cheap), then the database
            if broker.published >= messages and stored(counter) >= want_rows:
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - start
        rows, entries = stored(counter), stream_count(broker)
        counter.dispose()
        return {
            "kind": kind,
            "seconds": elapsed,
            "rows": rows,
            "entries": entries,
            "lost": want_rows - rows + messages - entries,
            "rows_per_s": rows / elapsed,
            "messages_per_s": entries / elapsed,  # household-seconds on the stream
        }
    finally:
        if pipeline is not None:
            pipeline.stop()
        if baseline is not None:
            baseline.stop()
        proc.terminate()
        proc.wait(10)


# -- HTTP --------------------------------------------------------------------------------------
def serve(app, port: int):  # noqa: ANN001, ANN201
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    wait_for_port(port)
    return server


def baseline_app(url: str):  # noqa: ANN201
    from flask import Flask, jsonify, request

    app = Flask("baseline")
    rows = RowPerCommit(url)

    @app.post("/api/v1/households/<household>/readings")
    def post(household: str):  # noqa: ANN202
        accepted = 0
        for reading in request.get_json()["readings"]:
            for channel, value in reading["power_kw"].items():
                accepted += rows.insert(household, channel, int(reading["ts"]), value)
        return jsonify({"accepted": accepted})

    return app


def run_http(kind: str, batches: int, workdir: Path, backend: Backend) -> dict:
    data = workdir / f"http-{backend.name}-{kind}"
    data.mkdir()
    headers = {}
    if kind == "gridlight":
        from server import create_app

        url = backend.gridlight_url(data)
        (key,) = register(data, url, ["H1"])
        headers = {"Authorization": f"Bearer {key}"}
        app = create_app(
            {
                "DATA_DIR": str(data),
                "DATABASE_URL": url,
                "DEMO": False,
                "EMBEDDED_REPLAY": False,
                "RETENTION_ENABLED": False,
            }
        )
    else:
        app = baseline_app(backend.baseline_url(data))
    port = free_port()
    server = serve(app, port)
    t0_s = int(time.time()) - 6 * 86_400
    bodies = []
    for b in range(batches):
        readings = [
            {
                "ts": t0_s + b * 10_000 + i,
                "power_kw": {"AC": (i % 7) / 7, "Geyser": 0.0, "Overall": 1.5},
            }
            for i in range(10_000)
        ]
        bodies.append(json.dumps({"readings": readings}))
    session = requests.Session()
    url = f"http://127.0.0.1:{port}/api/v1/households/H1/readings"
    try:
        start = time.perf_counter()
        accepted = 0
        for body in bodies:
            r = session.post(
                url,
                data=body,
                headers={**headers, "Content-Type": "application/json"},
                timeout=TIMEOUT_S,
            )
            r.raise_for_status()
            accepted += r.json()["accepted"]
        elapsed = time.perf_counter() - start
    finally:
        server.shutdown()
        if kind == "gridlight":
            app.extensions["gridlight"].stop()
    want = batches * 10_000 * len(CHANNELS)
    return {
        "kind": kind,
        "seconds": elapsed,
        "rows": accepted,
        "lost": want - accepted,
        "rows_per_s": accepted / elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--readings",
        type=int,
        default=40_000,
        help="MQTT household-seconds per run (3 channel readings each)",
    )
    parser.add_argument("--batches", type=int, default=6, help="HTTP batches of 10,000 readings")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument("--skip-mqtt", action="store_true", help="HTTP only")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    failures = []
    pg = None
    try:
        for name in args.backends.split(","):
            if name == "postgresql" and pg is None:
                (workdir / "postgres").mkdir()
                pg = DurablePostgres(workdir / "postgres")
                pg.start()
            backend = Backend(name, pg if name == "postgresql" else None)
            failures += run_backend(backend, args, workdir)
    finally:
        if pg is not None:
            pg.__exit__(None, None, None)
        shutil.rmtree(workdir, ignore_errors=True)
    for failure in failures:
        print(f"FAIL: {failure}")
    print("PASS" if not failures else "FAIL")
    return 1 if failures else 0


def run_backend(backend: Backend, args: argparse.Namespace, workdir: Path) -> list[str]:
    failures = []
    where = backend.name
    for per_message in () if args.skip_mqtt else (1, 10):
        print(
            f"[{where}] MQTT: {args.readings} household-seconds x {len(CHANNELS)} channels, "
            f"{per_message} per message, QoS 1, backlog drained from a loopback mosquitto",
            flush=True,
        )
        base = run_mqtt("baseline", args.readings, per_message, workdir, backend)
        ours = run_mqtt("gridlight", args.readings, per_message, workdir, backend)
        for r in (base, ours):
            print(
                f"  {r['kind']:9s} {r['seconds']:7.2f} s  {r['rows_per_s']:9.0f} channel "
                f"readings/s  {r['messages_per_s']:8.0f} household-seconds/s  "
                f"{r['messages_per_s'] / per_message:8.0f} messages/s  stored {r['rows']}  "
                f"stream {r['entries']}  lost {r['lost']}",
                flush=True,
            )
        speedup = ours["rows_per_s"] / base["rows_per_s"]
        print(f"  speed-up over the baseline: {speedup:.1f}x", flush=True)
        if ours["lost"] != 0:
            failures.append(f"[{where}] MQTT ({per_message}/message) lost {ours['lost']} readings")
        if speedup <= 1.0:
            failures.append(f"[{where}] MQTT ({per_message}/message) not faster than the baseline")
        if per_message > 1 and ours["rows_per_s"] < TARGET_MQTT_PER_S:
            failures.append(
                f"[{where}] MQTT ({per_message}/message) {ours['rows_per_s']:.0f}/s < "
                f"{TARGET_MQTT_PER_S}/s"
            )

    print(
        f"[{where}] HTTP: {args.batches} batches x 10,000 readings x {len(CHANNELS)} channels",
        flush=True,
    )
    http_base = run_http("baseline", args.batches, workdir, backend)
    http_ours = run_http("gridlight", args.batches, workdir, backend)
    for r in (http_base, http_ours):
        print(
            f"  {r['kind']:9s} {r['seconds']:7.2f} s  {r['rows_per_s']:9.0f} channel readings/s"
            f"  {r['rows_per_s'] / len(CHANNELS) / 10_000:6.2f} batches/s  lost {r['lost']}",
            flush=True,
        )
    http_speedup = http_ours["rows_per_s"] / http_base["rows_per_s"]
    print(f"  speed-up over the baseline: {http_speedup:.1f}x", flush=True)
    if http_ours["lost"] != 0:
        failures.append(f"[{where}] HTTP lost {http_ours['lost']} readings")
    if http_speedup <= 1.0:
        failures.append(f"[{where}] HTTP not faster than the baseline")
    if backend.pg is not None and http_ours["rows_per_s"] < TARGET_HTTP_POSTGRES_PER_S:
        failures.append(
            f"[{where}] HTTP {http_ours['rows_per_s']:.0f}/s < {TARGET_HTTP_POSTGRES_PER_S}/s"
        )
    return failures


if __name__ == "__main__":
    sys.exit(main())
