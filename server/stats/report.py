"""The quick-stats JSON the API serves, shared by ``python -m server stats`` and the server.

:func:`household_stats` turns a dataset household into :class:`HouseholdStats` (through a
:class:`~server.stats.cache.StatsCache` when one is given); :func:`stats_report` renders the JSON
body: the seed's keys (``25p``, ``median``, ``75p``, ``rt_critical_value_0.01``,
``best_distribution``, each a map by channel) followed by Gridlight's fields (``household``,
``interval_s``, ``n_samples``, ``by_hour``, ``fingerprint``, per-channel ``method``, ``params``,
``empirical_p99``, ``goodness_of_fit``; with ``by_hour`` also ``hours`` (channel → local hour →
thresholds) and ``day_hours`` (``weekday``/``weekend`` → channel → hour → thresholds), holding
only the groups with enough history); for a household with estimated channels, last,
``estimated`` (the channels that are estimates, not meter readings).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from server.stats.model import HouseholdStats, compute_stats

if TYPE_CHECKING:
    from generator.dataset import Dataset
    from server.stats.cache import StatsCache

__all__ = ["build_report", "household_stats", "stats_report"]


def household_stats(
    dataset: Dataset,
    household: str,
    interval_s: int,
    *,
    by_hour: bool = False,
    cache: StatsCache | None = None,
) -> HouseholdStats:
    """Statistics of ``household``'s clean history in ``dataset`` at ``interval_s``.

    Raises ``ValueError`` subclasses for an unknown household (``DatasetError``), a bad interval
    or an empty channel (``StatsInputError``).
    """
    if cache is not None:
        return cache.for_dataset(dataset, household, interval_s, by_hour=by_hour)
    info = dataset.household(household)
    return compute_stats(
        dataset.frame(household),
        interval_s,
        timezone=info.timezone,
        by_hour=by_hour,
        fingerprint=dataset.fingerprint,
        resolution_s=info.resolution_s,
    )


def stats_report(
    stats: HouseholdStats, household: str, estimated: Sequence[str] = ()
) -> dict[str, Any]:
    """The JSON body for ``household``'s statistics (JSON-safe: only finite numbers).

    ``estimated`` names the channels whose values are estimates (disaggregated from the
    whole-house meter); when there are any the body ends with ``"estimated": [...]``, and is
    otherwise unchanged."""
    body = stats.to_json()
    out: dict[str, Any] = {k: body.pop(k) for k in _COMPAT}
    out["household"] = household
    out.update(body)
    if estimated:
        out["estimated"] = list(estimated)
    return out


def build_report(
    dataset: Dataset,
    household: str,
    interval_s: int,
    *,
    by_hour: bool = False,
    cache: StatsCache | None = None,
) -> dict[str, Any]:
    """:func:`household_stats` rendered by :func:`stats_report`."""
    stats = household_stats(dataset, household, interval_s, by_hour=by_hour, cache=cache)
    return stats_report(stats, household, dataset.household(household).estimated)


_COMPAT = ("25p", "median", "75p", "rt_critical_value_0.01", "best_distribution")
