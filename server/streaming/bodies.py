"""The body of every SSE response: live streams (with lossless resume) and per-client replays.

* :func:`live_stream` — subscribes to the worker's channel for (household, interval, format);
  after a ``Last-Event-ID`` it first catches up from the broker's history, re-aggregating the
  entries after the id, then continues with live events whose ids are greater than the last one
  it sent (it subscribed *before* catching up, so nothing falls between the two). An id the
  history no longer holds gets a ``resync`` event (no id) and the live stream.
* :func:`replay_stream` — one client's replay of a dataset from ``start_index`` at ``speed``,
  computed on the fly; ids are the window's dataset second, so resuming is exact.

Both send ``retry:`` first, a ``: ping`` comment when idle for ``ping_s``, and end (for the client
to reconnect and resume) if the client falls behind or the broker fails while catching up.

Estimated channels (appliances disaggregated from the whole-house meter) are listed in each
event's ``estimated``, as the channel's aggregator marks them when the window closes: a model
attached or detached while the stream is open shows from the next events on
(:mod:`server.streaming.hub`). In a stream whose interval is shorter than a live model's
resolution (a 1 s stream of a household with a 60 s AC model) every event carries the
appliance's latest estimate, held for the model window it was made in: the same value a stream
at the model's resolution shows for that minute (:mod:`server.streaming.aggregate`). A channel
the statistics do not know yet (an estimate attached after they were computed) has a value but
no ``level`` until they are refreshed.

A :class:`Bound` makes either stream end on purpose: after ``limit`` reading events (caught-up ones
included) or at ``until_s`` on the wall clock, whichever comes first, with a final ``end`` event
(no id) that says why, so that a client knows not to reconnect. A bounded live stream is never
written straight to the socket (:mod:`server.streaming.direct`): its own greenlet writes every
event, which is what lets it stop after exactly ``limit`` of them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from generator.times import format_ts, parse_ts
from server.errors import BrokerUnavailable, GridlightError
from server.households.catalogue import Replayable
from server.stats import LEGACY_COLOURS, HouseholdStats, classify_known, worst
from server.stats.windows import row_means
from server.streaming.aggregate import EventKey, Window, WindowAggregator
from server.streaming.direct import Raw, SocketWriter
from server.streaming.hub import Channel, Hub, Item, Subscriber
from server.streaming.learning import StatsRef
from server.streaming.sse import Event, comment

__all__ = [
    "Bound",
    "StreamSettings",
    "encoder",
    "live_stream",
    "replay_stream",
]

log = logging.getLogger(__name__)
CATCH_UP_BATCH = 1000
MAX_CHUNK_EVENTS = 64  # queued items written together after one wake-up, at most
PING = comment("ping")


@dataclass(frozen=True)
class StreamSettings:
    retry_ms: int = 3000
    ping_s: float = 15.0
    queue_len: int = 256


@dataclass(frozen=True)
class Bound:
    """Where a bounded stream ends: after ``limit`` reading events, or at ``until_s`` [epoch s]
    read on ``clock`` (the wall clock, for live streams and replays alike), whichever first."""

    limit: int | None = None
    until_s: float | None = None
    clock: Callable[[], float] = time.time

    def left_s(self) -> float | None:
        """Seconds until ``until_s`` (0 or less once reached); ``None`` without it."""
        return None if self.until_s is None else self.until_s - self.clock()

    def reached(self, events: int) -> str | None:
        """Why the stream ends now, after ``events`` reading events: ``"limit"``, ``"until"``, or
        ``None`` while it goes on."""
        if self.limit is not None and events >= self.limit:
            return "limit"
        left = self.left_s()
        if left is not None and left <= 0:
            return "until"
        return None


UNBOUNDED = Bound()


def end_event(reason: str, events: int, last_id: str | None, **extra: object) -> bytes:
    """The last event (no id) of a stream that ended on purpose: ``reason`` is ``"limit"``,
    ``"until"`` (a bounded stream) or ``"end_of_data"`` (a replay); ``events`` counts the reading
    events of this response, ``last_id`` is the last one's id. The client should not reconnect."""
    body = {"reason": reason, "events": events, "last_event_id": last_id, **extra}
    return Event(data=json.dumps(body), event="end").encode()


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def event_bytes(
    fmt: str,
    household: str,
    stats: HouseholdStats | None,
    start_s: int,
    interval_s: int,
    power_kw: dict[str, float | None],
    event_id: str,
    index: int | None,
    estimated: tuple[str, ...] = (),
) -> bytes:
    """One window as SSE bytes: ``fmt`` is ``"v1"`` (DESIGN.md's event) or ``"legacy"``.

    Without ``stats`` (a household still learning its usual use) the v1 event carries its values
    with ``level`` ``null`` and ``"learning": true``. ``estimated`` names the channels whose values
    are estimates (disaggregated from the whole-house meter): the v1 event then ends with
    ``"estimated": [...]``; without any, the event is byte for byte what it was before the key
    (the legacy format never carries it)."""
    values = {c: _round(v) for c, v in power_kw.items()}
    levels = (
        None
        if stats is None
        else classify_known(stats, values, format_ts(start_s) if stats.by_hour else None)
    )
    if fmt == "legacy":
        colours = (
            dict.fromkeys(values)
            if levels is None
            else {c: LEGACY_COLOURS[level] for c, level in levels.items()}
        )
        line = f"{json.dumps(values)} status: {json.dumps(colours)}"
        return Event(data=line, id=event_id).encode()
    body: dict = {"household": household, "interval_s": interval_s}
    if index is not None:
        body["index"] = index
    body.update(ts=format_ts(start_s), power_kw=values)
    if levels is None:
        body.update(level=None, worst=None, learning=True)
    else:
        body.update(level=levels, worst=worst(levels))
    if estimated:
        body["estimated"] = list(estimated)
    data = json.dumps(body, separators=(",", ":"), allow_nan=False)
    return Event(data=data, event="reading", id=event_id).encode()


