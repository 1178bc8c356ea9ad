"""Per-client set-ups of the seed's compatibility stream, visible to every worker.

``POST /stream_setup`` stores ``{household, interval_s, start_index}`` under a new random
``stream_id``; ``/stream_qstats`` and ``/stream_data`` find it by cookie or ``?stream_id=``. With
Redis the set-ups live there (``gridlight:setup:{id}``, expiring after ``ttl_s``); otherwise in
the installation's database (``stream_setups``, rows older than ``ttl_s`` ignored and purged).
:meth:`SetupStore.erase` removes a household's set-ups (its erasure).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from server.errors import BrokerUnavailable
from server.storage.database import Database
from server.storage.erase import setup_household, setups_of

__all__ = ["DatabaseSetups", "RedisSetups", "Setup", "SetupStore", "new_stream_id"]

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

    def erase(self, household: str) -> int:
        """Remove every set-up made for ``household``; how many."""
        raise NotImplementedError


class DatabaseSetups(SetupStore):
    """Set-ups in the ``stream_setups`` table, ``(stream_id, setup JSON, created_at)``."""

    def __init__(
        self, db: Database, ttl_s: int = TTL_S, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self.clock = clock

    def put(self, stream_id: str, setup: Setup) -> None:
        now = float(self.clock())
        with self.db.write() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO stream_setups (stream_id, setup, created_at)"
                    " VALUES (:stream_id, :setup, :now)"
                    " ON CONFLICT (stream_id) DO UPDATE SET setup = excluded.setup,"
                    " created_at = excluded.created_at"
                ),
                {"stream_id": stream_id, "setup": json.dumps(asdict(setup)), "now": now},
            )
            conn.execute(
                sa.text("DELETE FROM stream_setups WHERE created_at < :cutoff"),
                {"cutoff": now - self.ttl_s},
            )

    def get(self, stream_id: str) -> Setup | None:
        with self.db.read() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT setup FROM stream_setups"
                    " WHERE stream_id = :stream_id AND created_at >= :cutoff"
                ),
                {"stream_id": stream_id, "cutoff": float(self.clock()) - self.ttl_s},
            ).first()
        return Setup(**json.loads(row[0])) if row else None

    def erase(self, household: str) -> int:
        with self.db.write() as conn:
            ids = setups_of(conn, household)
            for stream_id in ids:
                conn.execute(
                    sa.text("DELETE FROM stream_setups WHERE stream_id = :s"), {"s": stream_id}
                )
        return len(ids)


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

    def erase(self, household: str) -> int:
        """Scan every set-up key (erasures are rare; set-ups expire after ``ttl_s``) and delete
        those of ``household``."""
        import redis.exceptions

        removed = 0
        try:
            batch: list[str] = []
            for key in self._client.scan_iter(match=self._key("*"), count=500):
                batch.append(key)
                if len(batch) >= 500:
                    removed += self._erase_batch(batch, household)
                    batch = []
            if batch:
                removed += self._erase_batch(batch, household)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
            raise BrokerUnavailable(
                f"cannot erase the stream set-ups of {household!r}: {err}"
            ) from err
        return removed

    def _erase_batch(self, keys: list[str], household: str) -> int:
        mine = [
            k
            for k, raw in zip(keys, self._client.mget(keys), strict=True)
            if setup_household(raw) == household
        ]
        return int(self._client.delete(*mine)) if mine else 0
