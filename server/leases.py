"""Leader-only work: a lease that at most one worker holds at a time, and the one mechanism
(:class:`LeasedFollowers`) by which the alert evaluator and the push sender follow households
while they hold it.

* :class:`RedisLease` — with ``REDIS_URL`` (several workers, maybe several hosts): the key
  ``gridlight:push:sender`` holds the owner's id, taken with ``SET key owner NX PX ttl`` and
  renewed (only by its owner, atomically in a Lua script) every few seconds. A worker that dies
  stops renewing and another takes over within ``ttl_s``. A renewal that fails (Redis down)
  means "not the sender": two senders for a moment would push twice, a gap only delays.
* :class:`DatabaseLease` — without Redis: the row ``name`` of the ``leases`` table in the
  installation's database (SQLite for one host's workers, PostgreSQL shared by every host), taken
  or renewed by one upsert that succeeds only for its owner or once the row has expired. A
  database that cannot be reached means "not the leader", as with Redis.
* :class:`LocalLease` — always held: a process that is alone by construction (pure unit tests,
  a single embedded worker without a database at hand).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
import redis.exceptions
import sqlalchemy as sa

from server.storage.database import Database, DatabaseUnavailable

__all__ = [
    "LEASE_KEY",
    "DatabaseLease",
    "Lease",
    "LeasedFollowers",
    "LocalLease",
    "Periodic",
    "RedisLease",
    "control_loop",
    "lease_for",
]

log = logging.getLogger(__name__)
LEASE_KEY = "gridlight:push:sender"
_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

# Extend the lease only if we still own it; 1 when extended.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class Lease:
    owner: str

    def hold(self) -> bool:
        """Take or renew the lease; True while this process is the sender."""
        raise NotImplementedError

    def release(self) -> None:
        """Give the lease up (on shutdown), so another worker can take it at once."""


class LocalLease(Lease):
    def __init__(self) -> None:
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    def hold(self) -> bool:
        return True


class RedisLease(Lease):
    def __init__(self, url: str, *, ttl_s: float = 15.0, key: str = LEASE_KEY) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be positive, got {ttl_s!r}")
        self.key = key
        self.ttl_ms = max(int(ttl_s * 1000), 1)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._client = redis.Redis.from_url(
            url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=5.0
        )
        self._held = False

    def hold(self) -> bool:
        try:
            if self._held and self._client.eval(_RENEW, 1, self.key, self.owner, self.ttl_ms):
                return True
            taken = bool(self._client.set(self.key, self.owner, nx=True, px=self.ttl_ms))
        except _DOWN as err:
            if self._held:
                log.warning("push sender lease lost: Redis unavailable (%s)", err)
            self._held = False
            return False
        if taken and not self._held:
            log.info("this worker (%s) is now the push sender", self.owner)
        elif self._held and not taken:
            log.warning("push sender lease lost to another worker")
        self._held = taken
        return taken

    def release(self) -> None:
        if not self._held:
            return
        try:
            self._client.eval(_RELEASE, 1, self.key, self.owner)
        except _DOWN as err:
            log.warning("could not release the push sender lease: %s", err)
        self._held = False

    def close(self) -> None:
        self._client.close()


# Take the lease if it is free or expired, renew it if it is ours: one statement, atomic on both
# backends (the conflict's row is locked while its WHERE is checked); a row comes back when held.
_TAKE = sa.text(
    "INSERT INTO leases (name, owner, expires_s) VALUES (:name, :owner, :expires)"
    " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_s = excluded.expires_s"
    " WHERE leases.owner = excluded.owner OR leases.expires_s < :now"
    " RETURNING owner"
)
_GIVE_UP = sa.text("DELETE FROM leases WHERE name = :name AND owner = :owner")


class DatabaseLease(Lease):
    """The lease ``name`` as a row of the ``leases`` table: ``(name, owner, expires_s)``.

    :meth:`hold` takes the row when it is missing or expired and extends it (``ttl_s`` from the
    ``clock``'s now) while this owner holds it; :meth:`release` deletes it only if it is still
    this owner's, so another worker or host takes over at its next :meth:`hold`.
    """

    def __init__(
        self,
        db: Database,
        name: str,
        ttl_s: float = 15.0,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_s <= 0:
            raise ValueError(f"ttl_s must be positive, got {ttl_s!r}")
        self.db = db
        self.name = name
        self.ttl_s = float(ttl_s)
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._held = False

    def hold(self) -> bool:
        now_s = float(self.clock())
        params = {
            "name": self.name,
            "owner": self.owner,
            "expires": now_s + self.ttl_s,
            "now": now_s,
        }
        try:
            with self.db.write() as conn:
                taken = conn.execute(_TAKE, params).first() is not None
        except (DatabaseUnavailable, sa.exc.SQLAlchemyError) as err:
            if self._held:
                log.warning("lease %s lost: database unavailable (%s)", self.name, err)
            self._held = False
            return False
        if taken and not self._held:
            log.info("this worker (%s) now holds the lease %s", self.owner, self.name)
        elif self._held and not taken:
            log.warning("lease %s lost to another worker", self.name)
        self._held = taken
        return taken

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        try:
            with self.db.write() as conn:
                conn.execute(_GIVE_UP, {"name": self.name, "owner": self.owner})
        except (DatabaseUnavailable, sa.exc.SQLAlchemyError) as err:
            log.warning("could not release the lease %s: %s", self.name, err)


def control_loop(
    sync: Callable[[], None], stopped: threading.Event, period_s: float, what: str
) -> None:
    """Call ``sync`` (renew a lease, follow what it covers) every ``period_s`` until ``stopped``;
    an error is logged and the next period tries again."""
    while not stopped.is_set():
        try:
            sync()
        except Exception:
            log.exception("%s control failed; retrying", what)
        stopped.wait(period_s)


class LeasedFollowers:
    """A leader-only job that follows households' windows: one mechanism for the alert
    evaluator, the widget's push sender and later schedules and reports.

    A control thread calls :meth:`sync` every ``sync_s``: it takes or renews ``lease``; while
    held, every household in ``wanted()`` has a listener (``listener_for(household)``) following
    its windows at ``interval_s`` through ``hub.follow``, and households no longer wanted are let
    go; when the lease is lost, every following stops. ``on_sync(leader, households)`` runs after
    each sync for the job's other periodic work (digests, retention). :meth:`stop` ends it all
    and releases the lease, so another worker or host takes over at once.
    """

    def __init__(
        self,
        name: str,
        lease: Lease,
        hub: Any,
        interval_s: int,
        *,
        listener_for: Callable[[str], Any],
        wanted: Callable[[], set[str]],
        sync_s: float = 5.0,
        on_sync: Callable[[bool, set[str]], None] | None = None,
        follow_options: dict[str, Any] | None = None,
        interval_of: Callable[[str], int] | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"the {name} interval must be positive, got {interval_s!r}")
        self.name = name
        self.lease = lease
        self.hub = hub
        self.interval_s = interval_s
        self.listener_for = listener_for
        self.wanted = wanted
        self.sync_s = sync_s
        self.on_sync = on_sync
        self.follow_options = dict(follow_options or {})
        self.interval_of = interval_of
        self.followings: dict[str, Any] = {}
        self.leader = False
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self.control = threading.Thread(target=self._control, name=f"{name}-control", daemon=True)

    def listener(self, household: str) -> Any:
        """The listener following ``household`` (``None`` when not followed)."""
        following = self.followings.get(household)
        return None if following is None else following.listener

    def start(self) -> None:
        self.control.start()

    def forget(self, household: str | None) -> None:
        """A household was removed: stop following it now, not at the next sync (``None``:
        stop every following; the next sync follows again what is still wanted)."""
        with self._lock:
            gone = [h for h in self.followings if household is None or h == household]
            followings = [self.followings.pop(h) for h in gone]
        for following in followings:
            following.stop()

    def _control(self) -> None:
        control_loop(self.sync, self.stopped, self.sync_s, self.name)

    def sync(self) -> None:
        self.leader = self.lease.hold()
        wanted: set[str] = set()
        if self.leader and not self.stopped.is_set():
            wanted = set(self.wanted())
        with self._lock:
            intervals = {h: self._interval(h) for h in wanted}
            for household in list(self.followings):
                moved = (
                    self.interval_of is not None
                    and household in wanted
                    and (self.followings[household].interval_s != intervals[household])
                )
                if household not in wanted or moved:
                    self.followings.pop(household).stop()
            for household in sorted(wanted - set(self.followings)):
                listener = self.listener_for(household)
                self.followings[household] = self.hub.follow(
                    household, intervals[household], listener, **self.follow_options
                )
        if self.on_sync is not None:
            self.on_sync(self.leader, wanted)

    def _interval(self, household: str) -> int:
        return self.interval_s if self.interval_of is None else int(self.interval_of(household))

    def stop(self) -> None:
        self.stopped.set()
        with self._lock:
            followings = list(self.followings.values())
            self.followings.clear()
        for following in followings:
            following.stop()
        if self.control.is_alive() and self.control is not threading.current_thread():
            self.control.join(timeout=5)
        for following in followings:
            following.join()
        self.lease.release()


def lease_for(cfg: Any, key: str, ttl_s: float, db: Database | None = None) -> Lease:
    """The lease of a leader-only job named ``key``: a :class:`RedisLease` when ``REDIS_URL`` is
    set, else a :class:`DatabaseLease` in ``db`` (the app's database: every worker and host
    sharing it elects one leader), else (no database at hand) a :class:`LocalLease`."""
    if cfg["REDIS_URL"]:
        return RedisLease(cfg["REDIS_URL"], ttl_s=float(ttl_s), key=key)
    if db is not None:
        return DatabaseLease(db, key, float(ttl_s))
    return LocalLease()


class Periodic:
    """A background job that calls ``tick`` every ``every_s`` in a daemon thread until stopped
    (an error is logged and the next period tries again: :func:`control_loop`)."""

    def __init__(self, name: str, tick: Callable[[], object], every_s: float) -> None:
        self.name = name
        self.stopped = threading.Event()
        self.thread = threading.Thread(
            target=control_loop,
            args=(tick, self.stopped, float(every_s), name),
            name=name,
            daemon=True,
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)
