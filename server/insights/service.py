"""A worker's insights: each household's prepared readings, forecast model and recommendations,
cached, computed off the request greenlets, and answered with the household's current tariff and
carbon intensity.

::

    request ──► InsightsService.entry(h) ──► cached HouseholdData (else loaded in the background;
                 │                           the request waits up to INSIGHTS_WAIT_S, then 503)
                 ├─ forecast: the cached model (else the same-hour baseline while the Trainer fits
                 │            the gradient-boosted one, retrained after INSIGHTS_RETRAIN_S)
                 ├─ recommendations: cached per (data, tariff revision); CO2 at today's intensity
                 └─ accuracy: a past day's forecast issued at its midnight (its model fitted for
                              that moment in a job thread) beside its metered hours; cached per
                              (day, data), the request waits at most INSIGHTS_WAIT_S, then 503

Loading (a dataset's table, a live household's rollups) and computing run through ``runner``
(under gunicorn's gevent worker a native thread, as quick statistics do); model fitting runs in
the :class:`Trainer` job on a thread pool of its own, so a request never waits for a fit.

Every worker caches its own models. What workers must agree on lives in the database
(:mod:`server.insights.store`): tariffs (by revision: a PUT through one worker prices the next
answer of every worker) and the version of each household's insights, bumped by the leader's
refresh (:mod:`server.insights.refresh`); a worker that sees a newer version reloads that
household in the background and serves what it has meanwhile.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from server.errors import InvalidParameter, ServiceUnavailable
from server.ingest.history import NotEnoughHistory
from server.insights.accuracy import accuracy, day_bounds
from server.insights.carbon import CarbonIntensity, zone_for_timezone
from server.insights.data import (
    HouseholdData,
    dataset_issue_time,
    live_frame,
    prepare,
)
from server.insights.errors import CarbonError, ForecastError
from server.insights.forecast import MIN_MODEL_DAYS, ForecastModel, fit_model, forecast
from server.insights.recommend import recommendations
from server.insights.store import InsightsState, TariffStore
from server.insights.tariff import DEMO_HOUSEHOLDS, Tariff, default_tariff
from server.storage.database import Database

__all__ = ["InsightsNotReady", "InsightsService", "Trainer"]

log = logging.getLogger(__name__)
Runner = Callable[[Callable[[], Any]], Any]
#: Forecast answers kept per worker (by household, model, data, first hour, horizon, tariff,
#: carbon): a cached answer is a dictionary lookup.
MAX_ANSWERS = 256


class InsightsNotReady(ServiceUnavailable):
    """A household's readings are still being loaded (503 with ``Retry-After``)."""

    code = "insights_not_ready"

    def __init__(self, message: str, retry_after_s: int = 5) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def _inline(fn: Callable[[], Any]) -> Any:
    return fn()


@dataclass
class Entry:
    """What a worker holds of one household."""

    data: HouseholdData
    version: int = 0
    model: ForecastModel | None = None
    training: bool = False
    recs: list[dict[str, Any]] | None = None
    recs_key: tuple[float, int] | None = None
    dirty: bool = False


@dataclass
class _Load:
    done: threading.Event = field(default_factory=threading.Event)
    entry: Entry | None = None
    error: BaseException | None = None


@dataclass
class _Job:
    """A forecast-accuracy answer being computed (the requests that ask for it wait on it)."""

    done: threading.Event = field(default_factory=threading.Event)
    answer: dict[str, Any] | None = None
    error: BaseException | None = None


class Trainer:
    """Background fits of forecast models, one at a time (a services job of every worker)."""

    def __init__(self, runner: Runner = _inline) -> None:
        self.runner = runner
        self.jobs: queue.Queue = queue.Queue()
        self.stopped = threading.Event()
        self.fitted = 0
        self.thread = threading.Thread(target=self._run, name="insights-trainer", daemon=True)

    def submit(self, job: Callable[[], None]) -> None:
        self.jobs.put(job)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.jobs.put(None)
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopped.is_set():
            job = self.jobs.get()
            if job is None:
                continue
            try:
                job()
                self.fitted += 1
            except Exception:
                log.exception("an insights model fit failed")


