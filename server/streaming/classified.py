"""A closed window classified against its household's statistics: the one value that every
consumer of a household's windows receives (SSE encoders, the alert rules, widget pushes).

``level`` is ``None`` while the household has no statistics yet (a live household still
learning its usual use): its values are known, its lights are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from generator.times import format_ts
from server.stats import HouseholdStats, classify_known, worst
from server.streaming.aggregate import Window

__all__ = ["ClassifiedWindow", "classify_window"]


@dataclass(frozen=True, slots=True)
class ClassifiedWindow:
    """One household's window ``[start_s, start_s + interval_s)``: mean power per channel [kW]
    (``None`` where nothing valid arrived), its levels, the worst of them and its event id."""

    household: str
    interval_s: int
    start_s: int
    power_kw: Mapping[str, float | None]
    level: Mapping[str, str] | None
    worst: str | None
    event_id: str
    index: int | None = None
    #: no reading arrived in the window (a silent meter): every value is ``None``
    empty: bool = False

    @property
    def ts(self) -> str:
        """The window's start, ``YYYY-MM-DDTHH:MM:SSZ``."""
        return format_ts(self.start_s)

    @property
    def learning(self) -> bool:
        """No statistics yet: values without levels."""
        return self.level is None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def classify_window(
    household: str,
    window: Window,
    stats: HouseholdStats | None,
    channels: tuple[str, ...] | None = None,
) -> ClassifiedWindow:
    """Classify ``window`` (values rounded to the microwatt, as streamed) with ``stats``
    (``None``: learning, no levels). ``channels`` orders and restricts the values."""
    names = tuple(window.power_kw) if channels is None else channels
    values = {c: _round(window.power_kw.get(c)) for c in names}
    level: dict[str, str] | None = None
    top: str | None = None
    if stats is not None:
        level = classify_known(stats, values, format_ts(window.start_s) if stats.by_hour else None)
        top = worst(level)
    return ClassifiedWindow(
        household=household,
        interval_s=window.interval_s,
        start_s=window.start_s,
        power_kw=values,
        level=level,
        worst=top,
        event_id=str(window.key),
        index=window.index,
        empty=window.key.empty_start_s >= 0,
    )
