"""A household's appliance models over HTTP, for its owners.

==========================================================  ======================================
``GET    /api/v1/households/{h}/estimates``                 the attached models: appliance, the
                                                            catalog name, provenance, live state
``GET    /api/v1/households/{h}/estimates/catalog``         the published models this household
                                                            could attach now
``PUT    /api/v1/households/{h}/estimates/{appliance}``     attach ``{"model": NAME}`` (replacing
                                                            the appliance's model; ``"rated_w"``:
                                                            the appliance's rating here)
``DELETE /api/v1/households/{h}/estimates/{appliance}``     detach it (its estimates stop; those
                                                            written stay)
==========================================================  ======================================

Models come only from the deployment's catalog, which the operator fills with ``python -m server
nilm publish`` (:mod:`server.estimates.cli`): the API never takes a model file from a client,
since loading one unpickles it (remote code execution). Owners only, as the household's keys
(:mod:`server.accounts.keys`): signed in by session cookie (writes with ``X-CSRF-Token``) or by an
OAuth access token with the ``admin`` scope; 401 signed out, 403 a member, viewer or stranger,
404 an unknown household. An attachment is checked as ``python -m server nilm attach`` checks it
(:func:`server.estimates.attach.attach_model`): 409 ``not_live`` for a household served from a
dataset, 409 ``appliance_metered``, 400 ``invalid_model`` (readings coarser than the model, no
Overall channel, a model of another appliance than the path's, a ``rated_w`` beyond a third to three
times the model's learned level); 404 ``unknown_model`` for a name
the catalog does not hold, 400 for a body without a valid ``model``. The running estimator picks
an attachment up at its next sync (``NILM_SYNC_S``), and open streams at theirs
(:mod:`server.streaming.hub`); each change is in the audit log (``estimate_attached``,
``estimate_detached``).
"""

from __future__ import annotations

import re
import time
from typing import Annotated, Any

from flask import Blueprint, current_app, jsonify
from pydantic import ConfigDict, Field

from generator.times import format_ts
from server.accounts.views import CHANNEL, _ext, _role_in, _user
from server.api.params import json_body
from server.errors import InvalidParameter, NotFound
from server.estimates.attach import attach_published, usable_for
from server.estimates.cli import MODEL_NAME, catalog_json
from server.services import state
from server.storage.estimators import AttachedModel
from server.validation import Body, expect, number, parse

__all__ = ["EstimateAttach", "UnknownEstimate", "blueprint"]


class UnknownEstimate(NotFound):
    """The household has no model attached for that appliance."""

    code = "unknown_estimate"


class EstimateAttach(Body):
    """The published model to attach (a name from ``…/estimates/catalog``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"model": "ac-causal-60s"}, {"model": "ac-causal-60s", "rated_w": 2200}]
        }
    )

    model: Annotated[
        str,
        Field(
            pattern=MODEL_NAME,
            description="the catalog name of a published model of this appliance",
            examples=["ac-causal-60s"],
        ),
        expect("the name of a published model: letters, digits, '.', '_' or '-' (at most 64)"),
    ]
    rated_w: (
        number(
            1,
            100_000,
            description="the appliance's rated power in this household [W], when it differs "
            "from the model's learned level (on_level_w): the model then reads the house scaled "
            "to it; within a third to three times that level",
            examples=[2200],
        )
        | None
    ) = None


blueprint = Blueprint("estimates", __name__, url_prefix="/api/v1")


def _ext_estimates() -> Any:
    return current_app.extensions["estimates"]


def _owner(household: str, what: str, *, write: bool = False) -> Any:
    user = _user(write=write, scope="admin")
    _role_in(household, user, ("owner",), what)
    return user


def _appliance(appliance: str) -> str:
    if not re.match(CHANNEL, appliance):
        raise InvalidParameter(
            f"appliance: expected a channel name (a letter, then letters or digits, at most 32), "
            f"got {appliance!r}"
        )
    return appliance


def _attached_json(m: AttachedModel) -> dict[str, Any]:
    return {"appliance": m.appliance, **m.describe(), "attached": format_ts(int(m.attached_s))}


@blueprint.get("/households/<household>/estimates")
def list_estimates(household: str):  # noqa: ANN201
    _owner(household, "see the appliance models of")
    gl = state()
    live = gl.households.is_live(household)
    # as the description shows them: an appliance metered since is not an estimate
    estimated = set(gl.households.info(household).estimated) if live else set()
    found = [m for m in _ext_estimates().store.list(household) if m.appliance in estimated]
    return jsonify(
        {"household": household, "live": live, "estimates": [_attached_json(m) for m in found]}
    )


@blueprint.get("/households/<household>/estimates/catalog")
def list_catalog(household: str):  # noqa: ANN201
    _owner(household, "see the appliance models for")
    gl = state()
    ext = _ext_estimates()
    is_dataset = not gl.households.is_live(household)
    usable = gl.stats.runner(
        lambda: usable_for(
            gl.keys,
            ext.readings,
            ext.catalog.list(),
            household,
            time.time(),
            is_dataset=is_dataset,
        )
    )
    return jsonify({"household": household, "models": [catalog_json(m) for m in usable]})


@blueprint.put("/households/<household>/estimates/<appliance>")
def attach(household: str, appliance: str):  # noqa: ANN201
    user = _owner(household, "attach appliance models to", write=True)
    _appliance(appliance)
    body = parse(EstimateAttach, json_body())
    gl = state()
    ext = _ext_estimates()
    is_dataset = not gl.households.is_live(household)
    # loading the model (to check it) runs off the request greenlet
    attached = gl.stats.runner(
        lambda: attach_published(
            gl.keys,
            ext.store,
            ext.readings,
            ext.catalog,
            household,
            body.model,
            time.time(),
            appliance=appliance,
            is_dataset=is_dataset,
            rated_w=body.rated_w,
        )
    )
    _ext().audit.record(
        "estimate_attached",
        household=household,
        user_id=user.id,
        detail={"appliance": appliance, "model": body.model, "rated_w": body.rated_w},
    )
    return jsonify({"household": household, **_attached_json(attached)})


@blueprint.delete("/households/<household>/estimates/<appliance>")
def detach(household: str, appliance: str):  # noqa: ANN201
    user = _owner(household, "detach appliance models from", write=True)
    _appliance(appliance)
    if not _ext_estimates().store.detach(household, appliance):
        raise UnknownEstimate(f"household {household!r} has no {appliance!r} model attached")
    _ext().audit.record(
        "estimate_detached",
        household=household,
        user_id=user.id,
        detail={"appliance": appliance},
    )
    return "", 204
