"""In-process broker for the embedded default: a ring buffer per household.

Only the threads (greenlets under gunicorn's gevent worker) of one process see it, so the
embedded default runs one worker. History is trimmed to ``maxlen`` entries, approximately (up
to a tenth more are kept, then the oldest are dropped in one go, like Redis' ``MAXLEN ~``).
Readings are kept as compact JSON and ids as packed integers: a day of 1 Hz readings of a
household takes about 20 MB.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable

from server.broker.base import Broker, Entry, Reading, parse_id

__all__ = ["MemoryBroker"]

_SEQ_BITS = 20


def _pack(entry_id: str) -> int:
    ms, seq = parse_id(entry_id)
    return (ms << _SEQ_BITS) | min(seq, (1 << _SEQ_BITS) - 1)


def _unpack(key: int) -> str:
    return f"{key >> _SEQ_BITS}-{key & ((1 << _SEQ_BITS) - 1)}"


class _Stream:
    __slots__ = ("keys", "readings")

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.readings: list[str] = []

    def entries(self, start: int, stop: int) -> list[Entry]:
        return [
            (_unpack(k), json.loads(r))
            for k, r in zip(self.keys[start:stop], self.readings[start:stop], strict=True)
        ]


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

    def delete(self, household: str) -> bool:
        with self._cond:
            return self._streams.pop(household, None) is not None

    def publish(self, household: str, reading: Reading) -> str:
        payload = json.dumps(reading, separators=(",", ":"), allow_nan=False)
        with self._cond:
            stream = self._stream(household)
            key = int(self._clock() * 1000) << _SEQ_BITS
            if stream.keys and key <= stream.keys[-1]:
                key = stream.keys[-1] + 1
            stream.keys.append(key)
            stream.readings.append(payload)
            excess = len(stream.keys) - self.maxlen
            if excess > self.maxlen // 10:
                del stream.keys[:excess], stream.readings[:excess]
            self._cond.notify_all()
            return _unpack(key)

    def _after(self, stream: _Stream, after: str | None, count: int) -> list[Entry]:
        start = 0 if after is None else bisect.bisect_right(stream.keys, _pack(after))
        return stream.entries(start, start + max(count, 0))

    def range(self, household: str, after: str | None, count: int) -> list[Entry]:
        with self._cond:
            return self._after(self._stream(household), after, count)

    def revrange(self, household: str, before: str | None, count: int) -> list[Entry]:
        with self._cond:
            stream = self._stream(household)
            stop = len(stream.keys)
            if before is not None:
                stop = bisect.bisect_left(stream.keys, _pack(before))
            out = stream.entries(max(stop - max(count, 0), 0), stop)
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
        key = _pack(entry_id)
        with self._cond:
            stream = self._stream(household)
            i = bisect.bisect_left(stream.keys, key)
            if i < len(stream.keys) and stream.keys[i] == key and _unpack(key) == entry_id:
                return json.loads(stream.readings[i])
            return None

    def last_id(self, household: str) -> str:
        with self._cond:
            stream = self._stream(household)
            return _unpack(stream.keys[-1]) if stream.keys else "0-0"

    def ping(self) -> None:
        return None

    def close(self) -> None:
        """Wake blocked readers (they see their hub stopped and return)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
