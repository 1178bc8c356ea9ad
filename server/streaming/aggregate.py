"""Averaging raw 1 Hz readings into interval windows, deterministically from the stream.

Windows are ``[start, start + interval_s)`` with ``start`` a multiple of ``interval_s`` since the
epoch. A window closes when the reading of its last second, or any reading at or after its end,
arrives (so every worker reading the same stream closes the same windows with the same values),
or, for a meter that has gone silent,
:meth:`WindowAggregator.tick` closes it ``grace_s`` after its end on the wall clock. Windows in
which nothing arrived are emitted with every value ``None`` (reported as critical), never zero.

Each window carries an :class:`EventKey` that becomes its SSE id: the broker id of the last raw
entry in it; a window with no entry of its own is anchored on the entry before it plus its start
second (``"<ms>-<seq>.<start>"``). Keys order like the stream. Resuming after a key means reading
the broker after its anchor entry, knowing that the anchor's window (or the empty window named by
the key) was the last one sent.

Each channel's value for a second counts once: a reading sent twice (a publisher re-sending what
a restarted broker may have lost, a publish retried after its reply was lost) leaves the average
as it was; the first value wins, as in storage. Different channels of one second may come in
separate readings.

Estimated channels (``estimates``: channel → the model's resolution [s], 0 for estimates made
offline) are marked in every window's ``estimated``. A live estimate is one reading per model
window, written at the first second of the window after the one it estimates (see
:mod:`server.estimates.engine`), so a window shorter than the model's (a 1 s stream of a 60 s AC
model) would hold the estimate in at most one of its windows, and usually none: the estimate
arrives after the Overall reading of its second has closed that second's window. So for such a
*held* channel the windows carry the latest estimate instead, the value a stream at the model's
resolution shows for the same minute: a reading of a held channel never opens or closes a
window; it is kept (the last :data:`HELD_KEPT` of them), and a window starting at ``s`` carries
the newest kept estimate stamped before its end whose model window is the one ``s`` lies in or
the one before (so an estimate a little late for the first seconds of its window leaves the
previous one showing, and an estimator that stopped leaves ``None`` after two model windows).
Every worker reads the same stream in the same order, so they hold the same values; a resumed or
primed aggregator is given the estimates before its anchor with :meth:`WindowAggregator.hold`.
:meth:`WindowAggregator.reconfigure` changes the channels while windows are open (a model
attached or detached while streams are open).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

from generator.dataset import HouseholdInfo
from generator.times import parse_ts
from server.broker.base import Broker, Entry, parse_id

__all__ = [
    "EventKey",
    "Window",
    "WindowAggregator",
    "estimates_before",
    "estimates_of",
    "history_since",
]

#: At most this many empty windows are emitted for one silence (a day of 1 s windows).
MAX_GAP_WINDOWS = 86_400
#: Estimates of a held channel kept (the newest), to choose from when a window closes.
HELD_KEPT = 3
#: A held estimate is shown for at most this many model windows from the start of its own.
HELD_WINDOWS = 2


class EventKey(NamedTuple):
    """Orderable SSE id: anchor entry ``(ms, seq)`` and, for an empty window, its start [s]."""

    ms: int
    seq: int
    empty_start_s: int = -1

    def __str__(self) -> str:
        base = f"{self.ms}-{self.seq}"
        return base if self.empty_start_s < 0 else f"{base}.{self.empty_start_s}"

    @property
    def entry_id(self) -> str:
        return f"{self.ms}-{self.seq}"

    @classmethod
    def parse(cls, text: str) -> EventKey:
        """Parse an id given back by a client; ``ValueError`` naming it if it is not ours."""
        base, dot, start = str(text).strip().partition(".")
        try:
            ms, seq = parse_id(base)
        except ValueError:
            raise ValueError(
                f"invalid event id {text!r}: expected '<ms>-<seq>' or '<ms>-<seq>.<start>'"
            ) from None
        if dot:
            if not start.isdigit():
                raise ValueError(f"invalid event id {text!r}: bad window start {start!r}")
            return cls(ms, seq, int(start))
        return cls(ms, seq)


@dataclass(frozen=True, slots=True)
class Window:
    """A closed window: average power per channel (``None`` where nothing valid arrived)."""

    start_s: int
    interval_s: int
    power_kw: dict[str, float | None]
    key: EventKey
    index: int | None = None
    #: the channels whose values are estimates (``None``: the aggregator was not told)
    estimated: tuple[str, ...] | None = None


def history_since(
    broker: Broker,
    household: str,
    since_s: int,
    until_s: int | None = None,
    *,
    first_page: int = 1000,
    page: int = 1000,
) -> tuple[list[Entry], Entry | None]:
    """The broker's entries of ``household`` timed in ``[since_s, until_s)`` (oldest first), and
    the *anchor*: the newest entry before ``since_s`` (``None`` if the history starts later).

    Read backwards from the newest entry, ``first_page`` entries first, then ``page`` at a time,
    and stops at the anchor: what a channel primes a window from and what the widget averages its
    last window from, exactly as the stream would.
    """
    entries: list[Entry] = []
    anchor: Entry | None = None
    before: str | None = None
    count = first_page
    while anchor is None:
        found = broker.revrange(household, before, count)
        for entry in found:
            entry_ts = parse_ts(entry[1]["ts"])
            if until_s is not None and entry_ts >= until_s:
                continue
            if entry_ts < since_s:
                anchor = entry
                break
            entries.append(entry)
        if len(found) < count:
            break
        before = found[-1][0]
        count = page
    entries.reverse()
    return entries, anchor


def _value(raw: object) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


class WindowAggregator:
    """Feeds stream entries in order; returns the windows each entry (or tick) closes.

    ``last_closed_s`` and ``anchor`` restore the state after a sent event when resuming: the
    window starting at ``last_closed_s`` was the last one sent, and ``anchor`` is the key of the
    entry it was anchored on.
    """

    def __init__(
        self,
        channels: tuple[str, ...] | list[str],
        interval_s: int,
        *,
        last_closed_s: int | None = None,
        anchor: EventKey | None = None,
        estimates: dict[str, int] | None = None,
    ) -> None:
        self.interval_s = int(interval_s)
        self.last_closed_s = last_closed_s
        self.anchor = anchor
        self.late = 0  # entries whose window had already closed (dropped, counted)
        self._start: int | None = None
        # per second of the open window, a bit per channel already counted
        self._seen: list[int] = []
        self._index: int | None = None
        self._last_key: EventKey | None = None
        #: held channel → its estimates ``(stamped at [s], value [kW])``, oldest first
        self._held: dict[str, list[tuple[int, float]]] = {}
        self.channels: tuple[str, ...] = ()
        self._sums: list[float] = []
        self._counts: list[int] = []
        self.reconfigure(channels, estimates)

    def reconfigure(
        self, channels: tuple[str, ...] | list[str], estimates: dict[str, int] | None = None
    ) -> None:
        """Average ``channels`` from now on (the open window keeps what its remaining channels
        had); ``estimates``: the estimated ones and their models' resolutions [s] (``None``: not
        told, windows' ``estimated`` is ``None``)."""
        channels = tuple(channels)
        old = {c: i for i, c in enumerate(self.channels)}
        sums = [self._sums[old[c]] if c in old else 0.0 for c in channels]
        counts = [self._counts[old[c]] if c in old else 0 for c in channels]
        moves = [(old[c], i) for i, c in enumerate(channels) if c in old]
        self._seen = [
            sum(1 << new for was, new in moves if bits & (1 << was)) for bits in self._seen
        ]
        self.channels, self._sums, self._counts = channels, sums, counts
        self.estimates = None if estimates is None else dict(estimates)
        found = estimates or {}
        self.estimated: tuple[str, ...] | None = (
            None if estimates is None else tuple(c for c in channels if c in found)
        )
        #: held channels (estimates of models coarser than the windows) → model resolution [s]
        self.held = {c: int(found[c]) for c in channels if int(found.get(c) or 0) > self.interval_s}
        self._held = {c: self._held.get(c, []) for c in self.held}
        #: the channels whose readings are averaged (all but the held), with their bit
        self._averaged = tuple((i, c) for i, c in enumerate(channels) if c not in self.held)

    def hold(self, reading: dict) -> None:
        """Keep the held channels' estimates of ``reading`` (see the module doc)."""
        power = reading.get("power_kw") or {}
        ts_s: int | None = None
        for channel in self.held:
            value = _value(power.get(channel))
            if value is None:
                continue
            if ts_s is None:
                ts_s = parse_ts(reading["ts"])
            kept = self._held[channel]
            kept.append((ts_s, value))
            kept.sort(key=lambda e: e[0])
            del kept[:-HELD_KEPT]

    def hold_before(
        self,
        broker: Broker,
        household: str,
        anchor_id: str,
        start_s: int,
        held: dict[str, int] | None = None,
    ) -> None:
        """Hold the estimates up to ``anchor_id`` that windows from ``start_s`` on may carry,
        of ``held`` (default: every held channel): what a primed, resumed or reconfigured
        aggregator needs to show what the live one shows."""
        held = self.held if held is None else held
        if not held:
            return
        since = start_s - HELD_WINDOWS * max(held.values())
        for _, reading in estimates_before(broker, household, anchor_id, since, tuple(held)):
            self.hold(reading)

    def _held_value(self, channel: str, start_s: int) -> float | None:
        """The estimate a window starting at ``start_s`` carries for a held channel."""
        resolution = self.held[channel]
        end_s = start_s + self.interval_s
        for stamped_s, value in reversed(self._held[channel]):
            model_start = stamped_s - stamped_s % resolution
            if stamped_s < end_s and start_s < model_start + HELD_WINDOWS * resolution:
                return value
        return None

    @property
    def open_start_s(self) -> int | None:
        return self._start

    def feed(self, entry_id: str, reading: dict) -> list[Window]:
        if self.held:
            self.hold(reading)
            power = reading.get("power_kw") or {}
            if power and all(c in self.held for c in power):
                return []  # only estimates of held channels: no window opens or closes
        ts_s = parse_ts(reading["ts"])
        start = ts_s - ts_s % self.interval_s
        key = EventKey(*parse_id(entry_id))
        out: list[Window] = []
        if self.last_closed_s is not None and start <= self.last_closed_s:
            self.late += 1
            self.anchor = key
            return out
        if self._start is not None and start > self._start:
            out.append(self._close())
        if self._start is None and self.last_closed_s is not None:
            out.extend(self._empty_windows(self.last_closed_s + self.interval_s, start))
        if self._start is None:
            self._start = start
            self._seen = [0] * self.interval_s
            index = reading.get("index")
            self._index = int(index) - (ts_s - start) if isinstance(index, int | float) else None
        power = reading.get("power_kw") or {}
        seen = self._seen[ts_s - start]
        for i, channel in self._averaged:
            value = _value(power.get(channel))
            if value is not None and not seen & (1 << i):
                seen |= 1 << i
                self._sums[i] += value
                self._counts[i] += 1
        self._seen[ts_s - start] = seen
        self._last_key = key
        self.anchor = key
        if ts_s == start + self.interval_s - 1:  # its last second is in: nothing more can come
            out.append(self._close())
        return out

    def tick(self, now_s: float, grace_s: float) -> list[Window]:
        """Close windows whose end is at least ``grace_s`` in the past (a silent meter)."""
        out: list[Window] = []
        if self._start is not None and now_s >= self._start + self.interval_s + grace_s:
            out.append(self._close())
        if self._start is None and self.last_closed_s is not None and self.anchor is not None:
            first = self.last_closed_s + self.interval_s
            due = math.floor((now_s - grace_s) / self.interval_s) * self.interval_s
            out.extend(self._empty_windows(first, due))
        return out

    def _close(self) -> Window:
        assert self._start is not None and self._last_key is not None
        power = {
            channel: (self._sums[i] / self._counts[i] if self._counts[i] else None)
            for i, channel in enumerate(self.channels)
        }
        for channel in self.held:
            power[channel] = self._held_value(channel, self._start)
        window = Window(
            self._start, self.interval_s, power, self._last_key, self._index, self.estimated
        )
        self.last_closed_s = self._start
        self._start = None
        self._sums = [0.0] * len(self.channels)
        self._counts = [0] * len(self.channels)
        self._seen = []
        self._index = None
        return window

    def _empty_windows(self, first_s: int, stop_s: int) -> list[Window]:
        """Empty windows starting at ``first_s``, ``first_s + interval_s``, … before ``stop_s``."""
        if self.anchor is None or stop_s <= first_s:
            return []
        starts = range(first_s, stop_s, self.interval_s)
        if len(starts) > MAX_GAP_WINDOWS:
            starts = starts[-MAX_GAP_WINDOWS:]
        empty = dict.fromkeys(self.channels)
        anchor = self.anchor
        out = [
            Window(
                s,
                self.interval_s,
                dict(empty),
                EventKey(anchor.ms, anchor.seq, s),
                estimated=self.estimated,
            )
            for s in starts
        ]
        self.last_closed_s = starts[-1]
        return out


