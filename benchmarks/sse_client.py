"""A lean SSE load client: thousands of concurrent EventSource-like connections in one process.

Run as ``python benchmarks/sse_client.py``; it reads one JSON command per line on stdin and
answers each with one JSON line on stdout (the benchmark drives one or more of these processes):

``{"cmd": "open", "targets": [[host, port, path, interval_s], ...], "n": N, "offset": K, "rate": R}``
    open N more connections, assigned round-robin over ``targets`` starting at index K, at most R
    new connections per second; answers once every new one has its response headers (or failed).
``{"cmd": "mark"}``
    start a measurement window: forget the ids and latencies seen so far.
``{"cmd": "report", "expected": {path: [id, ...]}}``
    the window's figures: events received, latency histograms, events lost (``expected`` ids of a
    client's stream that the client never received since the mark), duplicates, out-of-order
    events, drops and reconnects.
``{"cmd": "reset"}``
    close every connection and forget them (the next ``open`` starts from none).
``{"cmd": "close"}``
    close every connection and exit.

Each connection speaks HTTP/1.1 (chunked or not, as the server chooses), parses only what it needs
of each event (the ``id`` line, the ``event`` line and the data's ``"ts"``), and on a dropped
connection reconnects with ``Last-Event-ID`` like a browser's EventSource (a bounded number of
times). Latency is measured two ways, in whole milliseconds:

* ``pub``: arrival time minus the publish time encoded in a Redis stream entry id
  (``<unix ms>-<seq>``), i.e. publish-to-receive;
* ``ts``: arrival time minus ``ts + interval_s`` from the event's data (DESIGN.md's definition;
  negative when a server sends a window before its end, down to -5 s).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from datetime import datetime

__all__ = ["ConnectionPool", "SSEConnection", "main", "raise_fd_limit"]

MAX_LATENCY_MS = 60_000  # histogram range; slower events land in the last bin
TS_OFFSET_MS = 5_000  # the ts-based latency may be negative (a window sent before its end)
MAX_HEAD_BYTES = 65_536
MAX_RECONNECTS = 10  # per connection, over its life
HEADERS_TIMEOUT_S = 20.0
CONNECT_TIMEOUT_S = 10.0
CONNECT_TRIES = 3
RECONNECT_DELAY_S = 1.0
OPEN_TIMEOUT_S = 120.0


def raise_fd_limit() -> int:
    """Raise this process's soft ``RLIMIT_NOFILE`` to its hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def _parse_entry_id(value: bytes) -> tuple[int, int] | None:
    """``b"1763792750000-3"`` → ``(1763792750000, 3)``; None if it is not a stream entry id."""
    ms, sep, seq = value.partition(b"-")
    if not sep or not ms.isdigit() or not seq.isdigit():
        return None
    return int(ms), int(seq)


