"""``GET /api/v1/households``, ``/households/{h}`` and ``/households/{h}/stats``."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from generator.times import format_ts
from server.api.params import parse_interval
from server.auth import require_read
from server.errors import InvalidParameter
from server.services import state

__all__ = ["register"]


def _summary(household: str) -> dict:
    gl = state()
    info = gl.households.info(household)
    out = info.to_json()
    out.pop("estimated", None)  # as written (a list, or ``true``): normalised below
    if info.estimated:  # channels that are estimates (``python -m server nilm apply``)
        out["estimated"] = list(info.estimated)
    path = gl.households.dataset_path(household)
    out["dataset"] = path.name if path is not None else None  # None: a live household
    out["replayed"] = (
        bool(current_app.config["DEMO"]) and household in current_app.config["DEMO_HOUSEHOLDS"]
    )
    return out


def list_households():  # noqa: ANN201
    gl = state()
    return jsonify({"households": [_summary(info.id) for info in gl.households.all()]})


def get_household(household: str):  # noqa: ANN201
    gl = state()
    out = _summary(household)
    if gl.households.is_live(household):
        return jsonify(out)  # no dataset; its stored history is at …/readings
    start_s, span_s, rows = gl.households.data_span(household)
    out["data"] = {
        "start": format_ts(start_s),
        "span_s": span_s,
        "rows": rows,
    }
    return jsonify(out)


def get_stats(household: str):  # noqa: ANN201
    gl = state()
    gl.households.info(household)  # 404 before validating the rest
    require_read(household)
    interval_s = parse_interval(request.args.get("interval"), current_app.config["MAX_INTERVAL_S"])
    by = request.args.get("by")
    if by not in (None, "", "hour"):
        raise InvalidParameter(f"by must be 'hour' when given, got {by!r}")
    return jsonify(gl.stats.report(household, interval_s, by_hour=by == "hour"))


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/households", view_func=list_households)
    bp.add_url_rule("/households/<household>", view_func=get_household)
    bp.add_url_rule("/households/<household>/stats", view_func=get_stats)
