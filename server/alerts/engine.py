"""The alert evaluator: one per deployment, following every household's windows through the hub.

::

    hub.follow(household, ALERTS_INTERVAL_S, AlertListener) ──► ClassifiedWindow (levels from
        the quick statistics at that interval, as the widget's); spike baselines: hourly
        empirical statistics of the same history (:meth:`AlertEngine.baseline_stats`)
        HouseholdRules ──► AlertLog.add ──► Dispatcher (push / email / SMS / webhook, each alone)

One evaluator per deployment, elected by the same leased-follower mechanism as the widget's push
sender (:class:`server.leases.LeasedFollowers`) on its own lease key
``gridlight:alerts:evaluator``: in Redis with ``REDIS_URL``, else in the installation's database
(several gunicorn workers, several hosts: one holds it, another takes over within the lease's TTL
if it dies, at once if it stops). It runs in the web
workers, where the hub already averages the windows, rather than in the replay or ingest process,
which do not see live households' HTTP readings in every configuration. A control thread renews
the lease every ``ALERTS_SYNC_S``, reloads settings, starts or stops followings, sends the
quiet-hours digests and runs the 6-month retention of the log (claimed once per hour across
processes, like the readings').

Digests (:mod:`server.alerts.digest`): once a household's quiet period has ended (its local
time) and ``digest_delay_s`` more has passed for the windows that closed at its end to be
judged, the leader claims the period in the database (``alert_digests``, one row per household and
period end, so a restart or another worker taking over the lease never sends it again), logs one
``digest`` alert listing the period's quiet alerts and delivers it on the household's channels
like any alert. A night without quiet alerts sends nothing; a period that ended while no
evaluator ran is digested when one next runs, unless it ended over a day ago.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from generator.times import format_ts
from server.alerts.digest import DIGEST_MAX_AGE_S, digest_of, ended_periods
from server.alerts.dispatch import Dispatcher, notice_of
from server.alerts.rules import Alert, HouseholdRules, Observation, hourly_baseline
from server.alerts.settings import SettingsStore, default_settings, rule_settings
from server.alerts.store import AlertLog
from server.leases import LeasedFollowers
from server.stats import HouseholdStats, compute_stats
from server.streaming.classified import ClassifiedWindow
from server.streaming.follow import Following

__all__ = ["AlertEngine", "AlertListener"]

log = logging.getLogger(__name__)


class AlertListener:
    """One household's rules, fed its classified windows by the hub (:meth:`Hub.follow`).

    The spike rule's hourly baselines come from the same history as the levels' statistics:
    they are (re)computed whenever the following reports new statistics (:meth:`on_stats`), so
    a live household registered with no history is judged by the offline rule alone until its
    statistics exist, and by every rule from then on, without a restart.
    """

    def __init__(self, engine: AlertEngine, household: str) -> None:
        self.engine = engine
        self.household = household
        self.rules = HouseholdRules(household, rule_settings(engine.settings_of(household)))
        self.hourly: HouseholdStats | None = None
        self.channels: tuple[str, ...] = ()
        self.windows_seen = 0

    def on_stats(self, stats: HouseholdStats) -> None:
        try:
            self.channels = tuple(self.engine.gridlight.households.info(self.household).channels)
            self.hourly = self.engine.baseline_stats(self.household, self.engine.interval_s)
        except Exception as err:
            log.warning("spike baselines of %s unavailable: %s", self.household, err)

    def on_window(self, window: ClassifiedWindow) -> None:
        base = (
            hourly_baseline(self.hourly, self.channels, window.start_s)
            if self.hourly is not None
            else {}
        )
        obs = Observation(
            window.start_s,
            window.interval_s,
            dict(window.power_kw),
            dict(window.level or {}),
            base,
            generated=window.empty,
        )
        self.windows_seen += 1
        self.engine.handle(self.household, self.rules.observe(obs, self.engine.clock()))

    def on_idle(self, now_s: float) -> None:
        self.engine.handle(self.household, self.rules.tick(self.engine.clock()))


class AlertEngine:
    def __init__(
        self,
        gridlight: Any,
        settings: SettingsStore,
        alert_log: AlertLog,
        dispatcher: Dispatcher,
        lease: Any,
        *,
        interval_s: int = 60,
        sync_s: float = 5.0,
        queue_len: int = 256,
        clock: Callable[[], float] = time.time,
        retention: Callable[[float], None] | None = None,
        on_alert: Callable[[Alert], None] = lambda alert: None,
        digest_delay_s: float | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"ALERTS_INTERVAL_S must be positive, got {interval_s!r}")
        self.gridlight = gridlight
        self.settings = settings
        self.log = alert_log
        self.dispatcher = dispatcher
        self.lease = lease
        self.interval_s = interval_s
        self.sync_s = sync_s
        self.queue_len = queue_len
        self.clock = clock
        self.retention = retention
        self.on_alert = on_alert
        #: How long after a quiet period's end its digest waits for late windows [s]
        #: (default: two windows).
        self.digest_delay_s = 2.0 * interval_s if digest_delay_s is None else digest_delay_s
        self._digested: set[tuple[str, int]] = set()  # periods this engine has claimed
        self._docs: dict[str, dict] = {}
        self._baselines: dict[tuple, HouseholdStats] = {}
        self.job = LeasedFollowers(
            "alerts",
            lease,
            gridlight.hub,
            interval_s,
            listener_for=lambda household: AlertListener(self, household),
            wanted=self._wanted,
            sync_s=sync_s,
            on_sync=self._after_sync,
            follow_options={"queue_len": queue_len, "clock": clock},
        )

    @property
    def leader(self) -> bool:
        return self.job.leader

    def forget(self, household: str | None) -> None:
        """A household was removed: stop evaluating it and drop its settings (phone numbers,
        webhook) and baselines held here (``None``: every household's)."""
        self.job.forget(household)
        if household is None:
            self._docs.clear()
            self._baselines.clear()
            return
        self._docs.pop(household, None)
        self._baselines = {k: v for k, v in self._baselines.items() if k[0] != household}

    @property
    def stopped(self) -> threading.Event:
        return self.job.stopped

    @property
    def followers(self) -> dict[str, Following]:
        """The households followed, while this engine is the evaluator."""
        return dict(self.job.followings)

    def baseline_stats(self, household: str, interval_s: int) -> HouseholdStats:
        """Hourly statistics for the spike baselines: empirical quantiles by hour (no fits, so a
        second or two per household, off the request greenlets), cached per dataset version."""
        gl = self.gridlight
        dataset = gl.stats.runner(lambda: gl.households.dataset(household))
        key = (household, interval_s, dataset.fingerprint)
        found = self._baselines.get(key)
        if found is None:
            info = dataset.household(household)
            found = gl.stats.runner(
                lambda: compute_stats(
                    dataset.frame(household),
                    interval_s,
                    timezone=info.timezone,
                    by_hour=True,
                    resolution_s=info.resolution_s,
                    fit=False,
                )
            )
            self._baselines = {k: v for k, v in self._baselines.items() if k[0] != household}
            self._baselines[key] = found
        return found

    def settings_of(self, household: str) -> dict:
        doc = self.settings.get(household)
        if doc is not None:
            return doc
        try:
            info = self.gridlight.households.info(household)
            return default_settings(info.timezone, tuple(info.channels))
        except Exception:
            return default_settings()

    def handle(self, household: str, alerts: list[Alert]) -> None:
        if not alerts:
            return
        doc = self._docs.get(household) or self.settings_of(household)
        name = self._name(household)
        for alert in alerts:
            self._deliver(self.log.add(alert), alert, doc, name)

    def _name(self, household: str) -> str:
        try:
            return self.gridlight.households.info(household).name or household
        except Exception:
            return household

    def _deliver(self, alert_id: int, alert: Alert, doc: dict, name: str) -> list[Future]:
        self.on_alert(alert)
        log.info(
            "alert %d %s/%s %s at %s",
            alert_id,
            alert.household,
            alert.rule,
            alert.kind,
            format_ts(alert.ts_s),
        )
        return self.dispatcher.dispatch(notice_of(alert_id, alert, name), doc, alert.quiet)

    def send_digests(self, household: str, doc: dict, now_s: float) -> list[Future]:
        """Send the digest of each quiet period of ``household`` that ended between a day and
        ``digest_delay_s`` ago and nobody claimed yet; the deliveries' futures.

        Cheap when there is nothing to do: a few local-time conversions, and one database
        transaction per period the first time this engine sees it.
        """
        if not doc.get("enabled", True):
            return []
        settings = rule_settings(doc)
        until_s = now_s - self.digest_delay_s
        futures: list[Future] = []
        for period in ended_periods(settings, now_s - DIGEST_MAX_AGE_S, until_s):
            key = (household, period.end_s)
            if key in self._digested:
                continue
            claimed = self.log.claim_digest(
                household,
                period.start_s,
                period.end_s,
                lambda rows, p=period: digest_of(household, settings, p, rows),
            )
            self._digested.add(key)
            if claimed is not None:
                alert_id, digest = claimed
                futures += self._deliver(alert_id, digest, doc, self._name(household))
        return futures

    def start(self) -> None:
        self.job.start()

    def sync(self) -> None:
        """Renew the lease; while holding it, follow every household with current settings and
        send the digests of quiet periods that ended (:meth:`send_digests`)."""
        self.job.sync()

    def _wanted(self) -> set[str]:
        if self.retention is not None:
            self.retention(self.clock())
        return {info.id for info in self.gridlight.households.all()}

    def _after_sync(self, leader: bool, wanted: set[str]) -> None:
        for household in wanted:
            doc = self.settings_of(household)
            self._docs[household] = doc
            listener = self.job.listener(household)
            if listener is not None:
                listener.rules.configure(rule_settings(doc))
        now_s = self.clock()
        for household in sorted(wanted):
            try:
                self.send_digests(household, self._docs[household], now_s)
            except Exception:  # one household's digest must not stop the others'
                log.exception("quiet-hours digest of %s failed", household)
        cutoff_s = now_s - 2 * DIGEST_MAX_AGE_S
        self._digested = {k for k in self._digested if k[1] >= cutoff_s}

    def stop(self) -> None:
        self.job.stop()  # releases the lease
        self.dispatcher.stop()