def encoder(
    fmt: str,
    household: str,
    stats: HouseholdStats | StatsRef,
    estimated: tuple[str, ...] = (),
) -> Callable[[Window], bytes]:
    """The channel's encoder: with a :class:`StatsRef`, the statistics it holds when each window
    closes (none while the household is learning); ``estimated`` as in :func:`event_bytes`,
    unless the window says which of its channels are estimated (``Window.estimated``)."""
    ref = stats if isinstance(stats, StatsRef) else StatsRef(stats)
    estimated = tuple(estimated)

    def encode(window: Window) -> bytes:
        return event_bytes(
            fmt,
            household,
            ref.stats,
            window.start_s,
            window.interval_s,
            window.power_kw,
            str(window.key),
            window.index,
            estimated if window.estimated is None else window.estimated,
        )

    return encode


def error_event(err: GridlightError) -> bytes:
    """A control event (no id) for an error found once the stream had started."""
    body = {"error": {"code": err.code, "message": err.message}}
    return Event(data=json.dumps(body), event="error").encode()


def resync_event(reason: str) -> bytes:
    return Event(data=json.dumps({"reason": reason}), event="resync").encode()


def _catch_up(hub: Hub, channel: Channel, after: EventKey, sent: list[EventKey]) -> Iterator[bytes]:
    """Events after ``after`` re-aggregated from history; appends the keys sent to ``sent``."""
    broker = hub.broker
    reading = broker.get(channel.household, after.entry_id)
    if reading is None:
        yield resync_event(
            f"event {str(after)!r} is older than the stream's history (or unknown); "
            "continuing with live events"
        )
        return
    ts = parse_ts(reading["ts"])
    last_closed = after.empty_start_s if after.empty_start_s >= 0 else ts - ts % channel.interval_s
    agg = WindowAggregator(
        channel.channels,
        channel.interval_s,
        last_closed_s=last_closed,
        anchor=EventKey(after.ms, after.seq),
        estimates=channel.agg.estimates,
    )
    # the estimates the live channel held after the last event sent
    agg.hold_before(broker, channel.household, after.entry_id, last_closed + channel.interval_s)
    sent.append(after)
    cursor = after.entry_id
    while True:
        entries = broker.range(channel.household, cursor, CATCH_UP_BATCH)
        for entry_id, entry in entries:
            for window in agg.feed(entry_id, entry):
                if window.key > sent[-1]:
                    sent.append(window.key)
                    yield channel.encode(window)
        if len(entries) < CATCH_UP_BATCH:
            return
        cursor = entries[-1][0]
        time.sleep(0)  # under gevent: let other clients run between batches of a long catch-up


