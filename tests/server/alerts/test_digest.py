"""The digest's pure core: quiet periods that ended between two instants (midnight wraps, DST
days, no quiet hours) and the one notice summing a period's quiet alerts up."""

from __future__ import annotations

import calendar

import pytest

from server.alerts.digest import DIGEST_MAX_LISTED, QuietPeriod, digest_of, ended_periods
from server.alerts.rules import RuleSettings, in_quiet_hours


def utc(*parts: int) -> int:
    return calendar.timegm((*parts, 0)[:6])


def quiet(tz: str, start: str | None, end: str | None) -> RuleSettings:
    def minutes(hhmm: str | None) -> int | None:
        return None if hhmm is None else int(hhmm[:2]) * 60 + int(hhmm[3:])

    return RuleSettings(timezone=tz, quiet_start_min=minutes(start), quiet_end_min=minutes(end))


KOLKATA = quiet("Asia/Kolkata", "22:00", "07:00")  # UTC+05:30, no DST


def test_a_period_wrapping_midnight_ends_at_the_local_end_and_starts_the_evening_before():
    after, until = utc(2026, 11, 21, 12, 0), utc(2026, 11, 23, 12, 0)
    assert ended_periods(KOLKATA, after, until) == [
        # 22:00 IST on the 21st is 16:30 UTC; 07:00 IST on the 22nd is 01:30 UTC
        QuietPeriod(utc(2026, 11, 21, 16, 30), utc(2026, 11, 22, 1, 30)),
        QuietPeriod(utc(2026, 11, 22, 16, 30), utc(2026, 11, 23, 1, 30)),
    ]


def test_the_bounds_are_after_exclusive_until_inclusive():
    end = utc(2026, 11, 22, 1, 30)
    assert [p.end_s for p in ended_periods(KOLKATA, end - 1, end)] == [end]
    assert ended_periods(KOLKATA, end - 3600, end - 1) == []
    assert ended_periods(KOLKATA, end, end + 3600) == []
    assert ended_periods(KOLKATA, end, end) == []


def test_a_period_within_one_day():
    afternoon = quiet("Asia/Kolkata", "13:00", "15:30")
    (period,) = ended_periods(afternoon, utc(2026, 11, 22, 0, 0), utc(2026, 11, 22, 23, 0))
    assert period == QuietPeriod(utc(2026, 11, 22, 7, 30), utc(2026, 11, 22, 10, 0))


def test_no_quiet_hours_no_periods():
    for settings in (quiet("UTC", None, None), RuleSettings(quiet_start_min=60)):
        assert ended_periods(settings, utc(2026, 11, 20, 0, 0), utc(2026, 11, 25, 0, 0)) == []


def test_dst_days_in_paris_the_night_is_shorter_or_longer():
    paris = quiet("Europe/Paris", "22:00", "07:00")
    # spring forward on 2026-03-29 (02:00 CET -> 03:00 CEST): 22:00 CET .. 07:00 CEST, 8 hours
    (spring,) = ended_periods(paris, utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 12, 0))
    assert spring == QuietPeriod(utc(2026, 3, 28, 21, 0), utc(2026, 3, 29, 5, 0))
    # fall back on 2026-10-25 (03:00 CEST -> 02:00 CET): 22:00 CEST .. 07:00 CET, 10 hours
    (fall,) = ended_periods(paris, utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 12, 0))
    assert fall == QuietPeriod(utc(2026, 10, 24, 20, 0), utc(2026, 10, 25, 6, 0))


@pytest.mark.parametrize(
    ("day", "end_s"),
    [
        # 02:30 does not exist on 2026-03-29: quiet ends with the gap, at 03:00 CEST (01:00 UTC)
        ((2026, 3, 29), utc(2026, 3, 29, 1, 0)),
        # 02:30 happens twice on 2026-10-25; quiet resumes between them: the night ends at the
        # second, 02:30 CET (01:30 UTC), not the first (00:30 UTC)
        ((2026, 10, 25), utc(2026, 10, 25, 1, 30)),
    ],
)
def test_an_end_in_a_dst_change_is_where_quiet_hours_really_stop(day, end_s):  # noqa: ANN001
    paris = quiet("Europe/Paris", "22:00", "02:30")
    (period,) = ended_periods(paris, utc(*day, 0, 0) - 3600, utc(*day, 12, 0))
    assert period.end_s == end_s
    assert in_quiet_hours(paris, end_s - 60)
    assert not in_quiet_hours(paris, end_s)
    assert not in_quiet_hours(paris, end_s + 3600)


ROWS = [
    {"id": 7, "rule": "spike", "kind": "alert", "level": "red", "ts_s": utc(2026, 11, 21, 18, 0)}
    | {"message": "Unusual energy spike"},
    {"id": 9, "rule": "offline", "kind": "alert", "level": "red", "ts_s": utc(2026, 11, 21, 20, 5)}
    | {"message": "Your meter has not reported for 15 minutes."},
    {"id": 12, "rule": "spike", "kind": "recovery", "level": "green"}
    | {"ts_s": utc(2026, 11, 21, 23, 44), "message": "Energy use is back to usual."},
]
PERIOD = QuietPeriod(utc(2026, 11, 21, 16, 30), utc(2026, 11, 22, 1, 30))


def test_a_digest_counts_rules_and_lists_the_alerts_compactly():
    digest = digest_of("A", KOLKATA, PERIOD, ROWS)
    assert digest is not None
    assert (digest.rule, digest.kind, digest.level, digest.quiet) == (
        "digest",
        "digest",
        "red",
        False,
    )
    assert digest.ts_s == PERIOD.end_s
    values = digest.values
    assert values["count"] == 3
    assert values["rules"] == {"offline": 1, "spike": 2}
    assert values["worst_level"] == "red"
    assert (values["first_s"], values["last_s"]) == (ROWS[0]["ts_s"], ROWS[-1]["ts_s"])
    assert [a["id"] for a in values["alerts"]] == [7, 9, 12]
    assert values["alerts"][1]["message"] == ROWS[1]["message"]
    assert values["omitted"] == 0
    # local times: 23:30, 01:35 and 05:14 IST
    assert digest.message == (
        "During quiet hours (22:00-07:00) 3 alerts were held: 1 offline, 2 spike; worst red; "
        "first at 23:30, last at 05:14."
    )


def test_a_digest_of_nothing_is_none_and_long_nights_are_capped():
    assert digest_of("A", KOLKATA, PERIOD, []) is None
    many = [dict(ROWS[0], id=i, ts_s=ROWS[0]["ts_s"] + i) for i in range(DIGEST_MAX_LISTED + 3)]
    digest = digest_of("A", KOLKATA, PERIOD, many)
    assert digest is not None
    assert digest.values["count"] == DIGEST_MAX_LISTED + 3
    assert len(digest.values["alerts"]) == DIGEST_MAX_LISTED
    assert digest.values["omitted"] == 3
