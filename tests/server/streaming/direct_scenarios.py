"""Direct socket writes (server.streaming.direct) in a gevent-patched process, as under gunicorn's worker.

``python -m tests.server.streaming.direct_scenarios <scenario>`` prints one JSON object; ``test_direct.py``
runs each scenario in its own subprocess (the patching must come before anything else is
imported) and checks it. A stream runs in a greenlet the way gunicorn's worker drives it: every
chunk it yields is framed and sent, then the closing chunk. Its client is a real loopback TCP
socket whose buffers are made small, so a client that does not read fills them after a few events.
Every wait is a bounded loop of cooperative sleeps.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import gevent  # noqa: E402

from generator.times import format_ts  # noqa: E402
from server.broker import MemoryBroker  # noqa: E402
from server.broker.base import parse_id  # noqa: E402
from server.metrics import Metrics  # noqa: E402
from server.streaming.aggregate import EventKey  # noqa: E402
from server.streaming.bodies import StreamSettings, live_stream  # noqa: E402
from server.streaming.direct import SocketWriter, chunk  # noqa: E402
from server.streaming.hub import END, Channel, Hub  # noqa: E402
from server.streaming.sse import Event  # noqa: E402

T0 = 1_700_000_000
EVENT_BYTES = 1000
BUFFER_BYTES = 4096


def wait_until(check, what: str, timeout_s: float = 5.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        gevent.sleep(0.001)


def encode(window) -> bytes:  # noqa: ANN001
    body = f"{window.start_s}:" + "x" * EVENT_BYTES
    return Event(data=body, event="reading", id=str(window.key)).encode()


class Stream:
    """A channel, one subscribed stream served over loopback TCP, and its client's socket."""

    def __init__(self, queue_len: int, *, start: bool = True) -> None:
        self.metrics = Metrics()
        self.hub = Hub(MemoryBroker(), self.metrics)
        self.channel = Channel(self.hub, "A", ("AC",), 1, "v1", encode)
        self.channel.prime(self.hub.broker)
        self.queue_len = queue_len
        self.published = 0
        self.received = b""
        listener = socket.create_server(("127.0.0.1", 0))
        self.client = socket.socket()
        self.client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER_BYTES)
        self.client.connect(listener.getsockname())
        self.server, _ = listener.accept()
        listener.close()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER_BYTES)
        self.writer = SocketWriter(self.server, chunked=True)
        self.error: str | None = None
        if start:
            self.start()
            wait_until(lambda: self.sub is not None and self.sub.direct, "the stream to go direct")

    def start(self, last_event: EventKey | None = None) -> None:
        settings = StreamSettings(queue_len=self.queue_len)
        body = live_stream(self.hub, settings, lambda: self.channel, last_event, self.writer)
        self.greenlet = gevent.spawn(self._serve, body)

    @property
    def sub(self):  # noqa: ANN201
        return next(iter(self.channel.subscribers), None)

    def _serve(self, body) -> None:  # noqa: ANN001
        try:
            for piece in body:  # gunicorn: Response.write of every chunk, then Response.close
                self.server.sendall(chunk(piece))
            self.server.sendall(b"0\r\n\r\n")
        except OSError as err:
            self.error = type(err).__name__
        finally:
            self.server.close()

    def publish(self, n: int, *, feed: bool = True) -> list[tuple[str, dict]]:
        """``n`` more readings into the broker, one second each (every one closes the window
        before it), handed to the channel as its reader would unless ``feed`` is false."""
        entries = []
        for _ in range(n):
            self.published += 1
            reading = {"ts": format_ts(T0 + self.published), "power_kw": {"AC": 1}}
            entries.append((self.hub.broker.publish("A", reading), reading))
        if feed:
            self.channel.on_entries(entries)
        return entries

    def read_all(self, until_end: bool) -> bytes:
        """Everything the client's socket delivers, until the closing chunk or EOF."""
        self.client.settimeout(5)
        while not (until_end and self.received.endswith(b"0\r\n\r\n")):
            got = self.client.recv(65536)
            if not got:
                break
            self.received += got
        return self.received


