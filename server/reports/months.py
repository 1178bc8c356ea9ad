"""Calendar months in a household's time zone: parsing, bounds and the months a schedule owes.

A report covers one calendar month of the household's own zone: from local midnight of the 1st
to local midnight of the next month's 1st (``0 0 1 * *`` there), as UTC instants.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd

from server.reports.store import MONTH_RE

#: Months of these years only (readings are epoch seconds; the month after must exist too).
FIRST_YEAR, LAST_YEAR = 1970, 9998

__all__ = [
    "add_months",
    "due_months",
    "month_bounds",
    "month_label",
    "month_of",
    "parse_month",
]


def parse_month(text: str) -> str:
    """``text`` if it is ``YYYY-MM`` (months 01-12), else :class:`ValueError` naming it."""
    if not isinstance(text, str) or not MONTH_RE.match(text):
        raise ValueError(f"month: expected YYYY-MM (e.g. 2026-04), got {text!r}")
    if not FIRST_YEAR <= int(text[:4]) <= LAST_YEAR:
        raise ValueError(f"month: expected a year from {FIRST_YEAR} to {LAST_YEAR}, got {text!r}")
    return text


def add_months(month: str, n: int) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    index = year * 12 + (mon - 1) + n
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_bounds(month: str, timezone: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[start, end)`` of ``month`` in ``timezone``, as UTC timestamps."""
    parse_month(month)
    zone = ZoneInfo(timezone)

    def first(m: str) -> pd.Timestamp:
        local = dt.datetime(int(m[:4]), int(m[5:7]), 1, tzinfo=zone)
        return pd.Timestamp(local).tz_convert("UTC")

    return first(month), first(add_months(month, 1))


def month_of(ts_s: float, timezone: str) -> str:
    """The calendar month (``YYYY-MM``) of instant ``ts_s`` [epoch s] in ``timezone``."""
    local = dt.datetime.fromtimestamp(ts_s, ZoneInfo(timezone))
    return f"{local.year:04d}-{local.month:02d}"


def month_label(month: str) -> str:
    """``February 2007``."""
    return dt.date(int(month[:4]), int(month[5:7]), 1).strftime("%B %Y")


def due_months(
    timezone: str,
    now_s: float,
    data_start_s: float | None,
    *,
    data_end_s: float | None = None,
    catch_up: int = 12,
) -> list[str]:
    """The months whose report is owed at ``now_s``, oldest first: every month that has ended
    in ``timezone`` (``0 0 1 * *`` there has passed), at most ``catch_up`` of them counted back
    from the last, none before the month of ``data_start_s`` (nor after that of ``data_end_s``,
    for a dataset whose readings end). No data: none."""
    if data_start_s is None:
        return []
    last = add_months(month_of(now_s, timezone), -1)
    first = max(add_months(last, -(catch_up - 1)), month_of(data_start_s, timezone))
    if data_end_s is not None:
        last = min(last, month_of(data_end_s, timezone))
    out = []
    month = first
    while month <= last:
        out.append(month)
        month = add_months(month, 1)
    return out


#: Seed 000's announcement of a new report (push and email).
SEED_MESSAGE = "Your monthly energy usage and carbon footprint reduction report is ready."
