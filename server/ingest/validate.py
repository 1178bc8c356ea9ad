"""Validation of incoming readings (pure: no Flask, no MQTT, no database).

A reading arrives as ``{"ts": ..., "power_kw": {channel: value, ...}}`` (the household shape)
or ``{"ts": ..., "channel": "Overall", "power_kw": 1.2}`` (one channel). :func:`check_reading`
turns it into storage rows, one per channel value, and reasons for the values it refuses:

* ``ts``: ISO 8601 with a zone (``Z`` or an offset) or epoch seconds (floored to the second);
  refused if more than :data:`MAX_AHEAD_S` ahead of the server's clock (a meter with a wrong
  clock) or older than the raw retention (it would be deleted at once).
* the channel must be one the household was registered with.
* the value must be a number (``null``: the meter says the channel is unavailable, stored as
  missing, never zero). Strings, booleans, NaN and infinities are refused.
* **negative values are accepted**, as the meter said them: a negative reading is a meter fault
  that classification reports as ``critical`` (DESIGN.md), and the owner should see it there and
  in the stored history rather than have it vanish into the dead letters.

A bad channel value never takes the good values of the same reading with it. Duplicates (same
household, channel and second) are not errors: storage counts them and ingest is idempotent. Late
readings inside the retention are stored; the stream includes them while their averaging window
is still open (a window closed already counts them in ``gridlight_late_readings_total``).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from generator.times import parse_ts
from server.storage import Reading

__all__ = [
    "MAX_AHEAD_S",
    "Checked",
    "InvalidReading",
    "Rejection",
    "check_batch",
    "check_reading",
    "check_time",
    "check_value",
    "parse_timestamp",
]

#: Readings further ahead of the server's clock than this are refused. [s]
MAX_AHEAD_S = 300


class InvalidReading(ValueError):
    """One value or field that cannot be accepted; the message says which and why."""


@dataclass(frozen=True)
class Rejection:
    """Why a reading (or one channel of it) was refused; ``index`` is its place in the batch."""

    index: int
    reason: str
    channel: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index}
        if self.channel is not None:
            out["channel"] = self.channel
        out["reason"] = self.reason
        return out


@dataclass
class Checked:
    """Rows to store and rejections of a batch."""

    rows: list[Reading] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def _shown(raw: object) -> str:
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_timestamp(raw: object) -> int:
    """A reading's ``ts`` → epoch seconds (floored): ISO 8601 with a zone, or epoch seconds
    (:func:`generator.times.parse_ts`), else :class:`InvalidReading` naming the value."""
    if isinstance(raw, bool):
        raise InvalidReading(f"ts {raw!r} is not a timestamp: expected ISO 8601 or epoch seconds")
    try:
        return parse_ts(raw)
    except ValueError as err:
        if isinstance(raw, int | float):
            raise InvalidReading(f"ts {raw!r} is not a finite number of epoch seconds") from None
        if "time zone" in str(err):
            raise InvalidReading(f"ts {_shown(raw)} has no time zone: give UTC as 'Z'") from None
        raise InvalidReading(
            f"ts {_shown(raw)} is not a timestamp: expected ISO 8601 (e.g. "
            "'2026-11-22T06:25:50Z') or epoch seconds"
        ) from None


def check_value(channel: str, raw: object) -> float | None:
    """A channel's power [kW]: a finite number, or ``None`` (unavailable). Negatives pass."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise InvalidReading(f"power_kw of {channel} is {_shown(raw)}: expected a number in kW")
    value = float(raw)
    if not math.isfinite(value):
        raise InvalidReading(f"power_kw of {channel} is {raw!r}: expected a finite number in kW")
    return value


def check_time(ts_s: int, now_s: float, max_age_s: int) -> None:
    if ts_s > now_s + MAX_AHEAD_S:
        raise InvalidReading(
            f"ts {ts_s} is {ts_s - int(now_s)} s ahead of the server's clock "
            f"(at most {MAX_AHEAD_S} s allowed)"
        )
    if ts_s < now_s - max_age_s:
        raise InvalidReading(
            f"ts {ts_s} is {int(now_s) - ts_s} s old, older than the raw retention of {max_age_s} s"
        )


def _entries(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``{channel: value}`` map of either reading shape."""
    if "channel" in raw:
        channel = raw["channel"]
        if not isinstance(channel, str):
            raise InvalidReading(f"channel {_shown(channel)} is not a channel name")
        if "power_kw" not in raw:
            raise InvalidReading("a reading needs power_kw (a number in kW)")
        return {channel: raw["power_kw"]}
    power = raw.get("power_kw")
    if not isinstance(power, Mapping):
        raise InvalidReading(
            f"power_kw must be an object of channel values (or give 'channel'), got {_shown(power)}"
        )
    if not power:
        raise InvalidReading("power_kw names no channel")
    return power


def check_reading(
    household: str,
    channels: Collection[str],
    raw: object,
    index: int,
    now_s: float,
    max_age_s: int,
    out: Checked,
) -> None:
    """Validate one reading of ``household`` into ``out`` (rows and rejections)."""
    if not isinstance(raw, Mapping):
        out.rejected.append(Rejection(index, f"a reading must be a JSON object, got {_shown(raw)}"))
        return
    try:
        if "ts" not in raw:
            raise InvalidReading("a reading needs ts (ISO 8601 or epoch seconds)")
        ts_s = parse_timestamp(raw["ts"])
        check_time(ts_s, now_s, max_age_s)
        entries = _entries(raw)
    except InvalidReading as err:
        out.rejected.append(Rejection(index, str(err)))
        return
    for channel, value in entries.items():
        if channel not in channels:
            known = ", ".join(channels)
            out.rejected.append(
                Rejection(
                    index,
                    f"unknown channel {channel!r} of household {household!r} (known: {known})",
                    str(channel),
                )
            )
            continue
        try:
            out.rows.append(Reading(household, channel, ts_s, check_value(channel, value)))
        except InvalidReading as err:
            out.rejected.append(Rejection(index, str(err), channel))


def check_batch(
    household: str,
    channels: Collection[str],
    readings: list[object],
    now_s: float,
    max_age_s: int,
) -> Checked:
    """Validate a batch (the HTTP body's ``readings``)."""
    out = Checked()
    for i, raw in enumerate(readings):
        check_reading(household, channels, raw, i, now_s, max_age_s, out)
    return out
