"""One push sender per deployment: a lease that at most one worker holds at a time.

* :class:`LocalLease` — the embedded default (one worker, in-process broker): always held.
* :class:`RedisLease` — with ``REDIS_URL`` (several workers, maybe several hosts): the key
  ``gridlight:push:sender`` holds the owner's id, taken with ``SET key owner NX PX ttl`` and
  renewed (only by its owner, atomically in a Lua script) every few seconds. A worker that dies
  stops renewing and another takes over within ``ttl_s``. A renewal that fails (Redis down)
  means "not the sender": two senders for a moment would push twice, a gap only delays.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable

import redis
import redis.exceptions

__all__ = ["LEASE_KEY", "Lease", "LocalLease", "RedisLease", "control_loop"]

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
