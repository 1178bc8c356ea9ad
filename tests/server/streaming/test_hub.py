"""The worker's hub with a broker that goes away and comes back (a stand-in around the in-process
broker, so the outage can be timed exactly)."""

from __future__ import annotations

import math
import time

from numpy.testing import assert_allclose

from generator.times import format_ts
from server.broker import MemoryBroker
from server.errors import BrokerUnavailable
from server.metrics import Metrics
from server.streaming.aggregate import EventKey
from server.streaming.bodies import StreamSettings, live_stream
from server.streaming.hub import END, PING, Channel, Hub
from tests.wait import wait_for


class FlakyBroker(MemoryBroker):
    down = False

    def read(self, household, after, timeout_s, count):  # noqa: ANN001, ANN201
        if self.down:
            time.sleep(0.01)
            raise BrokerUnavailable("Redis at 127.0.0.1:1 is unavailable: test outage")
        return super().read(household, after, timeout_s, count)


def test_readings_kept_through_an_outage_are_not_cut_off_as_silence():
    broker = FlakyBroker()
    metrics = Metrics()
    hub = Hub(broker, metrics, grace_s=1.0, read_timeout_s=0.05, min_backoff_s=0.01)
    try:
        windows = []
        channel = hub.channel("A", ("AC",), 2, "test", lambda w: windows.append(w) or b"")
        sub = channel.subscribe(16)
        assert sub is not None
        now = math.floor(time.time())
        t = now - now % 2  # window [t, t + 2) is open: its end + grace is still ahead
        broker.publish("A", {"ts": format_ts(t), "power_kw": {"AC": 1.0}})
        wait_for(lambda: channel.agg.open_start_s == t, what="the window open", timeout_s=5)
        broker.down = True
        wait_for(lambda: not hub.health().ok, what="the outage seen", timeout_s=5)
        wait_for(
            lambda: time.time() > t + 2 + 1.0 + 0.2, what="the end + grace", timeout_s=5
        )  # past end + grace meanwhile
        broker.down = False
        wait_for(
            lambda: metrics.values["gridlight_broker_reconnects_total"] == 1,
            what="the reconnection",
            timeout_s=5,
        )
        assert windows == []  # not cut off as a silent meter's
        broker.publish("A", {"ts": format_ts(t + 1), "power_kw": {"AC": 3.0}})  # kept reading
        wait_for(lambda: windows, what="the window", timeout_s=5)
        (window,) = windows
        assert window.start_s == t
        assert_allclose(window.power_kw["AC"], 2.0)
        assert hub.health().ok
    finally:
        hub.stop()


def test_a_silent_meter_is_closed_after_grace_with_nulls_after_its_window():
    broker = MemoryBroker()
    hub = Hub(broker, Metrics(), grace_s=0.3, read_timeout_s=0.05)
    try:
        windows = []
        channel = hub.channel("A", ("AC",), 1, "test", lambda w: windows.append(w) or b"")
        assert channel.subscribe(16) is not None
        t = math.floor(time.time()) - 1
        broker.publish("A", {"ts": format_ts(t), "power_kw": {"AC": 2.0}})  # then nothing
        wait_for(lambda: len(windows) >= 3, what="three windows", timeout_s=5)
        assert windows[0].power_kw == {"AC": 2.0}
        assert all(w.power_kw == {"AC": None} for w in windows[1:])
        assert [w.start_s for w in windows[:3]] == [t, t + 1, t + 2]
    finally:
        hub.stop()


def test_an_event_is_counted_once_for_the_subscribers_that_took_it_and_pings_are_not():
    metrics = Metrics()
    hub = Hub(MemoryBroker(), metrics)
    channel = Channel(hub, "A", ("AC",), 1, "test", lambda w: b"")
    subs = [channel.subscribe(1, control=True) for _ in range(3)]
    assert all(sub is not None for sub in subs)
    channel.ping()  # fills every queue of one item
    assert metrics.values["gridlight_sse_events_sent_total"] == 0
    assert subs[0].get(0) == (None, PING)
    assert subs[1].get(0) == (None, PING)
    channel._offer_all((EventKey(1, 0), b"data: x\n\n"))  # the third queue is full
    assert metrics.values["gridlight_sse_events_sent_total"] == 2
    assert metrics.values["gridlight_sse_slow_clients_dropped_total"] == 1
    assert subs[2].dropped and channel.subscribers == {subs[0], subs[1]}


def test_events_queued_while_a_client_waited_are_written_in_one_chunk_before_the_end():
    class Prefilled(Channel):
        def subscribe(self, maxlen, **kwargs):  # noqa: ANN001, ANN003, ANN201
            sub = super().subscribe(maxlen, **kwargs)
            for ms in (1, 2, 2, 3):  # the repeated key is not written twice
                sub.offer((EventKey(ms, 0), f"data: {ms}\n\n".encode()))
            sub.offer(END)
            return sub

    hub = Hub(MemoryBroker(), Metrics())
    channel = Prefilled(hub, "A", ("AC",), 1, "test", lambda w: b"")
    chunks = list(live_stream(hub, StreamSettings(retry_ms=1000), lambda: channel, None))
    assert chunks == [b"retry: 1000\n\n", b"data: 1\n\ndata: 2\n\ndata: 3\n\n"]
    assert channel.subscribers == set()


def test_a_stopped_hub_ends_new_streams_at_once():
    """A worker told to stop ends its streams; one opened meanwhile (a reconnect on the same
    keep-alive connection) ends after its first bytes instead of waiting on a hub that reads
    nothing any more."""
    hub = Hub(MemoryBroker(), Metrics())
    hub.stop()
    try:
        hub.channel("A", ("AC",), 1, "v1", lambda w: b"")
        raise AssertionError("a stopped hub opened a channel")
    except BrokerUnavailable as err:
        assert "stopping" in err.message

    def open_channel() -> Channel:
        return hub.channel("A", ("AC",), 1, "v1", lambda w: b"")

    chunks = list(live_stream(hub, StreamSettings(retry_ms=1000), open_channel, None))
    assert chunks == [b"retry: 1000\n\n"]


def test_a_replay_ends_when_the_hub_stops():
    """A per-client replay waits on the hub's stop between windows: a worker told to stop ends
    it (the client resumes from its last id elsewhere) instead of holding it open."""
    from server.households.catalogue import Replayable
    from server.streaming.bodies import replay_stream

    hub = Hub(MemoryBroker(), Metrics())
    info = type("Info", (), {"id": "A", "channels": ["AC"], "estimated": ()})()
    replayable = Replayable(info, 1_700_000_000, 1, [[1.0]] * 100)  # type: ignore[arg-type]
    stats = object()
    body = replay_stream(
        hub, StreamSettings(retry_ms=1000), "v1", lambda: (replayable, stats), 5, 0, 1.0, None
    )
    assert next(body) == b"retry: 1000\n\n"
    hub.stop()
    assert list(body) == []  # no reading, no end event: the stream just ends