class ConnectionPool:
    """The connections of one client process and the figures of the current window."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.connections: list[SSEConnection] = []
        self._ts_cache: dict[bytes, float] = {}
        self.mark_time = 0.0
        self.reset_window()

    def reset_window(self) -> None:
        self.mark_time = time.time()
        self.hist_pub = [0] * (MAX_LATENCY_MS + 1)
        self.hist_ts = [0] * (TS_OFFSET_MS + MAX_LATENCY_MS + 1)
        self.events = 0
        self.other_events = 0
        self.duplicates = 0
        self.out_of_order = 0
        self.drops = 0
        self.reconnects = 0
        self.bytes_received = 0
        for conn in self.connections:
            conn.ids.clear()

    def ts_epoch(self, ts: bytes) -> float | None:
        """``b"2026-11-22T06:25:50Z"`` → Unix seconds, cached (every client sees the same few)."""
        epoch = self._ts_cache.get(ts)
        if epoch is None:
            try:
                epoch = datetime.fromisoformat(ts.decode().replace("Z", "+00:00")).timestamp()
            except ValueError:
                return None
            if len(self._ts_cache) > 100_000:
                self._ts_cache.clear()
            self._ts_cache[ts] = epoch
        return epoch

    @property
    def connected(self) -> int:
        return sum(1 for c in self.connections if c.open)

    async def open(self, targets: list, n: int, offset: int, rate: float) -> dict:
        """Open ``n`` connections at ``rate`` per second; wait until all have headers or failed."""
        start = time.monotonic()
        new = []
        for i in range(n):
            host, port, path, interval_s = targets[(offset + i) % len(targets)]
            conn = SSEConnection(self, host, int(port), path, int(interval_s))
            self.connections.append(conn)
            new.append(conn)
            conn.start()
            # pace: connection i goes out at start + i / rate
            delay = start + (i + 1) / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        deadline = time.monotonic() + OPEN_TIMEOUT_S
        while time.monotonic() < deadline:
            if all(c.open or c.failed for c in new):
                break
            await asyncio.sleep(0.05)
        return {
            "opened": sum(1 for c in new if c.open),
            "failed": sum(1 for c in new if c.failed),
            "pending": sum(1 for c in new if not (c.open or c.failed)),
            "errors": _count_errors(new),
            "elapsed_s": round(time.monotonic() - start, 3),
        }

    def report(self, expected: dict[str, list[str]]) -> dict:
        expected_sets = {path: {i.encode() for i in ids} for path, ids in expected.items()}
        lost = 0
        clients_with_loss = 0
        measured = 0
        late = 0
        for conn in self.connections:
            if not conn.ever_open or conn.failed:
                continue
            if not conn.first_event_at or conn.first_event_at > self.mark_time:
                # no reading before the window opened (connected late, or its stream was slow to
                # start): not comparable, counted apart
                late += 1
                continue
            want = expected_sets.get(conn.path)
            if want is None:
                continue
            measured += 1
            missing = len(want - conn.ids)
            if missing:
                lost += missing
                clients_with_loss += 1
        cpu = os.times()
        return {
            "clients": len(self.connections),
            "connected": self.connected,
            "failed": sum(1 for c in self.connections if c.failed),
            "measured": measured,
            "late": late,
            "events": self.events,
            "other_events": self.other_events,
            "lost": lost,
            "clients_with_loss": clients_with_loss,
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
            "drops": self.drops,
            "reconnects": self.reconnects,
            "bytes": self.bytes_received,
            "hist_pub": {i: c for i, c in enumerate(self.hist_pub) if c},
            "hist_ts": {i - TS_OFFSET_MS: c for i, c in enumerate(self.hist_ts) if c},
            "cpu_s": cpu.user + cpu.system,
        }

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


def _count_errors(conns: list[SSEConnection]) -> dict[str, int]:
    errors: dict[str, int] = {}
    for c in conns:
        if c.error:
            errors[c.error] = errors.get(c.error, 0) + 1
    return errors


class SSEConnection(asyncio.Protocol):
    """One EventSource-like client: GET the stream, parse events, reconnect with Last-Event-ID."""

    def __init__(self, pool: ConnectionPool, host: str, port: int, path: str, interval_s: int):
        self.pool = pool
        self.host = host
        self.port = port
        self.path = path
        self.interval_s = interval_s
        self.transport: asyncio.Transport | None = None
        self.open = False  # headers received, stream running
        self.ever_open = False
        self.failed = False  # never got a stream (after retries) or gave up reconnecting
        self.closing = False
        self.error = ""
        self.ids: set[bytes] = set()
        self.last_id: bytes | None = None
        self.last_key: tuple[int, int] | None = None
        self.reconnects = 0
        self.attempts = 0
        self.first_open_at = 0.0
        self.first_event_at = 0.0
        self._reset_parser()

    def _reset_parser(self) -> None:
        self.head = b""
        self.headers_done = False
        self.chunked = False
        self.chunk_left = 0
        self.need_crlf = False
        self.raw = b""
        self.buf = b""

    # -- connection management -------------------------------------------------------------

    def start(self) -> None:
        self.pool.loop.create_task(self._connect())

    async def _connect(self) -> None:
        while self.attempts < CONNECT_TRIES:
            attempt = self.attempts
            self.attempts += 1
            if self.closing:
                return
            try:
                await asyncio.wait_for(
                    self.pool.loop.create_connection(lambda: self, self.host, self.port),
                    CONNECT_TIMEOUT_S,
                )
            except (OSError, TimeoutError) as err:
                self.error = type(err).__name__
                await asyncio.sleep(0.5 * (attempt + 1))
                continue
            self.pool.loop.call_later(HEADERS_TIMEOUT_S, self._check_headers, self.transport)
            return
        self._give_up()

    def _give_up(self) -> None:
        self.open = False
        self.failed = True

    def _check_headers(self, transport: asyncio.Transport | None) -> None:
        if transport is self.transport and not self.headers_done and not self.closing:
            self.error = "headers timeout"
            self._give_up()
            self.closing = True
            if self.transport is not None:
                self.transport.abort()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._reset_parser()
        lines = [
            f"GET {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Accept: text/event-stream",
            "Cache-Control: no-cache",
        ]
        if self.last_id is not None:
            lines.append(f"Last-Event-ID: {self.last_id.decode()}")
        transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        was_open = self.open
        self.open = False
        self.transport = None
        if self.closing or self.failed:
            return
        if was_open:
            self.pool.drops += 1
            self.error = "dropped" if exc is None else type(exc).__name__
        if not self.ever_open:
            # closed before any stream: retried like a refused connection, a bounded number of times
            self.error = "closed before headers"
            if self.attempts >= CONNECT_TRIES:
                self._give_up()
            else:
                self.pool.loop.call_later(0.5 * self.attempts, self.start)
            return
        if self.reconnects >= MAX_RECONNECTS:
            self._give_up()
            return
        self.reconnects += 1
        self.pool.reconnects += 1
        self.pool.loop.call_later(RECONNECT_DELAY_S, self.start)

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    # -- parsing ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.pool.bytes_received += len(data)
        if not self.headers_done:
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > MAX_HEAD_BYTES:
                    self.error = "oversized headers"
                    self._fail_now()
                return
            head = self.head[:end]
            data = self.head[end + 4 :]
            self.head = b""
            status = head.split(b"\r\n", 1)[0].split(b" ", 2)
            if len(status) < 2 or status[1] != b"200":
                self.error = f"HTTP {status[1].decode() if len(status) > 1 else '?'}"
                self._fail_now()
                return
            self.chunked = b"transfer-encoding: chunked" in head.lower()
            self.headers_done = True
            self.open = True
            if not self.ever_open:
                self.first_open_at = now
            self.ever_open = True
            self.attempts = 0  # a later reconnection gets its own tries
        if self.chunked:
            data = self._dechunk(data)
        if not data:
            return
        buf = self.buf + data if self.buf else data
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            self._event(buf[start:end], now)
            start = end + 2
        self.buf = buf[start:]

    def _fail_now(self) -> None:
        self._give_up()
        self.closing = True
        if self.transport is not None:
            self.transport.abort()

    def _dechunk(self, data: bytes) -> bytes:
        raw = self.raw + data if self.raw else data
        out = []
        pos = 0
        n = len(raw)
        while pos < n:
            if self.chunk_left:
                take = min(self.chunk_left, n - pos)
                out.append(raw[pos : pos + take])
                pos += take
                self.chunk_left -= take
                if self.chunk_left:
                    break
                self.need_crlf = True
            if self.need_crlf:
                if n - pos < 2:
                    break
                pos += 2
                self.need_crlf = False
            eol = raw.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(raw[pos:eol].split(b";", 1)[0], 16)
            pos = eol + 2
            if size == 0:  # end of the response body: the server closes the stream
                if self.transport is not None:
                    self.transport.close()
                pos = n
                break
            self.chunk_left = size
        self.raw = raw[pos:]
        return b"".join(out)

    def _event(self, block: bytes, now: float) -> None:
        if not block or block[0] == 0x3A:  # ":" comment (ping)
            return
        pool = self.pool
        # the id line: first (Gridlight) or anywhere (Flask-SSE puts it last)
        if block.startswith(b"id:"):
            start = 3
        else:
            start = block.find(b"\nid:")
            if start < 0:
                if b"data:" in block:
                    pool.other_events += 1
                return
            start += 4
        end = block.find(b"\n", start)
        event_id = (block[start:] if end < 0 else block[start:end]).strip()
        if b"event:" in block and b"event: reading" not in block and b"event:reading" not in block:
            pool.other_events += 1
            self.last_id = event_id
            return
        pool.events += 1
        if not self.first_event_at:
            self.first_event_at = now
        if event_id in self.ids:
            pool.duplicates += 1
        else:
            self.ids.add(event_id)
        self.last_id = event_id
        key = _parse_entry_id(event_id)
        if key is not None:
            if self.last_key is not None and key <= self.last_key:
                pool.out_of_order += 1
            self.last_key = key
            ms = int(now * 1000.0) - key[0]
            pool.hist_pub[min(max(ms, 0), MAX_LATENCY_MS)] += 1
        at = block.find(b'"ts":"')
        if at >= 0:
            epoch = pool.ts_epoch(block[at + 6 : block.find(b'"', at + 6)])
            if epoch is not None:
                ms = round((now - epoch - self.interval_s) * 1000.0) + TS_OFFSET_MS
                pool.hist_ts[min(max(ms, 0), TS_OFFSET_MS + MAX_LATENCY_MS)] += 1


async def _serve_commands(pool: ConnectionPool) -> None:
    loop = pool.loop
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        name = cmd.get("cmd")
        if name == "open":
            answer = await pool.open(cmd["targets"], int(cmd["n"]), int(cmd["offset"]), cmd["rate"])
        elif name == "mark":
            pool.reset_window()
            answer = {"ok": True}
        elif name == "report":
            answer = pool.report(cmd["expected"])
        elif name == "reset":
            pool.close()
            pool.connections = []
            pool.reset_window()
            answer = {"ok": True}
        elif name == "close":
            pool.close()
            out.write(json.dumps({"ok": True}) + "\n")
            out.flush()
            break
        else:
            answer = {"error": f"unknown command {name!r}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()


def main() -> int:
    raise_fd_limit()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pool = ConnectionPool(loop)
    try:
        loop.run_until_complete(_serve_commands(pool))
    finally:
        pool.close()
        loop.run_until_complete(asyncio.sleep(0.1))
        loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
