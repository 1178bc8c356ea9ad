"""Control routes under ``/api/v1/households/{h}``.

==========================================  =======  ==================================================
``…/controls``                              GET      the devices (read access: open demo, else key)
``…/controls``                              PUT      replace them (the household's key)
``…/controls/{device}/commands``            POST     a command → 202 (the household's key; open for
                                                     a demo household's simulated device in demo mode)
``…/controls/{device}/commands/{id}``       GET      a command's status (likewise)
``…/schedule``                              GET/PUT  deferrable loads and their plan (key)
``…/automations``                           GET/PUT  automation rules (key)
``…/recommendations/{id}/apply``            POST     a recommendation's action as a load (key)
==========================================  =======  ==================================================

"key" also admits a signed-in owner or member; an OAuth access token of one needs the scope
``control`` for every write here (device commands, devices, schedules, automations) and ``read``
for the reads.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from server.auth import is_open_demo, require_key, require_read
from server.control.apply import ApplyRequest, load_of
from server.control.automations import AutomationsDocument
from server.control.commands import CommandRequest
from server.control.devices import ControlsDocument
from server.control.schedules import ScheduleDocument, plan_or_422
from server.errors import NotFound, UnknownHousehold
from server.validation import parse

__all__ = ["blueprint"]

blueprint = Blueprint("control", __name__, url_prefix="/api/v1/households")


def _ext() -> Any:
    return current_app.extensions["control"]


def _known(household: str) -> None:
    try:
        current_app.extensions["gridlight"].households.info(household)
    except Exception as err:
        raise UnknownHousehold(f"unknown household {household!r}") from err


def _body() -> Any:
    return request.get_json(silent=True)


# -- 1. devices ---------------------------------------------------------------------------------
@blueprint.get("/<household>/controls")
def get_controls(household: str):  # noqa: ANN201
    _known(household)
    require_read(household)
    devices = _ext().service.devices.all(household)
    return jsonify({"household": household, "devices": [d.public() for d in devices]})


@blueprint.put("/<household>/controls")
def put_controls(household: str):  # noqa: ANN201
    _known(household)
    require_key(household, scope="control")
    doc = parse(ControlsDocument, _body())
    ext = _ext()
    ext.service.devices.replace(household, doc.devices, ext.service.clock())
    ext.service.on_devices_changed(household)
    return jsonify({"household": household, "devices": [d.public() for d in doc.devices]})


# -- 2. commands --------------------------------------------------------------------------------
@blueprint.post("/<household>/controls/<device>/commands")
def post_command(household: str, device: str):  # noqa: ANN201
    _known(household)
    key = _command_access(household, device, scope="control")
    body = parse(CommandRequest, _body())
    command, _ = _ext().service.command(household, device, body, source="api", actor=key)
    return jsonify(command.public()), 202


@blueprint.get("/<household>/controls/<device>/commands/<command_id>")
def get_command(household: str, device: str, command_id: str):  # noqa: ANN201
    _known(household)
    _command_access(household, device)
    command = _ext().service.commands.get(household, command_id)
    if command is None or command.device != device:
        raise NotFound(f"no command {command_id!r} for device {device!r} of {household!r}")
    return jsonify(command.public())


def _command_access(household: str, device: str, scope: str | None = None) -> str | None:
    """The household's key, except for a simulated device of an open demo household (demo
    mode, no credentials sent): anyone may switch those, as the demo's visitors do. ``scope``:
    what an OAuth token needs (``control`` to send a command; reading one, ``read``)."""
    demo = _ext().demo_devices
    if (
        demo is not None
        and demo.simulates(household, device)
        and is_open_demo(household)
        and "Authorization" not in request.headers
    ):
        return "demo-visitor"
    return require_key(household, scope=scope)


# -- 4. schedule --------------------------------------------------------------------------------
@blueprint.get("/<household>/schedule")
def get_schedule(household: str):  # noqa: ANN201
    _known(household)
    require_key(household)
    found = _ext().schedules.get(household)
    if found is None:
        return jsonify({"household": household, "schedule": None, "plan": None})
    doc, plan = found
    return jsonify({"household": household, "schedule": doc, "plan": plan})


def _plan_and_store(household: str, raw: Any) -> dict:
    doc = parse(ScheduleDocument, raw)
    ext = _ext()
    now_s = ext.service.clock()
    horizon_h = doc.horizon_h or ext.horizon_h

    # inputs here (the household catalogue's lock belongs to this thread), the MILP off the
    # request greenlet: the worker's native pool under gevent
    inputs = ext.inputs(household, int(now_s // 3600 * 3600), horizon_h + 1)

    def plan() -> dict:
        return plan_or_422(
            doc, inputs, now_s=now_s, step_s=ext.step_s, horizon_h=horizon_h, limit_kw=ext.limit_kw
        )

    result = current_app.extensions["gridlight"].stats.runner(plan)
    stored = doc.model_dump(mode="json", exclude_none=True)
    ext.schedules.put(household, stored, result, now_s)
    return {"household": household, "schedule": stored, "plan": result}


@blueprint.put("/<household>/schedule")
def put_schedule(household: str):  # noqa: ANN201
    _known(household)
    require_key(household, scope="control")
    return jsonify(_plan_and_store(household, _body()))


@blueprint.post("/<household>/recommendations/<recommendation_id>/apply")
def apply_recommendation(household: str, recommendation_id: str):  # noqa: ANN201
    """The recommendation's action as a deferrable load in the schedule, re-planned."""
    _known(household)
    require_key(household, scope="control")
    body = parse(ApplyRequest, _body() if request.content_length else {})
    insights = current_app.extensions.get("insights")
    if insights is None:
        raise NotFound("recommendations are not available on this server")
    recs = insights.service.recommendations(household)["recommendations"]
    rec = next((r for r in recs if r.get("id") == recommendation_id), None)
    if rec is None:
        raise NotFound(
            f"household {household!r} has no current recommendation {recommendation_id!r} "
            f"(current: {', '.join(r['id'] for r in recs) or 'none'})"
        )
    ext = _ext()
    now_s = ext.service.clock()
    load = load_of(rec, ext.service.devices.all(household), body, now_s, ext.step_s)
    found = ext.schedules.get(household)
    doc = dict(found[0]) if found is not None else {"loads": []}
    doc["loads"] = [x for x in doc.get("loads", []) if x.get("id") != load["id"]] + [load]
    need_h = math.ceil((load["deadline"] - now_s) / 3600)
    if need_h > (doc.get("horizon_h") or ext.horizon_h):
        doc["horizon_h"] = min(48, need_h)
    out = _plan_and_store(household, doc)
    return jsonify({**out, "recommendation": rec["id"], "load": load}), 201


# -- 5. automations -----------------------------------------------------------------------------
@blueprint.get("/<household>/automations")
def get_automations(household: str):  # noqa: ANN201
    _known(household)
    require_key(household)
    return jsonify({"household": household, "rules": _ext().automations.get(household)})


@blueprint.put("/<household>/automations")
def put_automations(household: str):  # noqa: ANN201
    _known(household)
    require_key(household, scope="control")
    doc = parse(AutomationsDocument, _body())
    rules = [r.model_dump(mode="json", exclude_none=True) for r in doc.rules]
    ext = _ext()
    ext.automations.put(household, rules, ext.service.clock())
    ext.service.nudge()  # the leader follows the household from its next round
    return jsonify({"household": household, "rules": rules})
