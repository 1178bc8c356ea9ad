"""The widget state: one flat JSON object (``android-widget/README.md``, "The data contract").

It describes the household's **last complete window**, averaged and classified exactly as the
live stream does (:class:`server.streaming.aggregate.WindowAggregator` over the broker's history, then
:func:`server.stats.classify` with the household's quick statistics):

* while readings flow, the window before the one in progress (or the newest reading's window
  once the reading of its last second is in: the stream closes it then);
* once the meter has gone silent (the window of its newest reading ended more than
  ``grace_s`` ago, the moment the stream closes it), that window, with ``stale: true``.

``as_of`` is the end of that window (the values are averages up to then), ``seq`` the broker id
of the last reading in it (for a window without readings, of the reading before it), so ``seq``
orders states like the stream orders events. A household whose broker stream holds nothing has a
state without values (``seq`` ``"0-0"``, ``stale: true``); a live household with too little
stored history for statistics has values but no levels (``null``) yet. ``power_kw`` is rounded
to watts; ``null`` is a meter that reported nothing, never 0. A household with estimated
channels (disaggregated from the whole-house meter) has ``estimated``, the list of them, last.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from generator.dataset import HouseholdInfo
from generator.times import format_ts, parse_ts
from server.broker.base import Broker, parse_id
from server.ingest.history import NotEnoughHistory
from server.stats import HouseholdStats, worst
from server.streaming.aggregate import (
    EventKey,
    Window,
    WindowAggregator,
    estimates_of,
    history_since,
)
from server.streaming.classified import ClassifiedWindow, classify_window

__all__ = [
    "VERSION",
    "LastWindow",
    "WidgetStates",
    "average_window",
    "classified_state",
    "encode",
    "estimated_of",
    "etag_of",
    "last_window",
    "message",
    "state_of",
    "window_bounds",
]

VERSION = 1
PAGE = 1000
NO_READINGS = "No readings yet"
STALE = "No recent readings"
LEARNING = "Learning this home's usual use"


class LastWindow:
    """The last complete window of a household, or ``window is None`` when there is none."""

    __slots__ = ("window", "stale")

    def __init__(self, window: Window | None, stale: bool) -> None:
        self.window = window
        self.stale = stale


def window_bounds(
    broker: Broker, household: str, interval_s: int, now_s: float, grace_s: float
) -> tuple[int, bool] | None:
    """``(start, stale)`` of the last complete window; ``None`` when the stream is empty."""
    newest = broker.revrange(household, None, 1)
    if not newest:
        return None
    ts = parse_ts(newest[0][1]["ts"])
    current = ts - ts % interval_s
    stale = now_s >= current + interval_s + grace_s
    # the stream closes a window on the reading of its last second, or by silence
    complete = stale or ts == current + interval_s - 1
    return (current if complete else current - interval_s), stale


def average_window(
    broker: Broker,
    household: str,
    channels: tuple[str, ...],
    interval_s: int,
    start: int,
    grace_s: float,
    estimates: dict[str, int] | None = None,
) -> Window | None:
    """The window ``[start, start + interval_s)`` averaged from the broker's history, as the
    stream averages it; ``None`` if the history holds nothing before its end. ``estimates``
    (channel → live model resolution [s], :func:`~server.streaming.aggregate.estimates_of`):
    a window shorter than a model's carries its latest estimate, as the stream's does."""
    # about 1 Hz: this window and the one in progress, then pages of PAGE
    entries, anchor = history_since(
        broker,
        household,
        start,
        start + interval_s,
        first_page=min(PAGE, 2 * interval_s + 16),
        page=PAGE,
    )
    agg = WindowAggregator(
        channels,
        interval_s,
        last_closed_s=start - interval_s,
        anchor=EventKey(*parse_id(anchor[0])) if anchor is not None else None,
        estimates=estimates,
    )
    if anchor is not None:  # the estimates the window carries, as a stream's would
        agg.hold_before(broker, household, anchor[0], start)
    closed: list[Window] = []
    for entry_id, reading in entries:
        closed.extend(agg.feed(entry_id, reading))
    closed.extend(agg.tick(start + interval_s + grace_s, grace_s))
    found = [w for w in closed if w.start_s == start]
    return found[-1] if found else None


def last_window(
    broker: Broker,
    household: str,
    channels: tuple[str, ...],
    interval_s: int,
    now_s: float,
    grace_s: float,
) -> LastWindow:
    """Average the last complete window of ``household`` from the broker's history."""
    bounds = window_bounds(broker, household, interval_s, now_s, grace_s)
    if bounds is None:
        return LastWindow(None, True)
    start, stale = bounds
    return LastWindow(
        average_window(broker, household, channels, interval_s, start, grace_s), stale
    )


