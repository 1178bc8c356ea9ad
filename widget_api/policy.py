"""When a household's worst level is worth a push: at once up to red or critical, after a hold
back down to green or yellow.

:class:`PushPolicy` is fed the worst level of each closed window, in order, and answers whether
to push now. It is pure (no clock, no I/O): the watcher feeds it windows and tests feed it
levels directly.

* The first level seen is the baseline; nothing is pushed for it (a device fetches the state
  itself when it registers, and after a restart the server does not know what it last pushed).
* A change to ``red`` or ``critical`` is pushed at once, as :data:`URGENT` (high priority and a
  visible notification).
* A change to ``green`` or ``yellow`` is pushed as :data:`NORMAL` once the same level has held for
  ``hold_windows`` consecutive windows, so a light flickering around a threshold does not wake
  the device every minute. Going back to the pushed level cancels it.
"""

from __future__ import annotations

from server.stats import LEVELS

__all__ = ["NORMAL", "URGENT", "URGENT_LEVELS", "PushPolicy"]

NORMAL = "normal"
URGENT = "urgent"
URGENT_LEVELS = ("red", "critical")


class PushPolicy:
    def __init__(self, hold_windows: int = 3) -> None:
        if isinstance(hold_windows, bool) or not isinstance(hold_windows, int) or hold_windows < 1:
            raise ValueError(f"hold_windows must be a whole number >= 1, got {hold_windows!r}")
        self.hold_windows = hold_windows
        self.pushed: str | None = None  # the level the devices were last told (or the baseline)
        self._candidate: str | None = None
        self._held = 0

    def observe(self, level: str) -> str | None:
        """The worst level of the next window → :data:`URGENT`, :data:`NORMAL` or ``None``."""
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}: expected one of {', '.join(LEVELS)}")
        if self.pushed is None:
            self.pushed = level
            return None
        if level == self.pushed:
            self._candidate, self._held = None, 0
            return None
        if level in URGENT_LEVELS:
            self._push(level)
            return URGENT
        if level == self._candidate:
            self._held += 1
        else:
            self._candidate, self._held = level, 1
        if self._held >= self.hold_windows:
            self._push(level)
            return NORMAL
        return None

    def _push(self, level: str) -> None:
        self.pushed = level
        self._candidate, self._held = None, 0
