"""The benchmark's SSE load client counts what it receives, loses and resumes correctly.

A minimal SSE server on loopback (chunked HTTP/1.1, like gunicorn's) is driven by the test: it
sends events with Redis-style ids, can skip an event for one connection, and can drop one.
``benchmarks/sse_client.py`` runs as the benchmark runs it, a child process spoken to in JSON
lines.
"""

from __future__ import annotations

import json
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[1] / "benchmarks" / "sse_client.py"
DEADLINE_S = 10.0


class TinySSEServer:
    """Accepts SSE requests and sends what the test tells it to, as chunked HTTP/1.1."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.last_event_ids: list[str | None] = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                head += chunk
            last = None
            for line in head.decode().split("\r\n"):
                if line.lower().startswith("last-event-id:"):
                    last = line.split(":", 1)[1].strip()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + self._chunk(b": ping\n\n")
            )
            with self.lock:
                self.conns.append(conn)
                self.last_event_ids.append(last)

    @staticmethod
    def _chunk(payload: bytes) -> bytes:
        return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"

    def send(self, event_id: str, ts: str, skip: socket.socket | None = None) -> None:
        body = (
            f'id: {event_id}\nevent: reading\ndata: {{"household":"A","interval_s":1,'
            f'"ts":"{ts}"}}\n\n'
        ).encode()
        frame = self._chunk(body)
        with self.lock:
            for conn in self.conns:
                if conn is not skip:
                    conn.sendall(frame[:7])  # split a frame across writes
                    conn.sendall(frame[7:])

    def drop(self, conn: socket.socket) -> None:
        with self.lock:
            self.conns.remove(conn)
        conn.close()

    def count(self) -> int:
        with self.lock:
            return len(self.conns)

    def close(self) -> None:
        self.sock.close()
        with self.lock:
            for conn in self.conns:
                conn.close()


class ClientProcess:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(CLIENT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        self.sel = selectors.DefaultSelector()
        assert self.proc.stdout is not None
        self.sel.register(self.proc.stdout, selectors.EVENT_READ)

    def command(self, **cmd: object) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        self.proc.stdin.flush()
        if not self.sel.select(DEADLINE_S):
            raise TimeoutError(f"load client did not answer {cmd['cmd']!r}")
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        try:
            self.command(cmd="close")
        finally:
            self.proc.wait(timeout=DEADLINE_S)
            self.sel.close()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()


def poll(predicate, what: str):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise TimeoutError(f"timed out waiting for {what}")


@pytest.fixture
def server() -> Iterator[TinySSEServer]:
    srv = TinySSEServer()
    yield srv
    srv.close()


@pytest.fixture
def client() -> Iterator[ClientProcess]:
    proc = ClientProcess()
    yield proc
    proc.close()


def test_counts_events_losses_and_resumes_with_last_event_id(
    server: TinySSEServer, client: ClientProcess
) -> None:
    opened = client.command(
        cmd="open", targets=[["127.0.0.1", server.port, "/s", 1]], n=4, offset=0, rate=1000
    )
    assert opened["opened"] == 4 and opened["failed"] == 0
    poll(lambda: server.count() == 4, "4 connections")
    now_ms = int(time.time() * 1000)
    ts = datetime.fromtimestamp(now_ms // 1000 - 1, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # every client has its first reading before the window opens, so all four are measured
    server.send(f"{now_ms - 1}-0", ts)
    poll(lambda: client.command(cmd="report", expected={})["events"] == 4, "the first 4 readings")
    assert client.command(cmd="mark") == {"ok": True}

    ids = [f"{now_ms + i}-0" for i in range(5)]
    victim = server.conns[0]
    for i, event_id in enumerate(ids):
        server.send(event_id, ts, skip=victim if i == 2 else None)

    def report_when_all_arrived() -> dict | None:
        report = client.command(cmd="report", expected={"/s": ids})
        return report if report["events"] == 4 * 5 - 1 else None

    report = poll(report_when_all_arrived, "19 events")
    assert report["lost"] == 1
    assert report["clients_with_loss"] == 1
    assert report["duplicates"] == 0 and report["out_of_order"] == 0
    assert report["connected"] == 4 and report["drops"] == 0
    assert report["measured"] == 4 and report["late"] == 0
    assert sum(report["hist_pub"].values()) == 19
    assert sum(report["hist_ts"].values()) == 19
    assert max(int(ms) for ms in report["hist_pub"]) < 5_000

    # the server drops a connection: the client reconnects with Last-Event-ID
    server.drop(server.conns[1])
    poll(lambda: server.count() == 4, "the reconnection")
    assert server.last_event_ids[-1] == ids[-1]
    report = poll(
        lambda: (r := client.command(cmd="report", expected={})) and r["connected"] == 4 and r,
        "4 connected clients",
    )
    assert report["drops"] == 1 and report["reconnects"] == 1


def test_a_refused_stream_counts_as_failed(client: ClientProcess) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there any more
    opened = client.command(
        cmd="open", targets=[["127.0.0.1", port, "/s", 1]], n=2, offset=0, rate=1000
    )
    assert opened["opened"] == 0 and opened["failed"] == 2
    assert opened["errors"] == {"ConnectionRefusedError": 2}
