"""One report from start to end: its task (what the pool process gets), the readings it reads,
and :func:`run_task`, which returns the PDF and its headline figures.

A :class:`ReportTask` is plain data (picklable), so it crosses into a pool process started with
``spawn`` or ``forkserver``; the process reads the readings itself: a dataset household's
columns from its dataset directory, a live household's 1-minute rollups from the installation's
database (the task carries its URL; the process opens an engine of its own for the task).

Tariffs come from a :data:`TariffFor` callable (a household → its tariff or ``None``);
:func:`default_tariff_for` gives every household :func:`server.insights.default_tariff` in its
zone until tariffs are stored per household, when the stored one plugs in here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from generator.dataset import CLEAN_FILE, HouseholdInfo, column_name, read_dataset
from server.insights import CarbonIntensity, Tariff, default_tariff, zone_for_timezone
from server.insights.errors import CarbonError
from server.reports.figures import Figures, ReportInput, compute
from server.reports.months import add_months, month_bounds

__all__ = [
    "ReportTask",
    "TariffFor",
    "carbon_for",
    "default_tariff_for",
    "load_frame",
    "run_task",
]

#: A household's tariff (``None``: no cost figures).
TariffFor = Callable[[HouseholdInfo], Tariff | None]
#: Months of readings read before the report's month: the year-earlier comparison and the
#: forecast's history.
HISTORY_MONTHS = 13


def default_tariff_for(info: HouseholdInfo) -> Tariff | None:
    """Until tariffs are stored per household: the demo tariff in the household's zone."""
    return default_tariff(info.timezone)


def carbon_for(info: HouseholdInfo, intensity: CarbonIntensity | None = None) -> dict | None:
    """``{"zone", "g_per_kwh", "source"}`` of the household's zone, ``None`` when unknown."""
    try:
        zone = zone_for_timezone(info.timezone, str(info.extra.get("carbon_zone") or "") or None)
        return (intensity or CarbonIntensity()).describe(zone)
    except CarbonError:
        return None


@dataclass(frozen=True)
class ReportTask:
    """Everything a pool process needs to make one household's report of one month."""

    info: dict[str, Any]  # HouseholdInfo.to_json()
    month: str
    dataset: str | None = None  # the dataset directory, or
    database: str | None = None  # the database URL of a live household's rollups
    tariff: dict[str, Any] | None = None  # a tariff document
    carbon: dict[str, Any] | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    prior: dict[str, dict[str, Any]] = field(default_factory=dict)
    joined_s: float | None = None
    #: the month's schedule runs (:func:`server.reports.control_runs.schedule_runs`), None: none
    schedules: dict[str, Any] | None = None

    @property
    def household(self) -> str:
        return str(self.info["id"])


def _window(info: HouseholdInfo, month: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    start, _ = month_bounds(add_months(month, -HISTORY_MONTHS), info.timezone)
    _, end = month_bounds(month, info.timezone)
    return start, end


def load_frame(
    info: HouseholdInfo,
    month: str,
    *,
    dataset: str | Path | None = None,
    database: str | None = None,
) -> pd.DataFrame:
    """The household's readings from 13 months before ``month`` to its end [kW, UTC index]:
    from the ``dataset`` directory, or the database at the URL ``database``."""
    start, end = _window(info, month)
    if dataset is not None:
        return _dataset_frame(Path(dataset), info, start, end)
    if database is not None:
        return _live_frame(database, info, start, end)
    raise ValueError("a report needs a dataset directory or a database")


def _dataset_frame(
    path: Path, info: HouseholdInfo, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    columns = [column_name(info.id, c) for c in info.channels]
    if (path / CLEAN_FILE).exists():
        frame = pd.read_parquet(
            path / CLEAN_FILE,
            engine="pyarrow",
            columns=columns,
            filters=[("ts", ">=", start), ("ts", "<", end)],
        )
        if "ts" in frame.columns:
            frame = frame.set_index("ts")
        frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, utc=True), name="ts")
        frame = frame.astype("float64")
        frame.columns = list(info.channels)
    else:  # the seed's CSV files
        frame = read_dataset(path, faulty=False).frame(info.id)
        frame = frame[(frame.index >= start) & (frame.index < end)]
    return frame.sort_index()


def _live_frame(
    url: str, info: HouseholdInfo, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    from server.insights.data import rollups_1m
    from server.storage.database import open_database

    db = open_database(url)  # already upgraded by whoever made the task: a quick check
    try:
        wide = rollups_1m(db, info.id, int(start.timestamp()), int(end.timestamp()))
    finally:
        db.dispose()
    if wide.empty:
        return pd.DataFrame(
            columns=list(info.channels), index=pd.DatetimeIndex([], tz="UTC", name="ts")
        ).astype("float64")
    means = wide.xs("mean_kw", axis=1, level=1)
    return means.reindex(columns=list(info.channels)).astype("float64")


def figures_of(task: ReportTask, frame: pd.DataFrame | None = None) -> Figures:
    info = HouseholdInfo.from_json(task.info)
    if frame is None:
        frame = load_frame(info, task.month, dataset=task.dataset, database=task.database)
    tariff = None if task.tariff is None else Tariff.from_json(task.tariff, timezone=info.timezone)
    return compute(
        ReportInput(
            household=info.id,
            name=info.name,
            timezone=info.timezone,
            channels=info.channels,
            month=task.month,
            frame=frame,
            tariff=tariff,
            carbon=task.carbon,
            alerts=task.alerts,
            prior=task.prior,
            estimated=info.estimated,
            joined_s=task.joined_s,
            schedules=task.schedules,
        )
    )


def run_task(task: ReportTask) -> tuple[bytes, dict[str, Any]]:
    """The PDF of ``task`` and its headline figures (``summary``, plus ``render_s``). Runs in a
    pool process (or inline where no pool is wanted)."""
    began = time.perf_counter()
    fig = figures_of(task)
    from server.reports.pdf import render_pdf  # fpdf2 and fontTools: in the pool only

    pdf = render_pdf(fig)
    summary = fig.summary()
    summary["render_s"] = round(time.perf_counter() - began, 3)
    return pdf, summary
