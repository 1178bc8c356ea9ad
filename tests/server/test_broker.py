"""The same contract for the in-process broker and Redis Streams (a real redis-server)."""

from __future__ import annotations

import threading
import time

import pytest

from server.broker import MemoryBroker, create_broker, parse_id
from server.broker.redis import RedisBroker
from server.errors import BrokerUnavailable


@pytest.fixture(params=["memory", "redis"])
def broker(request):  # noqa: ANN001, ANN201
    if request.param == "memory":
        yield MemoryBroker(maxlen=100)
    else:
        server = request.getfixturevalue("redis_server")
        b = create_broker(server.url, maxlen=100)
        assert isinstance(b, RedisBroker)
        yield b
        b.close()


def r(i: int) -> dict:
    return {"ts": f"2026-11-22T06:25:{i % 60:02d}Z", "power_kw": {"AC": i * 0.5}, "index": i}


def test_publish_range_revrange_get(broker):
    ids = [broker.publish("A", r(i)) for i in range(10)]
    broker.publish("B", r(99))
    keys = [parse_id(i) for i in ids]
    assert keys == sorted(keys) and len(set(keys)) == 10
    assert broker.last_id("A") == ids[-1]
    assert broker.last_id("nobody") == "0-0"
    assert [e[0] for e in broker.range("A", None, 100)] == ids
    assert [e[1]["index"] for e in broker.range("A", ids[3], 4)] == [4, 5, 6, 7]
    assert [e[0] for e in broker.revrange("A", None, 3)] == ids[:-4:-1]
    assert [e[0] for e in broker.revrange("A", ids[5], 2)] == [ids[4], ids[3]]
    assert broker.get("A", ids[2]) == r(2)
    assert broker.get("A", "1-0") is None


def test_blocking_read_wakes_on_publish(broker):
    last = broker.publish("A", r(0))
    assert broker.read("A", last, timeout_s=0.05, count=10) == []
    timer = threading.Timer(0.1, lambda: broker.publish("A", r(1)))
    timer.start()
    started = time.monotonic()
    got = broker.read("A", last, timeout_s=5, count=10)
    timer.join()
    assert [e[1]["index"] for e in got] == [1]
    assert time.monotonic() - started < 4


def test_history_is_trimmed_to_about_maxlen(broker):
    ids = [broker.publish("A", r(i)) for i in range(400)]
    kept = broker.range("A", None, 10_000)
    assert 100 <= len(kept) <= 250
    assert kept[-1][0] == ids[-1]
    assert broker.get("A", ids[0]) is None


def test_redis_down_raises_broker_unavailable(redis_server):
    broker = create_broker(redis_server.url)
    broker.publish("A", r(0))
    redis_server.stop()
    try:
        with pytest.raises(BrokerUnavailable, match="unavailable") as info:
            broker.publish("A", r(1))
        assert isinstance(info.value, ConnectionError)
        with pytest.raises(BrokerUnavailable):
            broker.ping()
    finally:
        redis_server.start()
    assert broker.publish("A", r(2))  # reconnects by itself
    broker.close()


def test_unsupported_url():
    with pytest.raises(ValueError, match="unsupported broker URL 'http://x'"):
        create_broker("http://x")