def parse_chunked(data: bytes) -> tuple[list[int], bool]:
    """Window starts of the events in an HTTP/1.1 chunked body, and whether it ended properly."""
    body = b""
    rest = data
    complete = False
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            break
        size = int(size_line, 16)
        if size == 0:
            complete = rest == b"\r\n"
            break
        if len(rest) < size + 2:
            break  # cut off mid-chunk
        assert rest[size : size + 2] == b"\r\n", "bad chunk framing"
        body += rest[:size]
        rest = rest[size + 2 :]
    starts = []
    for line in body.decode().split("\n"):  # nothing but SSE lines, or the framing is wrong
        field, _, value = line.partition(": ")
        if field == "data":
            starts.append(int(value.partition(":")[0]) - T0)
        else:
            assert field in ("", "id", "event", "retry") or line == ": ping", repr(line)
    return starts, complete


def slow_reader_catches_up() -> dict:
    """The client stops reading during a burst: the socket fills, the rest waits in the stream's
    queue, the client reads everything in order, and the channel writes directly again."""
    stream = Stream(queue_len=1000)
    stream.publish(200)
    fell_back = not stream.sub.direct
    queued = stream.sub.queue.qsize()
    reader = gevent.spawn(stream.read_all, True)  # the client reads again
    wait_until(lambda: stream.sub.direct, "the stream to write its queue and go direct again")
    stream.publish(20)  # 220 readings, 220 one-second windows
    stream.channel.ping(END)  # the hub stops: the closing chunk follows the events
    starts, complete = parse_chunked(reader.get(timeout=10))
    return {
        "fell_back": fell_back,
        "queued": queued,
        "starts": starts,
        "complete": complete,
        "dropped": stream.metrics.values.get("gridlight_sse_slow_clients_dropped_total", 0),
        "sent": stream.metrics.values.get("gridlight_sse_events_sent_total", 0),
    }


def stalled_reader_is_dropped() -> dict:
    """A client that never reads: once its queue is full it is dropped and its connection shut
    down, which also ends a stream blocked writing to it."""
    stream = Stream(queue_len=8)
    stream.publish(200)
    wait_until(lambda: stream.greenlet.dead, "the stream to end")
    starts, complete = parse_chunked(stream.read_all(until_end=False))
    return {
        "starts": starts,
        "complete": complete,
        "subscribers": len(stream.channel.subscribers),
        "dropped": stream.metrics.values.get("gridlight_sse_slow_clients_dropped_total", 0),
        "connected": stream.metrics.values.get("gridlight_sse_clients_connected", 0),
    }


def departed_client_ends_the_stream() -> dict:
    """The client closes its connection: the next direct write fails and the stream ends,
    counted as a departure, not as a slow client."""
    stream = Stream(queue_len=8)
    stream.publish(3)
    stream.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    stream.client.close()  # with linger 0: a reset, so the next send fails at once
    for _ in range(50):  # bounded: a few writes find the reset
        if stream.greenlet.dead:
            break
        stream.publish(1)
        gevent.sleep(0.01)
    wait_until(lambda: stream.greenlet.dead, "the stream to end")
    return {
        "subscribers": len(stream.channel.subscribers),
        "dropped": stream.metrics.values.get("gridlight_sse_slow_clients_dropped_total", 0),
        "connected": stream.metrics.values.get("gridlight_sse_clients_connected", 0),
    }


def resumed_stream_is_not_repeated_by_a_lagging_channel() -> dict:
    """A client resumes while this worker's channel lags behind the broker: the catch-up sends
    windows the channel emits again later. They must not reach the client twice, so the stream
    goes direct only once the channel has passed its catch-up."""
    stream = Stream(queue_len=1000, start=False)
    entries = stream.publish(10, feed=False)
    stream.channel.on_entries(entries[:4])  # the channel has emitted windows 1-4 (to nobody)
    reader = gevent.spawn(stream.read_all, True)
    stream.start(last_event=EventKey(*parse_id(entries[1][0])))  # the client saw 1 and 2
    wait_until(lambda: b"%d:" % (T0 + 10) in stream.received, "the catch-up to window 10")
    direct_while_behind = stream.sub.direct
    stream.channel.on_entries(entries[4:])  # the channel catches up: windows 5-10 again
    wait_until(lambda: stream.sub.direct, "direct once the channel passed the catch-up")
    stream.publish(5)  # windows 11-15, straight to the socket
    stream.channel.ping(END)
    starts, complete = parse_chunked(reader.get(timeout=10))
    return {"starts": starts, "complete": complete, "direct_while_behind": direct_while_behind}


SCENARIOS = {
    f.__name__: f
    for f in (
        slow_reader_catches_up,
        stalled_reader_is_dropped,
        departed_client_ends_the_stream,
        resumed_stream_is_not_repeated_by_a_lagging_channel,
    )
}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]]()))
