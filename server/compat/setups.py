"""Per-client set-ups of the seed's compatibility stream, visible to every worker.

``POST /stream_setup`` stores ``{household, interval_s, start_index}`` under a new random
``stream_id``; ``/stream_qstats`` and ``/stream_data`` find it by cookie or ``?stream_id=``. With
Redis the set-ups live there (``gridlight:setup:{id}``, expiring after ``ttl_s``); otherwise in
SQLite under the data directory.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from server.errors import BrokerUnavailable

__all__ = ["Setup", "SetupStore", "SqliteSetups", "RedisSetups", "new_stream_id"]

TTL_S = 7 * 86_400


@dataclass(frozen=True)
class Setup:
    household: str
    interval_s: int
    start_index: int | None = None
    speed: float = 1.0
    #: id of the API key the set-up was made with (``None`` for an open demo household); the
    #: set-up is only used while that key is live
    key_id: str | None = None


def new_stream_id() -> str:
    return secrets.token_urlsafe(16)


def valid_stream_id(stream_id: str) -> bool:
    return 8 <= len(stream_id) <= 64 and all(c.isalnum() or c in "-_" for c in stream_id)


class SetupStore:
    def put(self, stream_id: str, setup: Setup) -> None:
        raise NotImplementedError

    def get(self, stream_id: str) -> Setup | None:
        raise NotImplementedError


class SqliteSetups(SetupStore):
    def __init__(self, path: str | Path, ttl_s: int = TTL_S) -> None:
        self.path = Path(path)
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10)
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS stream_setups (stream_id TEXT PRIMARY KEY, "
                "setup TEXT NOT NULL, created_at REAL NOT NULL)"
            )
            conn.commit()
            self._ready = True
        return conn

    def put(self, stream_id: str, setup: Setup) -> None:
        now = time.time()
        with self._lock:
            conn = self._connect()
            try:
                with conn:
                    conn.execute(
                        "INSERT OR REPLACE INTO stream_setups VALUES (?, ?, ?)",
                        (stream_id, json.dumps(asdict(setup)), now),
                    )
                    conn.execute(
                        "DELETE FROM stream_setups WHERE created_at < ?", (now - self.ttl_s,)
                    )
            finally:
                conn.close()

    def get(self, stream_id: str) -> Setup | None:
        with self._lock:
            conn = self._connect()
            try:
                row = conn.execute(
                    "SELECT setup FROM stream_setups WHERE stream_id = ? AND created_at >= ?",
                    (stream_id, time.time() - self.ttl_s),
                ).fetchone()
            finally:
                conn.close()
        return Setup(**json.loads(row[0])) if row else None


class RedisSetups(SetupStore):
    def __init__(self, url: str, ttl_s: int = TTL_S) -> None:
        import redis

        self.ttl_s = ttl_s
        self._client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5)

    def _key(self, stream_id: str) -> str:
        return f"gridlight:setup:{stream_id}"

    def put(self, stream_id: str, setup: Setup) -> None:
        import redis.exceptions

        try:
            self._client.set(self._key(stream_id), json.dumps(asdict(setup)), ex=self.ttl_s)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
            raise BrokerUnavailable(f"cannot store the stream set-up: {err}") from err

    def get(self, stream_id: str) -> Setup | None:
        import redis.exceptions

        try:
            raw = self._client.get(self._key(stream_id))
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
            raise BrokerUnavailable(f"cannot read the stream set-up: {err}") from err
        return Setup(**json.loads(raw)) if raw else None
