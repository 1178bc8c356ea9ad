"""Quick statistics and traffic-light classification (pure: no Flask, no Redis, no MQTT).

* :func:`compute_stats` — per-channel percentiles and the right-tail critical value at 1% from a
  household's clean history averaged at an interval → :class:`HouseholdStats` (``.to_json()``).
* :func:`classify` — vectorised levels ``green|yellow|red|critical``; :data:`LEGACY_COLOURS`
  maps them to the seed's colour names and :func:`worst` picks the worst of several.
* :class:`StatsCache` — persistent + in-memory cache keyed by dataset fingerprint, household,
  interval, mode and algorithm version; :func:`stats_report` builds the JSON the API serves.
"""

from server.stats.cache import COMMON_INTERVALS_S, StatsCache, StatsKey
from server.stats.classify import (
    LEGACY_COLOURS,
    LEVELS,
    classify,
    classify_array,
    classify_known,
    worst,
)
from server.stats.model import (
    ALGORITHM_VERSION,
    DAY_TYPES,
    PHYSICAL_MAX_KW,
    EmptyChannelError,
    HouseholdStats,
    compute_stats,
    time_slots,
)
from server.stats.report import build_report, household_stats, stats_report
from server.stats.tail import TAIL_CANDIDATES, TAIL_PROBABILITY, ChannelStats
from server.stats.windows import StatsInputError, window_means

__all__ = [
    "ALGORITHM_VERSION",
    "COMMON_INTERVALS_S",
    "DAY_TYPES",
    "LEGACY_COLOURS",
    "LEVELS",
    "PHYSICAL_MAX_KW",
    "TAIL_CANDIDATES",
    "TAIL_PROBABILITY",
    "ChannelStats",
    "EmptyChannelError",
    "HouseholdStats",
    "StatsCache",
    "StatsInputError",
    "StatsKey",
    "build_report",
    "classify",
    "classify_array",
    "classify_known",
    "compute_stats",
    "household_stats",
    "stats_report",
    "time_slots",
    "window_means",
    "worst",
]
