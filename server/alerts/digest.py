"""The morning digest, pure: which quiet periods ended, and the one notice that sums one up.

Alerts inside a household's quiet hours are logged ``quiet`` and not delivered
(:mod:`server.alerts.rules`). When a quiet period ends, the evaluator sends one ``digest`` notice
listing them (:meth:`server.alerts.engine.AlertEngine.send_digests`), so an owner who slept
through a geyser stuck on all night hears of it in the morning. Nothing is sent for a night
without quiet alerts; ``critical`` alerts were delivered at once and are never quiet, so never
repeated.

A period ends where the household's local clock (``RuleSettings.timezone``, via :mod:`zoneinfo`)
reaches ``quiet_end_min``: :func:`ended_periods` finds those instants between two clocks,
midnight wraps and DST days included. Its edges follow :func:`server.alerts.rules.in_quiet_hours`
exactly: an end inside a spring-forward gap is the transition (the first instant not quiet); an
end repeated by a fall-back is the later one (quiet resumes between the two, so the night has
one digest, sent when it is really over). A period's start is the local start time's first
occurrence, the day before when the hours wrap midnight.

No Flask, no SQL, no I/O: the engine claims each period once in the database
(:meth:`server.alerts.store.AlertLog.claim_digest`) and hands :func:`digest_of` the period's
quiet rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.alerts.rules import Alert, RuleSettings, in_quiet_hours
from server.stats import worst

__all__ = ["DIGEST_MAX_AGE_S", "DIGEST_MAX_LISTED", "QuietPeriod", "digest_of", "ended_periods"]

#: A period that ended longer ago than this is not digested any more (an evaluator down all
#: day does not send yesterday's night when it comes back). [s]
DIGEST_MAX_AGE_S = 86_400
#: At most this many alerts are listed in a digest's values (``omitted`` counts the rest).
DIGEST_MAX_LISTED = 20


@dataclass(frozen=True)
class QuietPeriod:
    """One quiet period of a household: ``[start_s, end_s)``. [epoch s]"""

    start_s: int
    end_s: int


def _instant(zone: ZoneInfo, day: date, minute: int) -> int:
    """The first instant the local clock of ``zone`` shows ``day`` at ``minute`` or later. [epoch s]

    An existing (or repeated) local time is its first occurrence; one skipped by a
    spring-forward gap is the end of the gap.
    """
    naive = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
    early = int(naive.replace(tzinfo=zone, fold=1).timestamp())  # the offset after a change
    late = int(naive.replace(tzinfo=zone, fold=0).timestamp())  # the offset before it
    if early == late:
        return late
    if early > late:  # repeated (fall back): fold=0 is the first occurrence
        return late
    # skipped (spring forward): the first minute from `early` on whose local time is past it
    t = early
    while t < late and datetime.fromtimestamp(t, zone).replace(tzinfo=None) < naive:
        t += 60
    return t


def _last_end(zone: ZoneInfo, day: date, minute: int) -> list[int]:
    """The instants the local clock of ``zone`` reaches ``day`` at ``minute``, latest first."""
    naive = datetime(day.year, day.month, day.day, minute // 60, minute % 60)
    first = _instant(zone, day, minute)
    second = int(naive.replace(tzinfo=zone, fold=1).timestamp())
    return [second, first] if second > first else [first]


def ended_periods(settings: RuleSettings, after_s: float, until_s: float) -> list[QuietPeriod]:
    """The quiet periods of ``settings`` that ended in ``(after_s, until_s]``, oldest first.

    None when the household has no quiet hours. A local day whose quiet hours never happen (both
    ends inside one spring-forward gap) has no period.
    """
    start, end = settings.quiet_start_min, settings.quiet_end_min
    if start is None or end is None or start == end or until_s <= after_s:
        return []
    zone = ZoneInfo(settings.timezone)
    first_day = datetime.fromtimestamp(after_s, zone).date()
    last_day = datetime.fromtimestamp(until_s, zone).date()
    out: list[QuietPeriod] = []
    day = first_day
    while day <= last_day:
        for end_s in _last_end(zone, day, end):
            # an end is where quiet stops: quiet the minute before, not at the instant itself
            if in_quiet_hours(settings, end_s - 60) and not in_quiet_hours(settings, end_s):
                if after_s < end_s <= until_s:
                    start_day = day - timedelta(days=1) if start > end else day
                    out.append(QuietPeriod(_instant(zone, start_day, start), end_s))
                break
        day += timedelta(days=1)
    return out


def _hhmm(ts_s: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts_s, zone).strftime("%H:%M")


def digest_of(
    household: str,
    settings: RuleSettings,
    period: QuietPeriod,
    rows: Sequence[Mapping[str, Any]],
) -> Alert | None:
    """The digest of a quiet period's quiet alerts (``rows``: ``id``, ``rule``, ``kind``,
    ``level``, ``ts_s``, ``message``, oldest first); None when there were none.

    Its ``ts_s`` is the period's end; its level the worst of theirs; its values count them by
    rule, give the first and last times and list up to :data:`DIGEST_MAX_LISTED` of them.
    """
    if not rows:
        return None
    zone = ZoneInfo(settings.timezone)
    by_rule = Counter(str(r["rule"]) for r in rows)
    level = worst(str(r["level"]) for r in rows)
    first_s, last_s = int(rows[0]["ts_s"]), int(rows[-1]["ts_s"])
    listed = [
        {
            "id": int(r["id"]),
            "rule": r["rule"],
            "kind": r["kind"],
            "level": r["level"],
            "ts_s": int(r["ts_s"]),
            "message": r["message"],
        }
        for r in rows[:DIGEST_MAX_LISTED]
    ]
    values = {
        "period_start_s": period.start_s,
        "period_end_s": period.end_s,
        "count": len(rows),
        "rules": dict(sorted(by_rule.items())),
        "worst_level": level,
        "first_s": first_s,
        "last_s": last_s,
        "alerts": listed,
        "omitted": len(rows) - len(listed),
    }
    noun = "alert was" if len(rows) == 1 else "alerts were"
    kinds = ", ".join(f"{n} {rule}" for rule, n in sorted(by_rule.items()))
    message = (
        f"During quiet hours ({_hhmm(period.start_s, zone)}-{_hhmm(period.end_s, zone)}) "
        f"{len(rows)} {noun} held: {kinds}; worst {level}; first at {_hhmm(first_s, zone)}, "
        f"last at {_hhmm(last_s, zone)}."
    )
    return Alert(
        household=household,
        rule="digest",
        kind="digest",
        level=level,
        ts_s=period.end_s,
        message=message,
        values=values,
    )
