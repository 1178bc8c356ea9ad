"""Redis Streams broker: one stream ``gridlight:readings:{household}`` per household.

Entries carry the reading as JSON in the field ``r``; ``XADD ... MAXLEN ~ maxlen`` keeps about a
day of 1 Hz readings. Redis' entry ids are the SSE ids. Connection failures become
:class:`~server.errors.BrokerUnavailable`; callers reconnect with backoff (redis-py reconnects
on the next command).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import redis
import redis.exceptions

from server.broker.base import Broker, Entry, Reading
from server.errors import BrokerUnavailable

__all__ = ["RedisBroker", "stream_key"]

T = TypeVar("T")
_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


def stream_key(household: str) -> str:
    return f"gridlight:readings:{household}"


def _entries(raw: list[Any]) -> list[Entry]:
    return [(entry_id, json.loads(fields["r"])) for entry_id, fields in raw]


class RedisBroker(Broker):
    def __init__(self, url: str, maxlen: int = 86_400, *, block_margin_s: float = 5.0) -> None:
        self.url = url
        self.maxlen = maxlen
        self._block_margin_s = block_margin_s
        self._client = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=2.0,
            socket_timeout=block_margin_s + 5.0,
            health_check_interval=30,
            retry_on_timeout=False,
        )

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except _DOWN as err:
            raise BrokerUnavailable(f"Redis at {self._safe_url()} is unavailable: {err}") from err

    def _safe_url(self) -> str:
        host = self._client.connection_pool.connection_kwargs.get("host", "?")
        port = self._client.connection_pool.connection_kwargs.get("port", "?")
        return f"{host}:{port}"

    def delete(self, household: str) -> bool:
        return bool(self._call(lambda: self._client.delete(stream_key(household))))

    def publish(self, household: str, reading: Reading) -> str:
        payload = json.dumps(reading, separators=(",", ":"), allow_nan=False)
        return self._call(
            lambda: self._client.xadd(
                stream_key(household), {"r": payload}, maxlen=self.maxlen, approximate=True
            )
        )

    def range(self, household: str, after: str | None, count: int) -> list[Entry]:
        start = "-" if after is None else f"({after}"
        return _entries(
            self._call(lambda: self._client.xrange(stream_key(household), start, "+", count=count))
        )

    def revrange(self, household: str, before: str | None, count: int) -> list[Entry]:
        end = "+" if before is None else f"({before}"
        return _entries(
            self._call(lambda: self._client.xrevrange(stream_key(household), end, "-", count=count))
        )

    def read(self, household: str, after: str, timeout_s: float, count: int) -> list[Entry]:
        block_ms = max(int(timeout_s * 1000), 1)
        raw = self._call(
            lambda: self._client.xread({stream_key(household): after}, count=count, block=block_ms)
        )
        return _entries(raw[0][1]) if raw else []

    def get(self, household: str, entry_id: str) -> Reading | None:
        raw = self._call(
            lambda: self._client.xrange(stream_key(household), entry_id, entry_id, count=1)
        )
        return _entries(raw)[0][1] if raw else None

    def last_id(self, household: str) -> str:
        raw = self._call(lambda: self._client.xrevrange(stream_key(household), "+", "-", count=1))
        return raw[0][0] if raw else "0-0"

    def ping(self) -> None:
        self._call(self._client.ping)

    def close(self) -> None:
        self._client.close()
