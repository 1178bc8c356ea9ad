"""Fan-out inside one worker: one reader per household, one channel per (household, interval).

::

    broker ──► HouseholdReader (one per household) ──► Channel (household, interval_s, format)
                                                          │ aggregate + encode once per window
                                                          ▼
                                             Subscriber queues (bounded, one per client)

A reader blocks on the broker for new entries and hands them to every channel of its household.
A channel averages them into windows (:class:`~server.streaming.aggregate.WindowAggregator`), encodes each
closed window once and offers the bytes to every subscriber — straight to the client's socket when
the stream has caught up and is served by gunicorn's gevent worker (:mod:`server.streaming.direct`), else
through its queue; a subscriber whose queue is full is dropped (the client is disconnected and
counted, and resumes with ``Last-Event-ID``). A new
channel first *primes* itself from the broker's history with the entries of the window in
progress, so its first event is complete and identical to the other workers'.

Readers reconnect with capped exponential backoff while the broker is down; the outage shows in
:meth:`Hub.health` and the reconnects are counted.

A household's channels can change while its streams are open: a disaggregation model attached
(through the database, by any host: ``python -m server nilm attach`` or the owners' HTTP API) adds
an estimated channel, a detached one removes it. Every ``describe_s`` the hub asks
:attr:`Hub.household_models` (one query of the attached models, for every household), and a
reader whose household's models changed since it last looked asks
:attr:`Hub.describe_household` (the services' view of the database) for the household's channels
and its live estimates' model resolutions, and reconfigures its channels in place when they
changed (:meth:`Channel.reconfigure`): the open streams' next events carry the new channel,
marked in ``estimated`` (or no longer carry the detached one), without reconnecting. Each worker
sees the change within ``describe_s`` of the others, so for a few windows the events of two
workers may differ in that channel alone.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from generator.times import parse_ts
from server.broker.base import Broker, Entry, parse_id
from server.errors import BrokerUnavailable
from server.metrics import Metrics
from server.streaming.aggregate import (
    EventKey,
    Window,
    WindowAggregator,
    history_since,
)
from server.streaming.direct import Raw, SocketWriter, chunk
from server.streaming.follow import FORMAT as LISTENER_FORMAT
from server.streaming.follow import Following
from server.streaming.sse import comment

_NOT_YET = object()

__all__ = ["Channel", "Hub", "Subscriber"]

log = logging.getLogger(__name__)

Encoder = Callable[[Window], bytes]
READ_BATCH = 500
PRIME_PAGE = 1000


#: ``(key, payload)`` items of a subscriber's queue: an event ``(EventKey, bytes)``, a ping
#: ``(None, PING)``, or the end of the stream ``(None, None)`` when the hub stops.
Item = tuple[EventKey | None, bytes | None]
PING = comment("ping")
END: Item = (None, None)


def _queue_class() -> type:
    """gevent's own queue under gunicorn's gevent worker (about 4x cheaper to wake thousands of
    greenlets than the patched ``queue.Queue``), the standard one with real threads."""
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        import gevent.queue

        return gevent.queue.Queue
    return queue.Queue


class Subscriber:
    """One client's bounded queue of :data:`Item`.

    A ``control`` subscriber (an SSE stream) also gets the hub's pings and the end item, so it
    can wait on its queue without a timer, which is what lets a worker hold thousands of idle
    clients; other subscribers get events only and wait with a timeout.

    With a ``writer`` (see :mod:`server.streaming.direct`) the channel sends events and pings straight to
    the client's socket while :attr:`direct` is set, and queues only what the socket would not
    take; the stream sets :attr:`direct` again once it has written its queue.
    """

    def __init__(
        self, maxlen: int, *, control: bool = False, writer: SocketWriter | None = None
    ) -> None:
        self.queue = _queue_class()(maxsize=maxlen)
        self.control = control
        self.writer = writer
        self.direct = False
        self.dropped = False

    def offer(self, item: Item) -> bool:
        try:
            self.queue.put_nowait(item)
            return True
        except queue.Full:
            self.dropped = True
            return False

    def deliver(self, item: Item, framed: Callable[[bool], bytes]) -> bool | None:
        """Send ``item`` directly if caught up, else queue it. ``framed(chunked)`` gives its
        bytes on the wire. ``True``: delivered or queued; ``False``: the queue is full (the
        client is too slow); ``None``: the client is gone."""
        writer = self.writer
        if self.direct and item[1] is not None and writer is not None:
            data = framed(writer.chunked)
            try:
                sent = writer.send_some(data)
            except OSError:
                self.direct = False
                self.dropped = True
                self.offer(END)  # wakes the stream, which ends
                return None
            if sent == len(data):
                return True
            self.direct = False  # the stream writes the rest, then whatever queues behind it
            item = (None, Raw(data[sent:]))
        return self.offer(item)

    def ready(self) -> bool:
        """Nothing is queued: events may go straight to the socket again (see :attr:`direct`)."""
        return self.writer is not None and not self.dropped and self.queue.empty()

    def get_nowait(self) -> Item | None:
        """The next item if one is queued, else ``None``."""
        try:
            return self.queue.get_nowait()
        except queue.Empty:
            return None

    def get(self, timeout_s: float | None = None) -> Item | None:
        """The next item; with ``timeout_s``, ``None`` if none came in time."""
        if timeout_s is None:
            return self.queue.get()
        try:
            return self.queue.get(timeout=max(timeout_s, 0.0))
        except queue.Empty:
            return None


class Channel:
    """Windows of one household at one interval, encoded in one format, for many clients."""

    def __init__(
        self,
        hub: Hub,
        household: str,
        channels: tuple[str, ...],
        interval_s: int,
        fmt: str,
        encode: Encoder,
        estimates: dict[str, int] | None = None,
    ) -> None:
        self.hub = hub
        self.household = household
        self.channels = channels
        self.interval_s = interval_s
        self.encode = encode
        self.fmt = fmt
        self.agg = WindowAggregator(channels, interval_s, estimates=estimates)
        self.subscribers: set[Subscriber] = set()
        self._lock = threading.RLock()
        self._ready = False
        self.closed = False
        self.idle_since: float | None = time.monotonic()
        self._pending: list[Entry] = []
        self._pos: tuple[int, int] = (0, 0)
        #: the last event emitted: a resumed stream is direct only once the channel has passed
        #: the last event its catch-up sent (before, events queue and repeats are skipped)
        self.last_key: EventKey | None = None

    # -- fed by the reader -------------------------------------------------------------------
    def on_entries(self, entries: list[Entry]) -> None:
        with self._lock:
            if not self._ready:
                self._pending.extend(entries)
                return
            self._feed(entries)

    def tick(self, now_s: float, grace_s: float) -> None:
        with self._lock:
            if self._ready:
                self._emit(self.agg.tick(now_s, grace_s))

    def reconfigure(self, channels: tuple[str, ...], estimates: dict[str, int] | None) -> bool:
        """Average ``channels`` (``estimates`` as in :class:`WindowAggregator`) from the window
        in progress on; whether anything changed."""
        with self._lock:
            if channels == self.channels and estimates == self.agg.estimates:
                return False
            held = dict(self.agg.held)
            self.channels = channels
            self.agg.reconfigure(channels, estimates)
            new = {c: r for c, r in self.agg.held.items() if held.get(c) != r}
            if new and self._ready and self.agg.anchor is not None:
                # a newly held channel: its latest estimate, as a channel primed now would hold
                since = self.agg.open_start_s or (self.agg.last_closed_s or 0) + self.interval_s
                self.agg.hold_before(
                    self.hub.broker, self.household, self.agg.anchor.entry_id, since, new
                )
            return True

    def _feed(self, entries: list[Entry]) -> None:
        for entry_id, reading in entries:
            key = parse_id(entry_id)
            if key <= self._pos:
                continue
            self._pos = key
            late = self.agg.late
            try:
                windows = self.agg.feed(entry_id, reading)
            except (KeyError, TypeError, ValueError) as err:
                log.warning("skipping malformed entry %s of %s: %s", entry_id, self.household, err)
                continue
            if self.agg.late != late:
                self.hub.metrics.add("gridlight_late_readings_total")
            self._emit(windows)

    def _emit(self, windows: list[Window]) -> None:
        for window in windows:
            # once per window and SSE channel, not per client (in-process listeners' channels
            # are not SSE deliveries)
            if self.subscribers and self.fmt != LISTENER_FORMAT:
                self.hub.metrics.observe_delivery(window.start_s + window.interval_s)
            self._offer_all((window.key, self.encode(window)))
            self.last_key = window.key

    def _offer_all(self, item: Item, *, control: bool = False) -> None:
        """Deliver ``item`` to every subscriber; an event is counted as sent once per channel for
        all the subscribers that took it (counting per client cost ~4% of a loaded worker).

        Its bytes on the wire are framed once, on first need, for all the subscribers written
        directly (see :mod:`server.streaming.direct`)."""
        frames: dict[bool, bytes] = {}
        payload = item[1]

        def framed(chunked: bool) -> bytes:
            data = frames.get(chunked)
            if data is None:
                data = frames[chunked] = chunk(payload) if chunked else payload
            return data

        taken = 0
        for sub in list(self.subscribers):
            if control and not sub.control:
                continue
            delivered = sub.deliver(item, framed)
            if delivered:
                taken += 1
                continue
            self.subscribers.discard(sub)
            if delivered is False:
                if sub.writer is not None:
                    sub.writer.abort()  # a stream blocked writing to it ends as well
                if item is not END:
                    self.hub.metrics.add("gridlight_sse_slow_clients_dropped_total")
            if not self.subscribers:
                self.idle_since = time.monotonic()
        if taken and item[0] is not None:
            self.hub.metrics.add("gridlight_sse_events_sent_total", taken)

    def ping(self, item: Item = (None, PING)) -> None:
        with self._lock:
            self._offer_all(item, control=True)

    # -- set-up ------------------------------------------------------------------------------
    def prime(self, broker: Broker) -> None:
        """Load the entries of the window in progress from history, then go live."""
        newest = broker.revrange(self.household, None, 1)
        history: list[Entry] = []
        if newest:
            ts = parse_ts(newest[0][1]["ts"])
            window_start = ts - ts % self.interval_s
            history, anchor = history_since(
                broker, self.household, window_start, first_page=PRIME_PAGE, page=PRIME_PAGE
            )
            self.agg.last_closed_s = window_start - self.interval_s
            if anchor is not None:
                self.agg.anchor = EventKey(*parse_id(anchor[0]))
                self._pos = parse_id(anchor[0])
                # the estimates its first windows carry
                self.agg.hold_before(broker, self.household, anchor[0], window_start)
        with self._lock:
            self._feed(history)
            self._feed(sorted(self._pending, key=lambda e: parse_id(e[0])))
            self._pending.clear()
            self._ready = True

    def subscribe(
        self, maxlen: int, *, control: bool = False, writer: SocketWriter | None = None
    ) -> Subscriber | None:
        """A new subscriber, or ``None`` if the channel was just closed for idleness."""
        sub = Subscriber(maxlen, control=control, writer=writer)
        with self._lock:
            if self.closed:
                return None
            self.subscribers.add(sub)
            self.idle_since = None
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self.subscribers.discard(sub)
            if not self.subscribers and self.idle_since is None:
                self.idle_since = time.monotonic()

    def close(self) -> None:
        """End every subscriber (SSE streams and in-process listeners alike) and refuse new
        ones: the household was removed."""
        with self._lock:
            self.closed = True
            self._offer_all(END)
            self.subscribers.clear()

    def close_if_idle(self, now: float, idle_s: float) -> bool:
        with self._lock:
            if self.idle_since is not None and now - self.idle_since >= idle_s:
                self.closed = True
        return self.closed


class HouseholdReader:
    """Reads one household's stream and hands new entries to its channels."""

    def __init__(self, hub: Hub, household: str, cursor: str) -> None:
        self.hub = hub
        self.household = household
        self.cursor = cursor
        self.down_since: float | None = None
        self.error: str | None = None
        self.tick_after = 0.0  # no silent-meter closes before this (epoch seconds)
        #: the household's attached models when its channels were last asked for (none yet)
        self.described_models: object = _NOT_YET
        self.stopped = threading.Event()  # set when its household is removed
        self.thread = threading.Thread(target=self._run, name=f"reader-{household}", daemon=True)

    def _run(self) -> None:
        hub = self.hub
        backoff_s = hub.min_backoff_s
        while not hub.stopped.is_set() and not self.stopped.is_set():
            try:
                entries = hub.broker.read(
                    self.household, self.cursor, hub.read_timeout_s, READ_BATCH
                )
            except BrokerUnavailable as err:
                if self.down_since is None:
                    self.down_since = time.time()
                    log.warning("broker unavailable for %s: %s", self.household, err)
                self.error = str(err)
                hub.stopped.wait(backoff_s)
                backoff_s = min(backoff_s * 2, hub.max_backoff_s)
                continue
            except Exception:  # a bug must not silently end the stream of every client
                if hub.stopped.is_set():
                    break  # the hub closed the broker under a blocked read: stopping, not a bug
                log.exception("reader of %s failed; retrying", self.household)
                hub.stopped.wait(backoff_s)
                backoff_s = min(backoff_s * 2, hub.max_backoff_s)
                continue
            if self.down_since is not None:
                log.warning("broker reachable again for %s", self.household)
                hub.metrics.add("gridlight_broker_reconnects_total")
                self.down_since = None
                self.error = None
                # publishers kept their readings while the broker was down and are sending
                # them now: give them a grace period before calling any meter silent
                self.tick_after = time.time() + hub.grace_s
            backoff_s = hub.min_backoff_s
            if self.stopped.is_set():
                break  # removed while reading: what was read is the erased household's
            channels = hub.channels_of(self.household)
            models = hub.models_of(self.household)
            if models != self.described_models:
                self.described_models = models
                hub.redescribe(self.household)
            now = time.time()
            if entries:
                self.cursor = entries[-1][0]
                hub.metrics.set_lag(self.household, max(now - parse_id(self.cursor)[0] / 1000, 0))
                for channel in channels:
                    channel.on_entries(entries)
            # silence is judged only once caught up: a backlog (an upload of back-dated readings,
            # a reader that fell behind) is not cut into a silent meter's empty windows
            if now >= self.tick_after and len(entries) < READ_BATCH:
                for channel in channels:
                    channel.tick(now, hub.grace_s)
            if any(c.idle_since is not None for c in channels):
                hub.close_idle(self.household)


