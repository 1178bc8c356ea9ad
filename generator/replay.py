"""Replay a dataset's households as live 1 Hz meters ("virtual meters").

Every second ``s`` of a clock, each household publishes the reading its dataset holds for the
same second of the day in the household's time zone, on a dataset day with the same weekday::

    {"ts": "2026-11-22T06:25:50Z", "power_kw": {"AC": 1.5, "Geyser": null, ...}, "index": 195950}

``index`` is the dataset second the value comes from (seconds since the table's first row).
Among the dataset's days with today's weekday one is picked by week number, so a replay running
for weeks walks through them; a dataset shorter than a week uses its days in turn. Missing values
are ``null``, never zero.

With ``speed`` X a virtual clock advances X seconds per real second, starting from the real
clock (or ``start_s``); timestamps come from the virtual clock. The module is pure: it takes a
``publish(household, reading)`` callable, a ``clock`` and a ``sleep``; whatever the sink is
(Redis, MQTT, the in-process broker) it is resolved by the caller. While ``publish`` raises
``ConnectionError`` readings are kept (up to ``max_pending``, oldest dropped first) and sent in
order once it works again.

An outage may also take readings that were published just before it: a Redis that restarts
without persistence comes back with empty streams, and whatever its readers had not yet read is
gone; a publish whose reply was lost was stored although it raised. So at the first failure of an
outage the readings published in the ``resend_s`` seconds before it are queued again, ahead of
the kept ones, and sent once the sink works. Consumers count each channel's value for a second
once (:class:`server.streaming.aggregate.WindowAggregator`, storage's primary keys), so a
reading they already had changes nothing and one they lost is restored.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from generator.dataset import Dataset, DatasetError
from generator.times import format_ts

__all__ = ["Meter", "ReplayCalendar", "ReplayStats", "replay"]

log = logging.getLogger(__name__)

Publish = Callable[[str, dict], object]


class ReplayCalendar:
    """Which dataset second a replay plays at each wall-clock second (see the module's
    docstring): the same second of the local day, on a dataset day with the same weekday."""

    def __init__(self, start_s: int, span_s: int, zone: ZoneInfo) -> None:
        self.start_s = int(start_s)
        self.span_s = int(span_s)
        self.zone = zone
        first_day = datetime.fromtimestamp(self.start_s, zone).date()
        last_day = datetime.fromtimestamp(self.start_s + max(self.span_s, 1) - 1, zone).date()
        self.days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
        self._day_cache: dict[date, int] = {}

    def midnight_offset_s(self, today: date) -> int:
        """Dataset second of local midnight on the dataset day standing in for ``today``."""
        found = self._day_cache.get(today)
        if found is None:
            same = [d for d in self.days if d.weekday() == today.weekday()]
            ordinal = today.toordinal()
            day = same[(ordinal // 7) % len(same)] if same else self.days[ordinal % len(self.days)]
            midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone)
            found = int(midnight.timestamp()) - self.start_s
            if len(self._day_cache) > 64:
                self._day_cache.clear()
            self._day_cache[today] = found
        return found

    def index_at(self, epoch_s: int) -> int:
        """Dataset second replayed at wall-clock second ``epoch_s``."""
        local = datetime.fromtimestamp(epoch_s, self.zone)
        second_of_day = local.hour * 3600 + local.minute * 60 + local.second
        return self.midnight_offset_s(local.date()) + second_of_day


class Meter(ReplayCalendar):
    """One household's readings by wall-clock second, drawn from a dataset."""

    def __init__(self, dataset: Dataset, household: str, *, faulty: bool | None = None) -> None:
        info = dataset.household(household)
        use_faulty = dataset.faulty is not None if faulty is None else faulty
        frame = dataset.frame(household, faulty=use_faulty)
        if len(frame.index) == 0:
            raise DatasetError(f"household {household!r} has no readings to replay")
        self.household = household
        self.channels = tuple(info.channels)
        self.resolution_s = max(int(info.resolution_s), 1)
        self.values = frame.to_numpy(dtype="float64", na_value=np.nan)
        super().__init__(
            int(frame.index[0].timestamp()),
            len(self.values) * self.resolution_s,
            ZoneInfo(info.timezone),
        )

    def reading_at(self, epoch_s: int) -> dict:
        index = self.index_at(epoch_s)
        power: dict[str, float | None] = dict.fromkeys(self.channels)
        if 0 <= index < self.span_s:
            row = self.values[index // self.resolution_s]
            for i, channel in enumerate(self.channels):
                value = float(row[i])
                power[channel] = value if math.isfinite(value) else None
        return {"ts": format_ts(epoch_s), "power_kw": power, "index": index}


@dataclass
class ReplayStats:
    seconds: int = 0
    published: int = 0
    failures: int = 0
    dropped: int = 0
    #: readings queued again after an outage began (see the module's docstring)
    resent: int = 0


def replay(
    dataset: Dataset,
    households: Sequence[str] | Iterable[str],
    publish: Publish,
    *,
    speed: float = 1.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    start_s: float | None = None,
    duration_s: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    max_pending: int = 86_400 * 3,
    max_backoff_s: float = 2.0,
    faulty: bool | None = None,
    resend_s: float = 5.0,
) -> ReplayStats:
    """Publish readings second by second until ``should_stop()`` or ``duration_s`` (virtual).

    ``faulty``: replay the faulty table (True), the clean one (False), or the faulty one when the
    dataset has it (None). ``resend_s``: how far back (real seconds, by ``clock``) readings
    published before an outage are sent again after it."""
    if not math.isfinite(speed) or speed <= 0:
        raise ValueError(f"speed must be a positive number, got {speed!r}")
    meters = [Meter(dataset, h, faulty=faulty) for h in households]
    del dataset  # the meters hold what they need; a long replay need not keep the tables
    if not meters:
        raise ValueError("no households to replay")
    stats = ReplayStats()
    real0 = clock()
    virtual0 = real0 if start_s is None else float(start_s)
    next_s = math.ceil(virtual0)
    stop_s = None if duration_s is None else next_s + int(duration_s)
    pending: deque[tuple[str, dict]] = deque()
    # what went out in the last resend_s seconds: (clock time, household, reading)
    recent: deque[tuple[float, str, dict]] = deque()
    backoff_s = 0.05
    retry_at = -math.inf
    in_outage = False

    def requeue_recent(now: float) -> None:
        """An outage begins: what the sink may have lost goes out again, first."""
        again = [(h, r) for t, h, r in recent if t >= now - resend_s]
        recent.clear()
        pending.extendleft(reversed(again))
        stats.resent += len(again)
        while len(pending) > max_pending:
            pending.popleft()
            stats.dropped += 1

    def flush() -> bool:
        nonlocal backoff_s, retry_at, in_outage
        if clock() < retry_at:
            return False
        while pending:
            household, reading = pending[0]
            try:
                publish(household, reading)
            except ConnectionError as err:
                stats.failures += 1
                if stats.failures == 1 or backoff_s >= max_backoff_s:
                    log.warning("publishing failed (%s); keeping %d readings", err, len(pending))
                now = clock()
                if not in_outage:
                    in_outage = True
                    requeue_recent(now)
                retry_at = now + backoff_s
                backoff_s = min(backoff_s * 2, max_backoff_s)
                return False
            pending.popleft()
            stats.published += 1
            in_outage = False
            if resend_s > 0:
                now = clock()
                recent.append((now, household, reading))
                while recent and recent[0][0] < now - resend_s:
                    recent.popleft()
        backoff_s = 0.05
        return True

    while not should_stop():
        if stop_s is not None and next_s >= stop_s:
            break
        virtual_now = virtual0 + (clock() - real0) * speed
        # A meter reports a second's average power once that second is over: the reading
        # for [next_s, next_s + 1) goes out at next_s + 1, as a real meter's would.
        if virtual_now < next_s + 1:
            flush()
            sleep(min(max((next_s + 1 - virtual_now) / speed, 0.001), 0.5))
            continue
        for meter in meters:
            if len(pending) >= max_pending:
                pending.popleft()
                stats.dropped += 1
            pending.append((meter.household, meter.reading_at(next_s)))
        stats.seconds += 1
        next_s += 1
        if not flush() and clock() < retry_at:
            sleep(min(retry_at - clock(), 0.5))
    deadline = clock() + 5 * max_backoff_s
    while pending and clock() < deadline and not should_stop():
        if not flush():
            sleep(max(min(retry_at - clock(), 0.5), 0.0))
    return stats