def live_stream(
    hub: Hub,
    settings: StreamSettings,
    open_channel: Callable[[], Channel],
    last_event: EventKey | None,
    writer: SocketWriter | None = None,
    bound: Bound = UNBOUNDED,
) -> Iterator[bytes]:
    """SSE bytes of a live stream; ``open_channel`` may block (statistics) and may raise.

    With a ``writer`` (:func:`server.streaming.direct.socket_writer`), everything after the first bytes
    goes to the client's socket around WSGI, and once caught up the channel writes the events
    itself: this generator then only wakes when a client falls behind, leaves or the hub stops.
    A ``bound`` ends the stream with an ``end`` event; a bounded stream takes no ``writer``.
    """
    if writer is not None and bound != UNBOUNDED:
        raise ValueError("a bounded stream is written by its own greenlet: give no writer")
    metrics = hub.metrics
    yield Event(retry=settings.retry_ms).encode()  # also sends the headers
    sub = None
    while sub is None:  # a channel closed for idleness in between is opened afresh
        try:
            channel = open_channel()
        except BrokerUnavailable as err:
            log.warning("ending a stream: %s", err)
            return
        except GridlightError as err:  # found out after the first bytes: say so, then end
            yield error_event(err)
            return
        sub = channel.subscribe(settings.queue_len, control=True, writer=writer)
    if hub.stopped.is_set():  # stopped after the channel was opened: its END may have passed
        channel.unsubscribe(sub)
        return
    metrics.add("gridlight_sse_clients_connected")
    try:
        for chunk in _stream_chunks(hub, channel, sub, last_event, bound):
            if writer is None:
                yield chunk
                continue
            try:
                writer.send_all(chunk if isinstance(chunk, Raw) else writer.frame(chunk))
            except OSError:  # the client left, or was dropped as too slow and shut down
                return
    except BrokerUnavailable as err:
        log.warning("ending a resuming stream: %s", err)
    finally:
        channel.unsubscribe(sub)
        metrics.add("gridlight_sse_clients_connected", -1)


def _stream_chunks(
    hub: Hub, channel: Channel, sub: Subscriber, last_event: EventKey | None, bound: Bound
) -> Iterator[bytes]:
    """A subscribed stream's bytes, unframed, except :class:`~server.streaming.direct.Raw` ones; ends when
    the subscriber is dropped, the hub stops, or the ``bound`` is reached (with an ``end`` event)."""
    metrics = hub.metrics
    bounded = bound != UNBOUNDED
    sent: list[EventKey] = []  # ``last_event``, then the keys of the events caught up
    count = 0  # reading events sent
    sent_id: str | None = None  # the last one's id
    # events sent while catching up; the channel also counts those of them it queued to this
    # client before its live events passed them, and a counter never goes down: so they are
    # counted less those repeats, once the live events have passed them or the stream ends
    uncounted = 0
    try:
        if last_event is not None:
            for chunk in _catch_up(hub, channel, last_event, sent):
                if sub.dropped:
                    return
                reading = len(sent) - 1 > count  # else a resync event
                if bounded and reading and (reason := bound.reached(count)):
                    yield end_event(reason, count, sent_id)
                    return
                uncounted += 1
                yield chunk
                if reading:
                    count, sent_id = len(sent) - 1, str(sent[-1])
        last = sent[-1] if sent else None
        while True:
            if sub.ready() and (
                last is None or (channel.last_key is not None and channel.last_key >= last)
            ):
                sub.direct = True  # caught up: the channel writes to the socket from now on
            if bounded and (reason := bound.reached(count)):
                yield end_event(reason, count, sent_id)
                return
            # one wake-up writes everything queued meanwhile as one chunk (a client woken late
            # under load catches up in one write instead of one switch and write per event)
            item: Item | None = sub.get(bound.left_s())
            chunks: list[bytes] = []
            while item is not None:
                key, payload = item
                if sub.dropped:
                    return
                if payload is None:  # the hub stopped
                    break
                if isinstance(payload, Raw):  # the rest of an event the socket took only part of
                    if chunks:
                        yield b"".join(chunks)
                        chunks = []
                    yield payload
                elif key is None:  # a ping or a control event from the hub
                    chunks.append(payload)
                elif last is not None and key <= last:  # already sent while catching up
                    uncounted -= 1  # counted by the channel
                elif bounded and (reason := bound.reached(count)):  # ``until`` passed meanwhile
                    chunks.append(end_event(reason, count, sent_id))
                    yield b"".join(chunks)
                    return
                else:
                    if uncounted > 0:
                        metrics.add("gridlight_sse_events_sent_total", uncounted)
                    uncounted = 0
                    last = key
                    chunks.append(payload)
                    count += 1
                    sent_id = str(key)
                    if bounded and (reason := bound.reached(count)) == "limit":
                        chunks.append(end_event(reason, count, sent_id))
                        yield b"".join(chunks)
                        return
                item = sub.get_nowait() if len(chunks) < MAX_CHUNK_EVENTS else None
            if chunks:
                yield chunks[0] if len(chunks) == 1 else b"".join(chunks)
            if item is not None:  # the end
                return
    finally:
        if uncounted > 0:
            metrics.add("gridlight_sse_events_sent_total", uncounted)


