"""Disaggregation models attached to live households, in the installation's database so that every
worker and host sees them (``nilm_models``: one row per household and appliance).

A row holds the model file as written by ``Disaggregator.save`` (bytes; trusted, since loading it
unpickles), its JSON header (appliance, resolution, provenance: what a household's description
shows without loading the model), when it was attached, and the live estimator's state (JSON,
written by the worker that estimates: ``pending``, ``waiting_for_history``, ``estimating``,
``failed``). The live layer (``server.estimates``) validates models before :meth:`attach`; this
module only keeps them.

:class:`ModelCatalog` keeps the deployment's published models (``nilm_catalog``: one row per
name, the model file, its JSON header, when it was published): the operator publishes them with
``python -m server nilm publish``, owners attach them over HTTP by name (the API never takes model
bytes from a client: loading one unpickles it). An attached model is a copy: unpublishing a name
leaves the households that attached it estimating.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from server.storage.database import Database
from server.storage.schema import nilm_catalog, nilm_models

__all__ = ["AttachedModel", "CatalogModel", "EstimatorStore", "ModelCatalog"]


@dataclass(frozen=True)
class AttachedModel:
    """One attached model, without its bytes."""

    household: str
    appliance: str
    header: dict[str, Any]
    attached_s: float
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def resolution_s(self) -> int:
        return int(self.header["resolution_s"])

    def describe(self) -> dict[str, Any]:
        """What a household's description shows of the estimate (``estimates[appliance]``)."""
        header = self.header
        return {
            "method": "gridlight-nilm",
            "live": True,
            "model": header.get("catalog_name"),
            "model_resolution_s": self.resolution_s,
            # this household's: with a rating, the model file's threshold scaled to it
            "on_threshold_w": header.get("rated_on_threshold_w", header.get("on_threshold_w")),
            "on_level_w": header.get("on_level_w"),
            "rated_w": header.get("rated_w"),
            "features_version": header.get("features_version"),
            "lag_s": header.get("lag_s"),
            "trained_on": header.get("trained_on"),
            "training_period": header.get("training_period"),
            "need_samples": header.get("context_samples"),
            **self.state,
        }


def _row(row: Any) -> AttachedModel:
    return AttachedModel(
        household=row.household,
        appliance=row.appliance,
        header=json.loads(row.header),
        attached_s=float(row.attached_s),
        state=json.loads(row.state),
    )


class EstimatorStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def attach(
        self, household: str, appliance: str, header: dict[str, Any], model: bytes, now_s: float
    ) -> AttachedModel:
        """Attach (or replace) the model of ``household``'s ``appliance``; its state starts as
        ``pending`` until the estimating worker picks it up."""
        state = {"state": "pending"}
        values = {
            "household": household,
            "appliance": appliance,
            "model": model,
            "header": json.dumps(header, allow_nan=False),
            "attached_s": float(now_s),
            "state": json.dumps(state),
        }
        with self.db.write() as conn:
            conn.execute(
                sa.delete(nilm_models).where(
                    nilm_models.c.household == household, nilm_models.c.appliance == appliance
                )
            )
            conn.execute(sa.insert(nilm_models).values(**values))
        return AttachedModel(household, appliance, header, float(now_s), state)

    def detach(self, household: str, appliance: str) -> bool:
        """Remove the model; False if there was none."""
        with self.db.write() as conn:
            result = conn.execute(
                sa.delete(nilm_models).where(
                    nilm_models.c.household == household, nilm_models.c.appliance == appliance
                )
            )
        return bool(result.rowcount)

    def list(self, household: str | None = None) -> list[AttachedModel]:
        """Attached models (of ``household``, or all), by household and appliance."""
        cols = [c for c in nilm_models.c if c.name != "model"]
        query = sa.select(*cols).order_by(nilm_models.c.household, nilm_models.c.appliance)
        if household is not None:
            query = query.where(nilm_models.c.household == household)
        with self.db.read() as conn:
            return [_row(r) for r in conn.execute(query)]

    def model(self, household: str, appliance: str, attached_s: float) -> bytes | None:
        """The model file attached at ``attached_s`` (``None`` if replaced or detached since)."""
        query = sa.select(nilm_models.c.model).where(
            nilm_models.c.household == household,
            nilm_models.c.appliance == appliance,
            nilm_models.c.attached_s == float(attached_s),
        )
        with self.db.read() as conn:
            found = conn.execute(query).first()
        return None if found is None else bytes(found[0])

    def set_state(
        self, household: str, appliance: str, attached_s: float, state: dict[str, Any]
    ) -> None:
        """Record the estimator's state of the model attached at ``attached_s`` (a model
        replaced meanwhile keeps its own)."""
        with self.db.write() as conn:
            conn.execute(
                sa.update(nilm_models)
                .where(
                    nilm_models.c.household == household,
                    nilm_models.c.appliance == appliance,
                    nilm_models.c.attached_s == float(attached_s),
                )
                .values(state=json.dumps(state, allow_nan=False))
            )


@dataclass(frozen=True)
class CatalogModel:
    """One published model, without its bytes."""

    name: str
    appliance: str
    header: dict[str, Any]
    published_s: float

    @property
    def resolution_s(self) -> int:
        return int(self.header["resolution_s"])

    @property
    def causal(self) -> bool:
        return int(self.header.get("lag_s") or 0) == 0


class ModelCatalog:
    """The deployment's published models (see the module doc)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def publish(
        self, name: str, appliance: str, header: dict[str, Any], model: bytes, now_s: float
    ) -> CatalogModel:
        """Publish ``model`` under ``name`` (replacing what was published under it)."""
        values = {
            "name": name,
            "appliance": appliance,
            "model": model,
            "header": json.dumps(header, allow_nan=False),
            "published_s": float(now_s),
        }
        with self.db.write() as conn:
            conn.execute(sa.delete(nilm_catalog).where(nilm_catalog.c.name == name))
            conn.execute(sa.insert(nilm_catalog).values(**values))
        return CatalogModel(name, appliance, header, float(now_s))

    def unpublish(self, name: str) -> bool:
        """Withdraw ``name``; False if nothing was published under it."""
        with self.db.write() as conn:
            result = conn.execute(sa.delete(nilm_catalog).where(nilm_catalog.c.name == name))
        return bool(result.rowcount)

    def list(self) -> list[CatalogModel]:
        """Published models by name."""
        cols = [c for c in nilm_catalog.c if c.name != "model"]
        query = sa.select(*cols).order_by(nilm_catalog.c.name)
        with self.db.read() as conn:
            return [
                CatalogModel(r.name, r.appliance, json.loads(r.header), float(r.published_s))
                for r in conn.execute(query)
            ]

    def model(self, name: str) -> tuple[CatalogModel, bytes] | None:
        """The model published under ``name`` and its file, or ``None``."""
        query = sa.select(nilm_catalog).where(nilm_catalog.c.name == name)
        with self.db.read() as conn:
            r = conn.execute(query).first()
        if r is None:
            return None
        found = CatalogModel(r.name, r.appliance, json.loads(r.header), float(r.published_s))
        return found, bytes(r.model)
