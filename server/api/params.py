"""Validation of query arguments and JSON fields; errors name the bad value."""

from __future__ import annotations

import math
import re
from typing import Any

from flask import request

from generator.times import format_ts, parse_ts
from server.errors import InvalidJSON, InvalidParameter
from server.streaming.aggregate import EventKey

__all__ = [
    "json_body",
    "last_event_id",
    "parse_interval",
    "parse_limit",
    "parse_speed",
    "parse_start_index",
    "parse_until",
]


_WHOLE = re.compile(r"[+-]?[0-9]+")


def _whole(name: str, raw: Any) -> int:
    if isinstance(raw, bool):
        raise InvalidParameter(f"{name} must be an integer, got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        if _WHOLE.fullmatch(text):  # ASCII digits once signed: "+-5" and "²" are not numbers
            return int(text)
    raise InvalidParameter(f"{name} must be an integer, got {raw!r}")


def parse_interval(raw: Any, max_interval_s: int) -> int:
    """Averaging interval [s]: a whole number in ``1..max_interval_s``."""
    if raw is None:
        raise InvalidParameter("interval is required (a whole number of seconds, e.g. 5)")
    try:
        value = _whole("interval", raw)
    except InvalidParameter:
        raise InvalidParameter(f"interval must be a whole number of seconds, got {raw!r}") from None
    if value <= 0:
        raise InvalidParameter(f"interval must be positive, got {value}")
    if value > max_interval_s:
        raise InvalidParameter(f"interval must be at most {max_interval_s} s, got {value}")
    return value


def parse_start_index(raw: Any, span_s: int) -> int | None:
    """Dataset second to replay from: ``0 <= start_index < span_s``; ``None`` if absent."""
    if raw is None or raw == "":
        return None
    value = _whole("start_index", raw)
    if not 0 <= value < span_s:
        raise InvalidParameter(
            f"start_index {value} is outside the data: expected 0 to {span_s - 1}"
        )
    return value


def parse_speed(raw: Any, max_speed: float) -> float:
    """Replay speed (dataset seconds per real second): ``0 < speed <= max_speed``."""
    if raw is None or raw == "":
        return 1.0
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise InvalidParameter(f"speed must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise InvalidParameter(f"speed must be positive, got {raw!r}")
    if value > max_speed:
        raise InvalidParameter(f"speed must be at most {max_speed:g}, got {raw!r}")
    return value


def parse_limit(raw: Any, max_limit: int) -> int | None:
    """Reading events after which a bounded stream ends: ``1..max_limit``; ``None`` if absent."""
    if raw is None or raw == "":
        return None
    try:
        value = _whole("limit", raw)
    except InvalidParameter:
        raise InvalidParameter(f"limit must be a positive integer, got {raw!r}") from None
    if value <= 0:
        raise InvalidParameter(f"limit must be a positive integer, got {raw!r}")
    if value > max_limit:
        raise InvalidParameter(f"limit must be at most {max_limit}, got {value}")
    return value


def parse_until(raw: Any, now_s: float, max_ahead_s: int) -> int | None:
    """Wall-clock time [epoch s] at which a bounded stream ends: ISO 8601 with a zone or epoch
    seconds, after ``now_s`` and at most ``max_ahead_s`` later; ``None`` if absent."""
    if raw is None or raw == "":
        return None
    text = str(raw).strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    try:
        value_s = parse_ts(text if number is None else number)
    except ValueError as err:
        if "time zone" in str(err):
            raise InvalidParameter(f"until {raw!r} has no time zone (add Z or +hh:mm)") from None
        raise InvalidParameter(
            f"until must be ISO 8601 with a zone (2026-11-22T06:25:50Z) or epoch seconds, "
            f"got {raw!r}"
        ) from None
    except OverflowError:
        value_s = None
    if value_s is None or value_s > now_s + max_ahead_s:
        raise InvalidParameter(
            f"until {raw!r} is too far ahead: at most {max_ahead_s} s from now "
            f"({format_ts(now_s + max_ahead_s)})"
        )
    if value_s <= now_s:
        raise InvalidParameter(f"until {raw!r} is not in the future (now {format_ts(now_s)})")
    return value_s


def last_event_id() -> str | None:
    """The ``Last-Event-ID`` header, or ``?last_event_id=`` (the header wins)."""
    value = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    return value.strip() if value and value.strip() else None


def parse_live_id(raw: str) -> EventKey:
    try:
        return EventKey.parse(raw)
    except ValueError as err:
        raise InvalidParameter(f"Last-Event-ID: {err}") from None


def parse_replay_id(raw: str, start_index: int, interval_s: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(
            f"Last-Event-ID {raw!r} is not an event id of this replay (expected a dataset second)"
        ) from None
    if value < start_index or (value - start_index) % interval_s:
        raise InvalidParameter(
            f"Last-Event-ID {raw!r} is not an event of this replay (start_index {start_index}, "
            f"interval {interval_s} s)"
        )
    return value


def json_body() -> dict[str, Any]:
    """The request body as a JSON object, else :class:`InvalidJSON`."""
    body = request.get_json(silent=True, force=True)
    if body is None:
        raw = request.get_data(as_text=True)
        shown = raw if len(raw) <= 60 else raw[:57] + "..."
        raise InvalidJSON(f"request body is not JSON: {shown!r}")
    if not isinstance(body, dict):
        raise InvalidJSON(f"request body must be a JSON object, got {type(body).__name__}")
    return body
