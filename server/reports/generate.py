"""One report from start to end: its task (what the pool process gets), the readings it reads,
and :func:`run_task`, which returns the PDF and its headline figures.

A :class:`ReportTask` is plain data (picklable), so it crosses into a pool process started with
``spawn`` or ``forkserver``; the process reads the readings itself: a dataset household's
columns from its dataset directory, a live household's rollups from the installation's
database (the task carries its URL; the process opens an engine of its own for the task): the
month's 1-minute rollups, and the 13 months before it as 15-minute rollups (two queries,
aggregated by the database as ingest wrote them: a year of 1-minute rows is 2.4 million for four
channels, which took minutes to fetch; the earlier months need no more than hours).

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

import numpy as np
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
    "load_history",
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
    """The household's readings [kW, UTC index]: from the ``dataset`` directory, 13 months
    before ``month`` to its end; from the database at the URL ``database``, the month's 1-minute
    rollups (:func:`load_history` gives the months before)."""
    start, end = _window(info, month)
    if dataset is not None:
        return _dataset_frame(Path(dataset), info, start, end)
    if database is not None:
        month_start, _ = month_bounds(month, info.timezone)
        return _live_frame(database, info, month_start, end, "rollups_1m")
    raise ValueError("a report needs a dataset directory or a database")


def load_history(info: HouseholdInfo, month: str, database: str) -> pd.DataFrame:
    """A live household's 15-minute means of the 13 months before ``month`` [kW, UTC index]."""
    start, _ = _window(info, month)
    month_start, _ = month_bounds(month, info.timezone)
    return _live_frame(database, info, start, month_start, "rollups_15m")


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
    url: str, info: HouseholdInfo, start: pd.Timestamp, end: pd.Timestamp, table: str
) -> pd.DataFrame:
    """Mean power of each bucket of ``table`` (``rollups_1m`` or ``rollups_15m``) in
    ``[start, end)`` [kW], one column per channel; NaN where the channel reported unavailable."""
    from server.storage.database import open_database

    assert table in ("rollups_1m", "rollups_15m")
    db = open_database(url)  # already upgraded by whoever made the task: a quick check
    columns: dict[str, pd.Series] = {}
    try:
        with db.read() as c:
            # one query a channel on the primary key (household, channel, ts_s), on the driver's
            # cursor: a year of minutes is millions of rows, and SQLAlchemy's rows cost more
            # than the query
            style = "%({})s" if c.dialect.paramstyle == "pyformat" else ":{}"
            sql = (
                f"SELECT ts_s, sum_kw, count FROM {table} WHERE household = {style.format('h')}"  # noqa: S608
                f" AND channel = {style.format('c')} AND ts_s >= {style.format('a')}"
                f" AND ts_s < {style.format('b')} ORDER BY ts_s"
            )
            cursor = c.connection.driver_connection.cursor()
            try:
                for channel in info.channels:
                    cursor.execute(
                        sql,
                        {
                            "h": info.id,
                            "c": channel,
                            "a": int(start.timestamp()),
                            "b": int(end.timestamp()),
                        },
                    )
                    rows = cursor.fetchall()
                    if not rows:
                        continue
                    data = np.array(rows, dtype="float64").reshape(-1, 3)
                    with np.errstate(invalid="ignore", divide="ignore"):
                        mean_kw = np.where(data[:, 2] > 0, data[:, 1] / data[:, 2], np.nan)
                    index = pd.DatetimeIndex(
                        pd.to_datetime(data[:, 0].astype("int64"), unit="s", utc=True), name="ts"
                    )
                    columns[channel] = pd.Series(mean_kw, index=index)
            finally:
                cursor.close()
    finally:
        db.dispose()
    if not columns:
        return pd.DataFrame(
            columns=list(info.channels), index=pd.DatetimeIndex([], tz="UTC", name="ts")
        ).astype("float64")
    wide = pd.concat(columns, axis=1).sort_index()
    wide.index.name = "ts"
    return wide.reindex(columns=list(info.channels)).astype("float64")


def figures_of(
    task: ReportTask, frame: pd.DataFrame | None = None, history: pd.DataFrame | None = None
) -> Figures:
    """The figures of ``task`` (its readings read unless ``frame`` and ``history`` are given)."""
    info = HouseholdInfo.from_json(task.info)
    if frame is None:
        frame = load_frame(info, task.month, dataset=task.dataset, database=task.database)
        if task.dataset is None and task.database is not None:
            history = load_history(info, task.month, task.database)
    tariff = None if task.tariff is None else Tariff.from_json(task.tariff, timezone=info.timezone)
    return compute(
        ReportInput(
            household=info.id,
            name=info.name,
            timezone=info.timezone,
            channels=info.channels,
            month=task.month,
            frame=frame,
            history=history,
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
