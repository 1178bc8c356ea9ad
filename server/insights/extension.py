"""``Insights(app)``: the insights' routes, stores and background work, wired into an app.

One line in :func:`server.create_app`. It registers the routes (:mod:`server.insights.views`),
adds ``energy_kwh``, ``cost`` and ``co2_kg`` to the rows of ``GET …/readings``
(:mod:`server.insights.history`), and registers with the worker's services:

* ``insights-trainer`` (every worker): fits forecast models in the background;
* ``insights-announcer`` (every worker): tells its open v1 streams of new insights
  (``event: insights``);
* ``insights-carbon-feed`` (every worker, with ``CARBON_FEED_URL``): the live intensity feed,
  reported in ``/healthz`` as ``carbon_feed``;
* ``insights-carbon-feed-mqtt`` (every worker, with ``CARBON_FEED_TOPIC`` and ``MQTT_URL``): the
  intensity from an MQTT topic, reported in ``/healthz`` as ``carbon_feed_mqtt``;
* ``insights-price-feed`` (every worker, with ``PRICE_FEED_URL``): hourly prices of the dynamic
  tariffs that say ``"feed": true``, reported in ``/healthz`` as ``price_feed``;
* ``insights-refresh`` (leader only, when ``INSIGHTS_ENABLED``): follows live households'
  windows and refreshes insights as data arrives (at most hourly) and daily
  (:mod:`server.insights.refresh`).

Configuration: the insights section of :mod:`server.config` (``INSIGHTS_*``, ``CARBON_FEED_*``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import Flask, Response, jsonify

from server.errors import error_body

__all__ = ["Insights"]

log = logging.getLogger(__name__)


class Insights:
    """Per-app state: ``app.extensions["insights"]``."""

    def __init__(self, app: Flask | None = None) -> None:
        self.refresh = None
        self.feed = None
        self.price_feed = None
        self.mqtt_feed = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        from server.households.quickstats import default_runner
        from server.insights import views
        from server.insights.carbon import CarbonIntensity
        from server.insights.history import ReadingCosts
        from server.insights.refresh import Announcer
        from server.insights.service import InsightsNotReady, InsightsService, Trainer
        from server.insights.store import InsightsState, TariffStore

        cfg = app.config
        gl = app.extensions["gridlight"]
        self.tariffs = TariffStore(gl.db)
        self.state = InsightsState(gl.db)
        self.carbon = CarbonIntensity()
        self.trainer = Trainer(default_runner())
        self.clock = time.time
        self.service = InsightsService(
            gl.households,
            self.tariffs,
            self.state,
            self.carbon,
            db=gl.db,
            runner=default_runner(),
            trainer=self.trainer,
            history_days=int(cfg["INSIGHTS_HISTORY_DAYS"]),
            retrain_s=float(cfg["INSIGHTS_RETRAIN_S"]),
            wait_s=float(cfg["INSIGHTS_WAIT_S"]),
        )
        self.announcer = Announcer(self.service, gl.hub, every_s=float(cfg["INSIGHTS_ANNOUNCE_S"]))
        app.extensions["insights"] = self
        app.register_blueprint(views.blueprint())
        app.register_error_handler(InsightsNotReady, _not_ready)
        ingest = app.extensions.get("gridlight_ingest")
        if ingest is not None:
            ingest.history_extras.append(ReadingCosts(self.service, ingest.store))
        gl.removals.on_removed("insights", self.service.forget)
        gl.removals.on_removed("insights-announcer", self.announcer.forget)
        gl.add("insights-trainer", self.trainer)
        gl.add("insights-announcer", self.announcer)
        if cfg["CARBON_FEED_URL"]:
            from server.insights.feeds import CarbonFeed

            self.feed = CarbonFeed(
                str(cfg["CARBON_FEED_URL"]),
                self.carbon,
                every_s=float(cfg["CARBON_FEED_EVERY_S"]),
                timeout_s=float(cfg["CARBON_FEED_TIMEOUT_S"]),
            )
            gl.add("insights-carbon-feed", self.feed)
            gl.add_health("carbon_feed", self.feed.health)
        if cfg["CARBON_FEED_TOPIC"] and cfg["MQTT_URL"]:
            from server.insights.feeds import MqttCarbonFeed

            self.mqtt_feed = MqttCarbonFeed(
                str(cfg["MQTT_URL"]), str(cfg["CARBON_FEED_TOPIC"]), self.carbon
            )
            gl.add("insights-carbon-feed-mqtt", self.mqtt_feed)
            gl.add_health("carbon_feed_mqtt", self.mqtt_feed.health)
        if cfg["PRICE_FEED_URL"]:
            from server.insights.feeds import PriceFeed

            self.price_feed = self.service.price_feed = PriceFeed(
                str(cfg["PRICE_FEED_URL"]),
                every_s=float(cfg["PRICE_FEED_EVERY_S"]),
                timeout_s=float(cfg["PRICE_FEED_TIMEOUT_S"]),
            )
            gl.add("insights-price-feed", self.price_feed)
            gl.add_health("price_feed", self.price_feed.health)
        enabled = cfg["INSIGHTS_ENABLED"]
        if enabled is None:
            enabled = not app.testing
        if enabled:
            self.refresh = self._make_refresh(app)
            gl.removals.on_removed("insights-refresh", self.refresh.forget)
            gl.add("insights-refresh", self.refresh, leader=True)

    def _make_refresh(self, app: Flask) -> Any:
        from server.insights.refresh import RefreshJob, RefreshPolicy
        from server.leases import lease_for

        cfg = app.config
        gl = app.extensions["gridlight"]
        lease = lease_for(cfg, "gridlight:insights:refresh", cfg["INSIGHTS_LEASE_TTL_S"], gl.db)
        policy = RefreshPolicy(
            min_s=float(cfg["INSIGHTS_REFRESH_MIN_S"]),
            daily_s=float(cfg["INSIGHTS_REFRESH_DAILY_S"]),
        )

        def every() -> list[str]:
            # households whose owners refused analytics or recommendations are skipped
            ids = [info.id for info in gl.households.all()]
            skip = gl.consent.without("analytics", ids) | gl.consent.without("recommendations", ids)
            return [h for h in ids if h not in skip]

        def live() -> set[str]:
            return {info.id for info in gl.households.all() if info.source == "live"}

        return RefreshJob(
            self.service,
            gl.hub,
            lease,
            policy,
            live=live,
            every=every,
            interval_s=int(cfg["INSIGHTS_INTERVAL_S"]),
            sync_s=float(cfg["INSIGHTS_SYNC_S"]),
            clock=self.clock,
        )

    def put_tariff(self, household: str, tariff: Any) -> int:
        """Store a validated tariff; its insights' version is bumped (streams are told)."""
        revision = self.tariffs.put(household, tariff.to_json(), self.clock())
        self.state.record(household, self.clock(), "tariff", changed=True)
        return revision


def _not_ready(err: Any) -> tuple[Response, int]:
    response = jsonify(error_body(err.code, err.message))
    response.headers["Retry-After"] = str(err.retry_after_s)
    return response, err.status