class InsightsService:
    def __init__(
        self,
        households: Any,
        tariffs: TariffStore,
        state: InsightsState,
        carbon: CarbonIntensity,
        *,
        db: Database,
        runner: Runner = _inline,
        trainer: Trainer | None = None,
        history_days: int = 365,
        retrain_s: float = 86_400.0,
        wait_s: float = 20.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.households = households
        self.tariffs = tariffs
        self.state = state
        self.carbon = carbon
        #: server.insights.feeds.PriceFeed with PRICE_FEED_URL: dynamic tariffs' hourly prices
        self.price_feed: Any = None
        self.db = db
        self.runner = runner
        self.trainer = trainer or Trainer()
        self.history_days = int(history_days)
        self.retrain_s = float(retrain_s)
        self.wait_s = float(wait_s)
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, Entry] = {}
        self._loads: dict[str, _Load] = {}
        self._tariffs: dict[tuple[str, int, str], Tariff] = {}
        self._answers: dict[tuple[Any, ...], dict[str, Any]] = {}  # forecasts, oldest first
        self._accuracy: dict[tuple[Any, ...], dict[str, Any]] = {}  # by household, day, data
        self._accuracy_jobs: dict[tuple[Any, ...], _Job] = {}

    # -- data ------------------------------------------------------------------------------------
    def _read(self, household: str) -> HouseholdData:
        """Read and prepare a household's readings (in the loading thread; heavy parts in the
        runner). Dataset tables are read here: the catalogue's lock belongs to this thread."""
        info = self.households.info(household)
        path = self.households.dataset_path(household)
        if path is None:
            now_s = self.clock()
            return self.runner(
                lambda: prepare(
                    household,
                    live_frame(self.db, household, now_s, self.history_days),
                    info.timezone,
                    "live",
                    None,
                    now_s,
                )
            )
        frame = self.households.dataset(household).frame(household)

        def work() -> HouseholdData:
            issued_at = dataset_issue_time(frame, info.timezone) if len(frame) else None
            return prepare(household, frame, info.timezone, "dataset", issued_at)

        try:
            return self.runner(work)
        finally:
            # only the hourly and recent 1-minute frames are kept: the table (about 100 MB for
            # the demo) is let go, as the statistics let it go once cached
            self.households.release_tables()

    def _start_load(self, household: str, version: int) -> _Load:
        with self._lock:
            load = self._loads.get(household)
            if load is not None:
                return load
            load = self._loads[household] = _Load()

        def run() -> None:
            try:
                data = self._read(household)
                with self._lock:
                    old = self._entries.get(household)
                    entry = Entry(data, version=version)
                    if old is not None:  # keep the model until its replacement is fitted
                        entry.model = old.model
                    if self._loads.get(household) is load:  # not forgotten meanwhile
                        self._entries[household] = entry
                load.entry = entry
            except BaseException as err:  # noqa: BLE001 - handed to the waiting requests
                load.error = err
            finally:
                with self._lock:
                    if self._loads.get(household) is load:
                        del self._loads[household]
                load.done.set()

        threading.Thread(target=run, name=f"insights-load-{household}", daemon=True).start()
        return load

    def entry(self, household: str, *, wait_s: float | None = None) -> Entry:
        """The household's cached entry; loaded first when there is none (waiting at most
        ``wait_s``); reloaded in the background when marked dirty (the old one answers)."""
        with self._lock:
            found = self._entries.get(household)
        if found is not None:
            if found.dirty:
                found.dirty = False
                self._start_load(household, self.state_version(household))
            return found
        load = self._start_load(household, self.state_version(household))
        if not load.done.wait(self.wait_s if wait_s is None else wait_s):
            raise InsightsNotReady(
                f"the readings of household {household!r} are still being loaded; "
                "retry in a few seconds",
                retry_after_s=5,
            )
        if load.error is not None:
            raise load.error
        assert load.entry is not None
        return load.entry

    def state_version(self, household: str) -> int:
        return self.state.versions().get(household, 0)

    def invalidate(self, household: str, version: int | None = None) -> None:
        """A newer version exists elsewhere: reload on the next request."""
        with self._lock:
            found = self._entries.get(household)
            if found is not None and (version is None or found.version < version):
                found.dirty = True

    def forget(self, household: str | None) -> None:
        """A household was removed: drop its readings, model, tariff, answers and forecast
        accuracies (``None``: every household's). A load or an accuracy job in flight finishes
        into nothing."""
        with self._lock:
            if household is None:
                self._entries.clear()
                self._loads.clear()
                self._tariffs.clear()
                self._answers.clear()
                self._accuracy.clear()
                self._accuracy_jobs.clear()
                return
            self._entries.pop(household, None)
            self._loads.pop(household, None)
            self._tariffs = {k: v for k, v in self._tariffs.items() if k[0] != household}
            self._answers = {k: v for k, v in self._answers.items() if k[0] != household}
            self._accuracy = {k: v for k, v in self._accuracy.items() if k[0] != household}
            self._accuracy_jobs = {
                k: v for k, v in self._accuracy_jobs.items() if k[0] != household
            }

    def cached(self, household: str) -> Entry | None:
        with self._lock:
            return self._entries.get(household)

    # -- tariff and carbon -----------------------------------------------------------------------
    def default_tariff(self, household: str) -> Tariff | None:
        """The documented default of the demo households A/B/C (synthetic), else none."""
        info = self.households.info(household)
        if info.id in DEMO_HOUSEHOLDS and str(info.source).startswith("synthetic"):
            return default_tariff(info.timezone)
        return None

    def tariff(self, household: str) -> tuple[Tariff | None, str, int]:
        """``(tariff, source, revision)``: source ``stored``, ``default`` or ``none``."""
        stored = self.tariffs.get(household)
        if stored is None:
            found = self.default_tariff(household)
            return found, "default" if found is not None else "none", 0
        timezone = self.households.info(household).timezone
        feed = self.price_feed
        version = None if feed is None else feed.version
        key = (household, stored.revision, timezone, version)
        tariff = self._tariffs.get(key)
        if tariff is None:
            tariff = Tariff.from_json(stored.document, timezone=timezone)
            if getattr(tariff, "feed", False) and feed is not None:
                tariff = tariff.with_prices(feed.prices)  # the feed's last good prices
            self._tariffs = {k: v for k, v in self._tariffs.items() if k[0] != household}
            self._tariffs[key] = tariff
        return tariff, "stored", stored.revision

    def _priced(self, revision: int, tariff: Tariff | None) -> tuple[int, int | None]:
        """What a cached answer's prices depend on: the tariff's revision, and for a tariff
        priced by the price feed, the feed's version (each good poll)."""
        feed = self.price_feed
        live = feed is not None and getattr(tariff, "feed", False)
        return revision, feed.version if live else None

    def carbon_of(self, household: str) -> dict[str, Any] | None:
        """The intensity in use for the household's zone (``None``: no zone known for it)."""
        try:
            zone = zone_for_timezone(self.households.info(household).timezone)
            return self.carbon.describe(zone)
        except CarbonError:
            return None

    # -- models ----------------------------------------------------------------------------------
    def model(self, household: str, entry: Entry, at: pd.Timestamp) -> ForecastModel:
        """The cached model, refitted in the background once it is older than a day (live
        households; a dataset's is fitted once); the same-hour baseline until the first fit."""
        data = entry.data
        model = entry.model
        due = model is None or (
            data.issued_at is None and (at - model.trained_at).total_seconds() >= self.retrain_s
        )
        hourly = data.hourly["Overall"]
        temp = next((data.hourly[c] for c in data.hourly.columns if c != "Overall"), None)
        if due and data.history_hours / 24.0 < MIN_MODEL_DAYS:
            model = entry.model = fit_model(hourly, data.timezone, at, temp_c=temp)  # baseline
            return model
        if due and not entry.training:
            entry.training = True

            def fit() -> None:
                try:
                    fitted = self.trainer.runner(
                        lambda: fit_model(hourly, data.timezone, at, temp_c=temp)
                    )
                    log.info(
                        "insights: fitted %s for %s in %.1f s",
                        fitted.name,
                        household,
                        fitted.train_s,
                    )
                    entry.model = fitted
                    with self._lock:
                        current = self._entries.get(household)
                    if current is not None and current is not entry and current.model is None:
                        current.model = fitted
                finally:
                    entry.training = False

            self.trainer.submit(fit)
        if model is not None:
            return model
        return ForecastModel(
            timezone=data.timezone,
            trained_at=at,
            history_days=data.history_hours / 24.0,
            reason=(
                "the gradient-boosted model is being trained in the background; until it is "
                "ready this is the same-hour mean of the last 28 days"
            ),
        )

    # -- answers ---------------------------------------------------------------------------------
    def forecast(self, household: str, horizon_h: int) -> dict[str, Any]:
        entry = self.entry(household)
        data = entry.data
        if data.history_hours == 0:
            raise NotEnoughHistory(
                f"household {household!r} has no complete hour of whole-house ('Overall') "
                "readings yet: a forecast needs at least one (keep it reporting)"
            )
        at = data.as_of(self.clock())
        model = self.model(household, entry, at)
        tariff, _, revision = self.tariff(household)
        carbon = self.carbon_of(household)
        # An answer depends on the issue time only through its first whole hour: cached by it.
        key = (
            household,
            (id(model), model.name, model.trained_at, model.train_s),
            data.loaded_s,
            at.ceil("h"),
            horizon_h,
            self._priced(revision, tariff),
            None if carbon is None else (carbon["g_per_kwh"], carbon["source"]),
        )
        found = self._answers.get(key)
        if found is None:
            try:
                found = forecast(
                    data.hourly,
                    data.timezone,
                    at,
                    horizon_h,
                    tariff,
                    carbon,
                    household=household,
                    model=model,
                )
            except ForecastError as err:  # no readings in the 40 days before now
                raise NotEnoughHistory(f"household {household!r}: {err}") from err
            with self._lock:
                if len(self._answers) >= MAX_ANSWERS:
                    self._answers.pop(next(iter(self._answers)))
                self._answers[key] = found
        return {**found, "issued_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}

    def accuracy(self, household: str, day: dt.date | None = None) -> dict[str, Any]:
        """Yesterday's (or ``day``'s) day-ahead forecast beside what happened
        (:mod:`server.insights.accuracy`). The forecast is issued at the day's midnight, so its
        model is fitted for it: that runs in a thread of its own (the fit in the trainer's
        runner), the request waits for it at most ``INSIGHTS_WAIT_S`` (then 503 with
        ``Retry-After``), and the answer is cached until the household's readings are reloaded.
        """
        entry = self.entry(household)
        data = entry.data
        at = data.as_of(self.clock())
        latest = at.tz_convert(data.timezone).date() - dt.timedelta(days=1)
        if day is None:
            day = latest
        elif day > latest:
            raise InvalidParameter(
                f"day: {day.isoformat()} is not over yet in {data.timezone} (as of "
                f"{at:%Y-%m-%dT%H:%M:%SZ}); the latest complete day is {latest.isoformat()}"
            )
        if data.history_hours == 0:
            raise NotEnoughHistory(
                f"household {household!r} has no complete hour of whole-house ('Overall') "
                "readings yet: there is no forecast to judge"
            )
        start, _ = day_bounds(day, data.timezone)
        overall = data.hourly["Overall"]
        if not overall[overall.index + pd.Timedelta(hours=1) <= start].notna().any():
            raise NotEnoughHistory(
                f"household {household!r} has no whole-house readings before "
                f"{day.isoformat()}: no forecast could be issued for that day"
            )
        key = (household, day, data.loaded_s)
        with self._lock:
            found = self._accuracy.get(key)
            job = self._accuracy_jobs.get(key)
            if found is None and job is None:
                job = self._accuracy_jobs[key] = _Job()
                start_job = True
            else:
                start_job = False
        if found is not None:
            return found
        assert job is not None
        if start_job:

            def run() -> None:
                try:
                    answer = self.trainer.runner(
                        lambda: accuracy(data.hourly, data.timezone, day, household=household)
                    )
                    with self._lock:
                        if self._accuracy_jobs.get(key) is job:  # else forgotten meanwhile
                            if len(self._accuracy) >= MAX_ANSWERS:
                                self._accuracy.pop(next(iter(self._accuracy)))
                            self._accuracy[key] = answer
                    job.answer = answer
                except BaseException as err:  # noqa: BLE001 - handed to the waiting requests
                    job.error = err
                finally:
                    with self._lock:
                        if self._accuracy_jobs.get(key) is job:
                            del self._accuracy_jobs[key]
                    job.done.set()

            threading.Thread(target=run, name=f"insights-accuracy-{household}", daemon=True).start()
        if not job.done.wait(self.wait_s):
            raise InsightsNotReady(
                f"the forecast of {day.isoformat()} for household {household!r} is being "
                "computed; retry in a few seconds",
                retry_after_s=5,
            )
        if job.error is not None:
            if isinstance(job.error, ForecastError):
                raise NotEnoughHistory(f"household {household!r}: {job.error}") from job.error
            raise job.error
        assert job.answer is not None
        return job.answer

    def recommendations(self, household: str) -> dict[str, Any]:
        entry = self.entry(household)
        data = entry.data
        tariff, source, revision = self.tariff(household)
        carbon = self.carbon_of(household)
        key = (data.loaded_s, self._priced(revision, tariff))
        at = data.as_of(self.clock())
        if entry.recs is None or entry.recs_key != key:
            g = None if carbon is None else carbon["g_per_kwh"]
            recs = self.runner(
                lambda: (
                    recommendations(data.recent, data.timezone, tariff, g, as_of=at)
                    if "Overall" in data.recent.columns
                    else []
                )
            )
            entry.recs, entry.recs_key = recs, key
        recs = json.loads(json.dumps(entry.recs))  # the cache stays as computed
        if carbon is not None:  # at today's intensity (a live feed moves it)
            for rec in recs:
                saving = rec["saving_per_month"]
                saving["co2_kg"] = round(saving["energy_kwh"] * carbon["g_per_kwh"] / 1000.0, 2)
        days = round(data.history_hours / 24.0, 2)
        out: dict[str, Any] = {
            "household": household,
            "as_of": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "history_days": days,
            "currency": None if tariff is None else tariff.currency,
            "tariff": source,
            "carbon": carbon,
            "recommendations": recs,
        }
        if not recs and len(data.recent.index) and days < 3:
            out["note"] = (
                f"only {days} days of readings: recommendations need at least 3 days of this "
                "household's own data"
            )
        elif not len(data.recent.index):
            out["note"] = "no readings yet: recommendations need at least 3 days of them"
        return out

    # -- refresh (the leader) -------------------------------------------------------------------
    def digest(self, entry: Entry) -> str:
        data = entry.data
        last = data.hourly.index[-1].isoformat() if len(data.hourly.index) else ""
        text = json.dumps([last, data.history_hours, entry.recs], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def refresh(self, household: str, reason: str) -> int:
        """Reload a household's readings and recompute its recommendations (and its model when
        due); record the refresh, bumping the version when anything changed. The version."""
        before = self.cached(household)
        old = self.digest(before) if before is not None and before.recs is not None else None
        with self._lock:
            if before is not None:
                before.dirty = False
        load = self._start_load(household, self.state_version(household))
        load.done.wait()
        if load.error is not None:
            raise load.error
        entry = load.entry
        assert entry is not None
        answer = self.recommendations(household)
        if entry.data.history_hours:
            self.model(household, entry, entry.data.as_of(self.clock()))
        changed = self.digest(entry) != old
        version = self.state.record(household, self.clock(), reason, changed=changed)
        entry.version = version
        log.info(
            "insights of %s refreshed (%s): %d recommendations, version %d%s",
            household,
            reason,
            len(answer["recommendations"]),
            version,
            "" if changed else " (unchanged)",
        )
        return version
