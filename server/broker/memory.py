"""In-process broker for the embedded default: a ring buffer per household.

Only the threads (greenlets under gunicorn's gevent worker) of one process see it, so the
embedded default runs one worker. History is trimmed to ``maxlen`` entries, approximately (up
to a tenth more are kept, then the oldest are dropped in one go, like Redis' ``MAXLEN ~``).
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable

from server.broker.base import Broker, Entry, Reading, format_id, parse_id

__all__ = ["MemoryBroker"]


class _Stream:
    __slots__ = ("keys", "ids", "readings")

    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []
        self.ids: list[str] = []
        self.readings: list[Reading] = []


class MemoryBroker(Broker):
    def __init__(self, maxlen: int = 86_400, *, clock: Callable[[], float] = time.time) -> None:
        if maxlen <= 0:
            raise ValueError(f"maxlen must be positive, got {maxlen!r}")
        self.maxlen = maxlen
        self._clock = clock
        self._streams: dict[str, _Stream] = {}
        self._cond = threading.Condition()
        self._closed = False

    def _stream(self, household: str) -> _Stream:
        stream = self._streams.get(household)
        if stream is None:
            stream = self._streams[household] = _Stream()
        return stream

    def publish(self, household: str, reading: Reading) -> str:
        with self._cond:
            stream = self._stream(household)
            ms = int(self._clock() * 1000)
            last = stream.keys[-1] if stream.keys else (0, 0)
            key = (ms, 0) if ms > last[0] else (last[0], last[1] + 1)
            entry_id = format_id(*key)
            stream.keys.append(key)
            stream.ids.append(entry_id)
            stream.readings.append(reading)
            excess = len(stream.keys) - self.maxlen
            if excess > self.maxlen // 10:
                del stream.keys[:excess], stream.ids[:excess], stream.readings[:excess]
            self._cond.notify_all()
            return entry_id

    def _after(self, stream: _Stream, after: str | None, count: int) -> list[Entry]:
        start = 0 if after is None else bisect.bisect_right(stream.keys, parse_id(after))
        stop = start + max(count, 0)
        return list(zip(stream.ids[start:stop], stream.readings[start:stop], strict=True))

    def range(self, household: str, after: str | None, count: int) -> list[Entry]:
        with self._cond:
            return self._after(self._stream(household), after, count)

    def revrange(self, household: str, before: str | None, count: int) -> list[Entry]:
        with self._cond:
            stream = self._stream(household)
            stop = (
                len(stream.keys)
                if before is None
                else bisect.bisect_left(stream.keys, parse_id(before))
            )
            start = max(stop - max(count, 0), 0)
            out = list(zip(stream.ids[start:stop], stream.readings[start:stop], strict=True))
            out.reverse()
            return out

    def read(self, household: str, after: str, timeout_s: float, count: int) -> list[Entry]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                out = self._after(self._stream(household), after, count)
                remaining = deadline - time.monotonic()
                if out or remaining <= 0 or self._closed:
                    return out
                self._cond.wait(remaining)

    def get(self, household: str, entry_id: str) -> Reading | None:
        key = parse_id(entry_id)
        with self._cond:
            stream = self._stream(household)
            i = bisect.bisect_left(stream.keys, key)
            if i < len(stream.keys) and stream.keys[i] == key:
                return stream.readings[i]
            return None

    def last_id(self, household: str) -> str:
        with self._cond:
            stream = self._stream(household)
            return stream.ids[-1] if stream.ids else "0-0"

    def ping(self) -> None:
        return None

    def close(self) -> None:
        """Wake blocked readers (they see their hub stopped and return)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