@dataclass
class Health:
    ok: bool
    readers: dict[str, dict]


class Hub:
    """A worker's readers and channels. Created unbound; :meth:`start` may be called lazily."""

    def __init__(
        self,
        broker: Broker,
        metrics: Metrics,
        *,
        queue_len: int = 256,
        grace_s: float = 10.0,
        read_timeout_s: float = 1.0,
        min_backoff_s: float = 0.1,
        max_backoff_s: float = 2.0,
        idle_channel_s: float = 60.0,
        ping_s: float = 15.0,
        describe_s: float = 5.0,
    ) -> None:
        self.broker = broker
        self.metrics = metrics
        self.queue_len = queue_len
        self.grace_s = grace_s
        self.read_timeout_s = read_timeout_s
        self.min_backoff_s = min_backoff_s
        self.max_backoff_s = max_backoff_s
        self.idle_channel_s = idle_channel_s
        self.ping_s = ping_s
        self._pinger: threading.Thread | None = None
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._readers: dict[str, HouseholdReader] = {}
        self._channels: dict[tuple[str, int, str], Channel] = {}
        self._channel_lists: dict[str, tuple[Channel, ...]] = {}
        #: What :meth:`follow` needs to know of a household: its channels, and its statistics
        #: at an interval (raising while it has none). Set by the services that own the hub.
        self.household_channels: Callable[[str], tuple[str, ...]] | None = None
        self.household_stats: Callable[[str, int], Any] | None = None
        #: Options every :meth:`follow` gets unless it says otherwise (the services set the
        #: statistics' retry and refresh periods from the configuration).
        self.follow_defaults: dict[str, Any] = {}
        #: A household's channels now and its estimated ones with their models' resolutions
        #: [s] (0: not a live model); asked for when a channel opens and every ``describe_s``
        #: by its reader (see the module doc). Set by the services; ``None``: never asked.
        self.describe_household: Callable[[str], tuple[tuple[str, ...], dict[str, int]]] | None = (
            None
        )
        self.describe_s = describe_s
        #: Every household's attached models, a comparable value each (households without
        #: any may be left out), asked for at most every ``describe_s``. Set by the services;
        #: ``None``: channels are never asked for again.
        self.household_models: Callable[[], dict[str, Any]] | None = None
        self._models: dict[str, Any] = {}
        self._models_at = -math.inf
        self._models_lock = threading.Lock()

    def models_of(self, household: str) -> Any:
        """The household's attached models as :attr:`household_models` last said (at most
        ``describe_s`` ago)."""
        if self.household_models is None:
            return None
        with self._models_lock:
            now = time.monotonic()
            if now - self._models_at >= self.describe_s:
                self._models_at = now
                try:
                    self._models = self.household_models()
                except Exception as err:  # the database is away: the last answer, next time
                    log.debug("cannot list the attached models: %s", err)
            return self._models.get(household)

    def _estimates_of(self, household: str, channels: tuple[str, ...]) -> dict[str, int] | None:
        if self.describe_household is None:
            return None
        _, estimates = self.describe_household(household)
        return {c: r for c, r in estimates.items() if c in channels}

    def redescribe(self, household: str) -> None:
        """Ask for the household's channels again and reconfigure its open channels."""
        if self.describe_household is None:
            return
        try:
            channels, estimates = self.describe_household(household)
        except Exception as err:  # unknown now (erased), or the database is away: next time
            log.debug("cannot describe %s: %s", household, err)
            return
        for channel in self.channels_of(household):
            if channel.reconfigure(tuple(channels), dict(estimates)):
                log.info(
                    "%s channels at %d s are now %s (estimated %s)",
                    household,
                    channel.interval_s,
                    ", ".join(channels),
                    ", ".join(estimates) or "none",
                )

    def follow(self, household: str, interval_s: int, listener: Any, **options: Any) -> Following:
        """Deliver every closed window of ``household`` at ``interval_s`` to ``listener`` as a
        typed, classified window (:mod:`server.streaming.follow`); the started following, which
        ``stop()`` ends. ``options`` go to :class:`~server.streaming.follow.Following` (a
        listener that needs no levels passes ``stats_of`` answering ``None``)."""
        if self.household_channels is None or self.household_stats is None:
            raise RuntimeError("the hub was not told how to describe households")
        options = {
            "queue_len": self.queue_len,
            "channels_of": self.household_channels,
            "stats_of": self.household_stats,
            **self.follow_defaults,
            **options,
        }
        return Following(self, household, interval_s, listener, **options).start()

    def channels_of(self, household: str) -> tuple[Channel, ...]:
        return self._channel_lists.get(household, ())

    def channel(
        self,
        household: str,
        channels: tuple[str, ...],
        interval_s: int,
        fmt: str,
        encode: Encoder,
    ) -> Channel:
        """The live channel for ``(household, interval_s, fmt)``, created and primed if new.

        Raises :class:`BrokerUnavailable` if it has to be created while the broker is down, or
        once the hub has stopped.
        """
        if self.stopped.is_set():  # the worker is shutting down: clients go to another one
            raise BrokerUnavailable("this worker is stopping; reconnect (Last-Event-ID resumes)")
        key = (household, interval_s, fmt)
        found = self._channels.get(key)
        if found is not None:
            return found
        try:
            estimates = self._estimates_of(household, channels)
        except Exception as err:  # the database away: its reader asks again every describe_s
            log.warning("cannot describe %s's estimates: %s", household, err)
            estimates = None
        with self._lock:  # one creator at a time; others wait, then find it
            found = self._channels.get(key)
            if found is not None:
                return found
            if self._pinger is None:
                self._pinger = threading.Thread(target=self._ping_all, name="pinger", daemon=True)
                self._pinger.start()
            reader = self._readers.get(household)
            if reader is None:
                reader = HouseholdReader(self, household, self.broker.last_id(household))
            channel = Channel(self, household, channels, interval_s, fmt, encode, estimates)
            self._channel_lists[household] = (*self.channels_of(household), channel)
            try:
                if household not in self._readers:
                    self._readers[household] = reader
                    reader.thread.start()
                channel.prime(self.broker)
                if self.stopped.is_set():  # stopped while priming: stop() did not see it
                    raise BrokerUnavailable("this worker is stopping; reconnect")
            except BaseException:
                self._channel_lists[household] = tuple(
                    c for c in self.channels_of(household) if c is not channel
                )
                raise
            self._channels[key] = channel
            return channel

    def _ping_all(self) -> None:
        """Every ``ping_s``, a ``: ping`` to every subscriber (keeps proxies and clients' idle
        timeouts away, and finds clients that left: writing to them fails)."""
        while not self.stopped.wait(self.ping_s):
            for channel in list(self._channels.values()):
                channel.ping()

    def close_idle(self, household: str) -> None:
        """Forget the household's channels that have had no subscriber for a while."""
        now = time.monotonic()
        with self._lock:
            for channel in self.channels_of(household):
                if channel.close_if_idle(now, self.idle_channel_s):
                    key = (household, channel.interval_s, channel.fmt)
                    self._channels.pop(key, None)
                    self._channel_lists[household] = tuple(
                        c for c in self.channels_of(household) if c is not channel
                    )

    def forget(self, household: str | None) -> None:
        """A household was removed (erased): end every stream and in-process listener of it,
        drop its channels and stop its reader (a later channel starts afresh, if the household
        exists again). ``None``: every household's."""
        with self._lock:
            households = set(self._channel_lists) | set(self._readers)
            if household is not None:
                households &= {household}
            channels: list[Channel] = []
            readers: list[HouseholdReader] = []
            for h in households:
                for channel in self._channel_lists.pop(h, ()):
                    self._channels.pop((h, channel.interval_s, channel.fmt), None)
                    channels.append(channel)
                reader = self._readers.pop(h, None)
                if reader is not None:
                    readers.append(reader)
        for reader in readers:
            reader.stopped.set()
        for channel in channels:
            channel.close()
        self.metrics.forget_household(household)

    def health(self) -> Health:
        readers = {
            h: {
                "ok": r.down_since is None,
                "down_since": r.down_since,
                "error": r.error,
                "cursor": r.cursor,
            }
            for h, r in self._readers.items()
        }
        return Health(all(r["ok"] for r in readers.values()), readers)

    def stop(self) -> None:
        self.stopped.set()
        for channel in list(self._channels.values()):
            channel.ping(END)  # streams waiting on their queue end
        self.broker.close()  # wakes readers blocked on the in-process broker
        for reader in list(self._readers.values()):
            if reader.thread.is_alive():
                reader.thread.join(timeout=5)
