"""Live disaggregation: appliance estimates for live households that have only a whole-house
meter, computed as their Overall readings arrive (the pure core is :mod:`server.nilm`).

``Estimates(app)`` (one line in :func:`server.create_app`) keeps the attached models
(:class:`server.storage.estimators.EstimatorStore`, in the installation's database) and, when
``NILM_ENABLED``, registers with the worker's services the live estimator
(:mod:`server.estimates.engine`: one per deployment, on the lease ``gridlight:nilm:estimator``).
Models are attached with ``python -m server nilm attach --household H --model FILE``
(:mod:`server.estimates.cli`; the checks are :func:`server.estimates.attach.attach_model`'s), or
by a household's owner over HTTP from the deployment's catalog of published models
(:mod:`server.estimates.views`; the operator publishes with ``python -m server nilm publish``).

A live household with a model attached lists the appliance among its channels, in
``estimated``, and under ``estimates`` with the model's provenance and the estimator's state; the
stream events, widget state, statistics and reports that carry ``estimated`` mark it so.

Configuration: the disaggregation section of :mod:`server.config` (``NILM_*``).
"""

from __future__ import annotations

from flask import Flask

from server.estimates.attach import ApplianceMetered, InvalidModel, attach_model
from server.storage.estimators import AttachedModel, EstimatorStore, ModelCatalog

__all__ = [
    "ApplianceMetered",
    "AttachedModel",
    "Estimates",
    "EstimatorStore",
    "InvalidModel",
    "ModelCatalog",
    "attach_model",
]


class Estimates:
    """Per-app state: ``app.extensions["estimates"]``."""

    def __init__(self, app: Flask | None = None) -> None:
        self.engine = None
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        gl = app.extensions["gridlight"]
        self.store = EstimatorStore(gl.db)
        self.catalog = ModelCatalog(gl.db)
        self.readings = app.extensions["gridlight_ingest"].store
        app.extensions["estimates"] = self
        from server.estimates import views

        app.register_blueprint(views.blueprint)
        enabled = app.config["NILM_ENABLED"]
        if enabled is None:
            enabled = not app.testing
        if enabled:
            self.engine = self._make_engine(app)
            gl.removals.on_removed("estimates", self.engine.forget)
        gl.add("estimates", self, leader=True)  # stopping releases the estimator's lease

    def _make_engine(self, app: Flask):  # noqa: ANN202
        from server.estimates.engine import EstimateEngine
        from server.leases import lease_for

        cfg = app.config
        gl = app.extensions["gridlight"]
        ingest = app.extensions["gridlight_ingest"]
        lease = lease_for(cfg, "gridlight:nilm:estimator", cfg["NILM_LEASE_TTL_S"], gl.db)
        return EstimateEngine(
            gl,
            self.store,
            ingest.store,
            lambda rows: ingest.ingestor.write(rows),
            lease,
            sync_s=float(cfg["NILM_SYNC_S"]),
            queue_len=int(cfg["CLIENT_QUEUE_LEN"]),
        )

    def start(self) -> None:
        if self.engine is not None:
            self.engine.start()

    def stop(self) -> None:
        """Stop the estimator (its lease is released). Idempotent."""
        if self.engine is not None:
            self.engine.stop()
