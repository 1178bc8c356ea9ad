"""Brokers carrying each household's raw 1 Hz readings (see :mod:`server.broker.base`).

:func:`create_broker` picks Redis Streams when a ``redis://`` URL is given, else the in-process
ring buffer. :func:`open_sink` is what ``python -m generator replay --to redis://...`` resolves
(by importlib, so the generator stays free of Redis).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from server.broker.base import Broker, Entry, Reading, format_id, parse_id
from server.broker.memory import MemoryBroker

__all__ = [
    "Broker",
    "Entry",
    "MemoryBroker",
    "Reading",
    "create_broker",
    "format_id",
    "open_sink",
    "parse_id",
]

REDIS_SCHEMES = ("redis", "rediss", "unix")


def create_broker(url: str | None, maxlen: int = 86_400) -> Broker:
    """A :class:`RedisBroker` for a Redis URL, a :class:`MemoryBroker` for ``None``/empty."""
    if not url:
        return MemoryBroker(maxlen)
    scheme = urlsplit(url).scheme
    if scheme not in REDIS_SCHEMES:
        raise ValueError(f"unsupported broker URL {url!r}: expected redis://, rediss:// or unix://")
    from server.broker.redis import RedisBroker

    return RedisBroker(url, maxlen)


def open_sink(url: str, maxlen: int = 86_400) -> tuple[Callable[[str, Reading], str], Callable]:
    """``(publish, close)`` for a broker URL; ``publish`` raises ``ConnectionError`` subclasses
    (:class:`~server.errors.BrokerUnavailable`) while the broker is down."""
    if not url:
        raise ValueError("a sink URL is required (e.g. redis://localhost:6379/0)")
    broker = create_broker(url, maxlen)
    return broker.publish, broker.close