def replay_window(replay: Replayable, index_s: int, interval_s: int) -> dict[str, float | None]:
    """Mean power per channel over dataset seconds ``[index_s, index_s + interval_s)``."""
    res = replay.resolution_s
    means = row_means(replay.values[index_s // res : -(-(index_s + interval_s) // res)])
    return {
        c: (None if np.isnan(means[i]) else float(means[i]))
        for i, c in enumerate(replay.info.channels)
    }


def replay_stream(
    hub: Hub,
    settings: StreamSettings,
    fmt: str,
    load: Callable[[], tuple[Replayable, HouseholdStats]],
    interval_s: int,
    start_index: int,
    speed: float,
    resume_after: int | None,
    *,
    bound: Bound = UNBOUNDED,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] | None = None,
) -> Iterator[bytes]:
    """One client's replay: windows of ``interval_s`` dataset seconds from ``start_index``,
    each sent when it would close when played at ``speed``; then an ``end`` event (at the end of
    the data, or where the ``bound`` says). It ends early when the hub stops (the worker is
    shutting down; the client resumes from its last id). ``sleep`` defaults to waiting on the
    hub's stop."""
    if sleep is None:
        sleep = hub.stopped.wait
    metrics = hub.metrics
    yield Event(retry=settings.retry_ms).encode()
    try:
        replay, stats = load()
    except GridlightError as err:
        yield error_event(err)
        return
    household = replay.info.id
    estimated = replay.info.estimated
    first = start_index if resume_after is None else resume_after + interval_s
    t0 = clock()
    count = 0
    last_id: str | None = None
    metrics.add("gridlight_sse_clients_connected")
    try:
        for index in range(first, replay.span_s, interval_s):
            due = t0 + (index - first + interval_s) / speed
            while (wait := due - clock()) > 0:
                left = bound.left_s()
                if left is not None and left <= 0:
                    break
                if wait > settings.ping_s and (left is None or left > settings.ping_s):
                    sleep(settings.ping_s)
                    if hub.stopped.is_set():
                        return
                    yield PING
                else:
                    sleep(wait if left is None else min(wait, left))
            if hub.stopped.is_set():
                return
            if reason := bound.reached(count):  # ``until`` came first
                yield end_event(reason, count, last_id, household=household, index=index)
                return
            power = replay_window(replay, index, interval_s)
            start_s = replay.start_s + index
            metrics.add("gridlight_sse_events_sent_total")
            last_id = str(index)
            count += 1
            event = event_bytes(
                fmt, household, stats, start_s, interval_s, power, last_id, index, estimated
            )
            if bound.limit is not None and count >= bound.limit:  # the event and the end at once
                end = end_event(
                    "limit", count, last_id, household=household, index=index + interval_s
                )
                yield event + end
                return
            yield event
        yield end_event("end_of_data", count, last_id, household=household, index=replay.span_s)
    finally:
        metrics.add("gridlight_sse_clients_connected", -1)
