"""The tests' one bounded wait: poll a condition until it holds or a deadline passes.

Tests wait for what another thread, process or server does (a stream subscribed, a message
retained, a worker's cache cleared) with a deadline and a short poll, never a fixed sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["wait_for"]

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T], what: str, timeout_s: float = 10.0, *, poll_s: float = 0.01
) -> T:
    """``predicate()``'s first truthy value, polled every ``poll_s``; an ``AssertionError``
    naming ``what`` once ``timeout_s`` has passed without one."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(poll_s)
