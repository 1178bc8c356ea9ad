"""A household removed (erased) everywhere: every process's caches forget it at once.

Workers, hosts and the ingest process each keep per-process caches keyed by household (ingest's
channel lookups, a live household's history, quick statistics, the hub's channels and readers,
insights' data and models, the leader jobs' followings, …). Rows erased from the shared database
do not reach them; a :class:`Removals` does::

    erasure on any worker ──► Removals.announce(h) ──► this process's forgetters, at once
                                   │
                                   └─ XADD gridlight:households:removed {household, origin}
                                           │   (a Redis stream: entries stay, so a listener
                                           ▼    that lost its connection resumes after its cursor)
              every other process's Removals job (XREAD BLOCK) ──► its forgetters

Each cache registers a forgetter with :meth:`Removals.on_removed` (``forget(household)``: drop
whatever is held about it; idempotent). Without ``REDIS_URL`` the deployment is one process (the
in-process broker cannot be shared) and :meth:`announce` only forgets locally.

A Redis stream rather than pub/sub: a message published while a subscriber is reconnecting is
lost to it, and that worker would keep an erased household's data until restart; a stream's
reader continues from the last entry it saw. Entries are trimmed to the newest
:data:`KEEP_ENTRIES`; a process back from an outage whose last entry is gone (trimmed after that
many erasures, or Redis restarted without its data) cannot tell what it missed and forgets every
household it holds (its forgetters are given ``None``).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable

__all__ = ["KEEP_ENTRIES", "STREAM_KEY", "Removals"]

log = logging.getLogger(__name__)

STREAM_KEY = "gridlight:households:removed"
#: Removal entries kept in the stream (approximately; trimmed on each announcement).
KEEP_ENTRIES = 10_000
#: Tries to announce a removal to Redis before giving up (0.2 s, 0.4 s apart).
ATTEMPTS = 3
#: ``forget(household)``; ``forget(None)``: removals may have been missed, forget every household
Forget = Callable[[str | None], None]


class Removals:
    """Household-removed events for one process (see the module doc). A services job: started
    and stopped with the worker (or the ingest process)."""

    def __init__(
        self,
        url: str | None,
        *,
        block_s: float = 1.0,
        max_backoff_s: float = 2.0,
    ) -> None:
        self.url = url or None
        self.block_s = float(block_s)
        self.max_backoff_s = float(max_backoff_s)
        #: this process's id in the entries it writes (its own are already applied)
        self.origin = f"{os.getpid()}-{secrets.token_hex(6)}"
        self._forgetters: list[tuple[str, Forget]] = []
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = None
        #: entries read from other processes (for tests and /healthz-style checks)
        self.received = 0
        if self.url:
            import redis

            self._client = redis.Redis.from_url(
                self.url,
                decode_responses=True,
                socket_connect_timeout=2.0,
                socket_timeout=self.block_s + 5.0,
            )

    # -- registration and delivery ---------------------------------------------------------------
    def on_removed(self, name: str, forget: Forget) -> None:
        """Call ``forget(household)`` whenever a household is removed (``name`` for the logs);
        ``forget(None)``: forget every household (removals may have been missed)."""
        with self._lock:
            self._forgetters.append((name, forget))

    def forget(self, household: str | None) -> None:
        """Run every forgetter for ``household`` (``None``: all) in this process; a failing
        one is logged and the others still run."""
        with self._lock:
            forgetters = list(self._forgetters)
        for name, forget in forgetters:
            try:
                forget(household)
            except Exception:  # noqa: BLE001 - one cache failing must not keep the others
                log.exception("%s could not forget household %s", name, household)

    def announce(self, household: str) -> bool:
        """``household`` was removed: forget it here now, and in every other process (through
        Redis, when set; tried :data:`ATTEMPTS` times). Whether the others were told: the rows
        are gone already, so a failure is logged, not raised (the others' caches then keep the
        household until their time-outs or restart)."""
        if not household:
            raise ValueError(f"a household id is required, got {household!r}")
        self.forget(household)
        if self._client is None:
            return True
        import redis.exceptions

        for attempt in range(ATTEMPTS):
            try:
                self._client.xadd(
                    STREAM_KEY,
                    {"household": household, "origin": self.origin},
                    maxlen=KEEP_ENTRIES,
                    approximate=True,
                )
                return True
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
                if attempt + 1 == ATTEMPTS:
                    log.error(
                        "the removal of household %s could not be announced to the other "
                        "workers and hosts: %s",
                        household,
                        err,
                    )
                    return False
                self._stopped.wait(0.2 * 2**attempt)
        return False

    # -- the listener (with Redis) -----------------------------------------------------------------
    def start(self) -> None:
        if self._client is None or self._thread is not None:
            return
        cursor = self._cursor_now()
        self._thread = threading.Thread(
            target=self._run, args=(cursor,), name="household-removals", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=self.block_s + 6.0)
        if self._client is not None:
            self._client.close()

    def _cursor_now(self) -> str | None:
        """The newest entry's id (what exists before this process started concerns caches it
        does not have yet), ``0-0`` when the stream is empty, ``None`` when Redis is away."""
        import redis.exceptions

        try:
            newest = self._client.xrevrange(STREAM_KEY, count=1)  # type: ignore[union-attr]
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            return None
        return newest[0][0] if newest else "0-0"

    def _run(self, cursor: str | None) -> None:
        import redis.exceptions

        client = self._client
        assert client is not None
        backoff_s = 0.1
        lost = False
        while not self._stopped.is_set():
            try:
                if cursor is None:  # Redis was away when this process started
                    cursor = self._cursor_now()
                    if cursor is None:
                        raise redis.exceptions.ConnectionError("no answer to XREVRANGE")
                    # removals announced meanwhile (by hosts that reached Redis) were not
                    # read: what was cached since the start is let go
                    log.warning("household removals: Redis reachable again; forgetting all")
                    self.forget(None)
                    lost = False
                if lost:  # back after an outage: were entries after the cursor trimmed?
                    if self._trimmed_after(cursor):
                        log.warning("household removals may have been missed: forgetting all")
                        self.forget(None)
                    lost = False
                found = client.xread(
                    {STREAM_KEY: cursor}, count=100, block=int(self.block_s * 1000)
                )
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as err:
                if not lost:
                    log.warning("household removals: Redis unavailable (%s); retrying", err)
                lost = True
                self._stopped.wait(backoff_s)
                backoff_s = min(backoff_s * 2, self.max_backoff_s)
                continue
            except Exception:  # noqa: BLE001 - a bug must not end the listening for good
                log.exception("household removals: reading failed; retrying")
                self._stopped.wait(backoff_s)
                backoff_s = min(backoff_s * 2, self.max_backoff_s)
                continue
            backoff_s = 0.1
            for _key, entries in found or ():
                for entry_id, fields in entries:
                    cursor = entry_id
                    household = fields.get("household")
                    if not household or fields.get("origin") == self.origin:
                        continue
                    self.received += 1
                    log.info("household %s was removed elsewhere: forgetting it", household)
                    self.forget(household)

    def _trimmed_after(self, cursor: str) -> bool:
        """Whether removals newer than ``cursor`` may have been lost: trimming takes the oldest
        entries first, so while the cursor's own entry is still there nothing after it went;
        once it is gone (trimmed, or Redis restarted without its data) it cannot be told."""
        import redis.exceptions

        client = self._client
        assert client is not None
        try:
            info = client.xinfo_stream(STREAM_KEY)
        except redis.exceptions.ResponseError:  # no stream (any more)
            return cursor != "0-0"
        if cursor == "0-0":  # it was empty when this process started
            added = info.get("entries-added")  # Redis 7
            return added is not None and int(added) > int(info["length"])
        return not client.xrange(STREAM_KEY, cursor, cursor, count=1)