def message(power_kw: dict[str, float | None], level: dict[str, str], stale: bool) -> str:
    """A short human text for the widget (the app shows it under the values)."""
    if stale:
        return STALE
    if not level:
        return NO_READINGS
    top = worst(level)
    which = [c for c, lv in level.items() if lv == top]
    if top == "critical":
        missing = [c for c in which if power_kw.get(c) is None]
        if missing and len(missing) == len(level):
            return "No readings this interval"
        if missing:
            return f"No reading: {', '.join(missing)}"
        return f"Implausible reading: {', '.join(which)}"
    if top == "red":
        return f"Unusually high: {', '.join(which)}"
    if top == "yellow":
        return "Above usual use"
    return "Usual use"


def state_of(
    info: HouseholdInfo,
    stats: HouseholdStats | None,
    interval_s: int,
    window: Window | None,
    stale: bool,
    now_s: float,
) -> dict[str, Any]:
    """The widget JSON object of ``window`` (classified like the stream's events)."""
    channels = tuple(info.channels)
    if window is None:
        as_of = int(now_s) - int(now_s) % interval_s
        return {
            "version": VERSION,
            "household": info.id,
            "name": info.name or info.id,
            "as_of": format_ts(as_of),
            "seq": "0-0",
            "interval_s": interval_s,
            "power_kw": dict.fromkeys(channels),
            "level": dict.fromkeys(channels),
            "worst": None,
            "message": NO_READINGS,
            "stale": True,
            **estimated_of(info),
        }
    return classified_state(info, classify_window(info.id, window, stats, channels), stale)


def classified_state(info: HouseholdInfo, window: ClassifiedWindow, stale: bool) -> dict[str, Any]:
    """The widget JSON object of a window the hub classified (what the push sender follows)."""
    channels = tuple(info.channels)
    shown = {
        c: None if window.power_kw.get(c) is None else round(window.power_kw[c], 3)
        for c in channels
    }
    if window.level is None:  # a live household still learning its usual use: values, no lights
        level: dict[str, str | None] = dict.fromkeys(channels)
        worst_level, text = None, STALE if stale else LEARNING
    else:
        level = {c: window.level[c] for c in channels}
        worst_level, text = window.worst, message(shown, level, stale)
    return {
        "version": VERSION,
        "household": info.id,
        "name": info.name or info.id,
        "as_of": format_ts(window.start_s + window.interval_s),
        "seq": window.event_id.partition(".")[0],
        "interval_s": window.interval_s,
        "power_kw": shown,
        "level": level,
        "worst": worst_level,
        "message": text,
        "stale": stale,
        **estimated_of(info),
    }


def estimated_of(info: HouseholdInfo) -> dict[str, list[str]]:
    """``{"estimated": [...]}`` when some of the household's channels are estimates
    (disaggregated from the whole-house meter), else ``{}``: the state gains the key last."""
    return {"estimated": list(info.estimated)} if info.estimated else {}


def encode(state: dict[str, Any]) -> bytes:
    """Compact JSON bytes: the HTTP body and the push's ``state`` string."""
    return json.dumps(state, separators=(",", ":"), allow_nan=False, ensure_ascii=False).encode()


def etag_of(body: bytes) -> str:
    """A strong entity tag of the body (quoted)."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


class WidgetStates:
    """Computes states, remembering recent ones: a closed window's state does not change (a
    late reading is dropped by the stream too), so while the window a request reports stays
    the last one it costs one broker call."""

    def __init__(self, maxsize: int = 512) -> None:
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple, tuple[bytes, str]] = OrderedDict()

    def get(
        self,
        broker: Broker,
        info: HouseholdInfo,
        stats_for,  # noqa: ANN001 - () -> HouseholdStats, called only when needed
        interval_s: int,
        now_s: float,
        grace_s: float,
    ) -> tuple[bytes, str]:
        """``(body, etag)`` of the household's widget state at ``now_s``."""
        bounds = window_bounds(broker, info.id, interval_s, now_s, grace_s)
        key = None if bounds is None else (info.id, interval_s, *bounds)
        if key is not None:
            with self._lock:
                found = self._cache.get(key)
                if found is not None:
                    self._cache.move_to_end(key)
                    return found
        window = None
        if bounds is not None:
            window = average_window(
                broker,
                info.id,
                tuple(info.channels),
                interval_s,
                bounds[0],
                grace_s,
                estimates_of(info),
            )
        if window is None:
            body = encode(state_of(info, None, interval_s, None, True, now_s))
            return body, etag_of(body)
        try:
            stats = stats_for()
        except NotEnoughHistory:
            body = encode(state_of(info, None, interval_s, window, bounds[1], now_s))
            return body, etag_of(body)  # not cached: the lights come once history suffices
        body = encode(state_of(info, stats, interval_s, window, bounds[1], now_s))
        result = (body, etag_of(body))
        with self._lock:
            self._cache[key] = result
            while len(self._cache) > self.maxsize:
                self._cache.popitem(last=False)
        return result