def estimates_of(info: HouseholdInfo) -> dict[str, int]:
    """A household's estimated channels → their live models' resolutions [s] (0 for estimates
    made offline): the ``estimates`` a :class:`WindowAggregator` of the household is given."""
    described = info.extra.get("estimates") or {}
    out = {}
    for channel in info.estimated:
        about = described.get(channel) or {}
        live = isinstance(about, dict) and about.get("live") is True
        out[channel] = int(about.get("model_resolution_s") or 0) if live else 0
    return out


def estimates_before(
    broker: Broker,
    household: str,
    before: str | None,
    since_s: int,
    channels: tuple[str, ...] | list[str],
    *,
    page: int = 1000,
) -> list[Entry]:
    """The broker's entries of ``household`` up to and including ``before`` (the newest without
    it) timed from ``since_s`` that carry a value of any of ``channels``, oldest first: the
    estimates an aggregator resuming after ``before`` holds (:meth:`WindowAggregator.hold`)."""
    if not channels:
        return []
    wanted = set(channels)
    out: list[Entry] = []
    cursor = before
    if before is not None:
        found = broker.get(household, before)
        if found is not None:
            if parse_ts(found["ts"]) < since_s:
                return []
            if wanted & set(found.get("power_kw") or {}):
                out.append((before, found))
    while True:
        entries = broker.revrange(household, cursor, page)
        for entry in entries:
            if parse_ts(entry[1]["ts"]) < since_s:
                out.reverse()
                return out
            if wanted & set(entry[1].get("power_kw") or {}):
                out.append(entry)
        if len(entries) < page:
            out.reverse()
            return out
        cursor = entries[-1][0]
