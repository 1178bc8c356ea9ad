"""Timestamps at Gridlight's boundaries: one parser and one formatter for every package.

Readings, events and API answers carry UTC times at second resolution, written
``2026-11-22T06:25:50Z``; readings may give epoch seconds instead. Internally a time is whole
epoch seconds (an ``int``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["format_ts", "parse_ts"]


def parse_ts(value: object) -> int:
    """``ts`` as given (ISO 8601 with a zone, or epoch seconds) → epoch seconds (floored).

    ``ValueError`` naming the value when it is neither, has no zone, or is not finite.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"timestamp {value!r} is not a finite number of epoch seconds")
        return math.floor(value)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(
                f"invalid timestamp {value!r}: expected ISO 8601 (e.g. '2026-11-22T06:25:50Z') "
                "or epoch seconds"
            ) from None
        if parsed.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no time zone; give UTC as 'Z'")
        return math.floor(parsed.timestamp())
    raise ValueError(f"invalid timestamp {value!r}: expected ISO 8601 or epoch seconds")


def format_ts(epoch_s: int | float) -> str:
    """Epoch seconds → ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    return datetime.fromtimestamp(int(epoch_s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
