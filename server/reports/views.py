"""``GET /api/v1/households/{h}/reports`` and ``GET …/reports/{yyyy-mm}.pdf``.

Both read with the household's credentials (:func:`server.auth.require_read`: open for the demo
households in demo mode, else the household's API key). The list is newest month first; a PDF is
served with ``ETag`` = its SHA-256 (``If-None-Match`` answers 304). A month that is not
``YYYY-MM`` or has not begun in the household's zone is a 400; a month without a report a 404.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify, request

from generator.times import format_ts
from server.auth import require_read
from server.errors import InvalidParameter, NotFound, UnknownHousehold
from server.reports.months import month_bounds, parse_month

__all__ = ["blueprint"]

blueprint = Blueprint("reports", __name__, url_prefix="/api/v1/households")


def _info(household: str):  # noqa: ANN202
    try:
        return current_app.extensions["gridlight"].households.info(household)
    except Exception as err:
        raise UnknownHousehold(f"unknown household {household!r}") from err


def _url(household: str, month: str) -> str:
    return f"/api/v1/households/{household}/reports/{month}.pdf"


@blueprint.get("/<household>/reports")
def list_reports(household: str):  # noqa: ANN201
    _info(household)
    require_read(household)
    reports = current_app.extensions["reports"].store.list(household)
    return jsonify(
        {
            "household": household,
            "reports": [
                {
                    "month": r.month,
                    "size_bytes": r.size_bytes,
                    "sha256": r.sha256,
                    "created_at": format_ts(int(r.created_s)),
                    "url": _url(household, r.month),
                    "summary": r.summary,
                }
                for r in reports
            ],
        }
    )


@blueprint.get("/<household>/reports/<month>.pdf")
def report_pdf(household: str, month: str):  # noqa: ANN201
    info = _info(household)
    require_read(household)
    try:
        parse_month(month)
    except ValueError as err:
        raise InvalidParameter(str(err)) from None
    if month_bounds(month, info.timezone)[0].timestamp() > time.time():
        raise InvalidParameter(
            f"month: {month} has not begun in {info.timezone}; a month's report is made on the "
            "1st of the next month"
        )
    report = current_app.extensions["reports"].store.get(household, month)
    if report is None or not report.path.is_file():
        raise NotFound(
            f"household {household!r} has no report for {month} (reports are made at midnight "
            f"on the 1st of the next month; GET /api/v1/households/{household}/reports lists them)"
        )
    response = Response(report.path.read_bytes(), mimetype="application/pdf")
    response.set_etag(report.sha256)
    response.headers["Content-Disposition"] = (
        f'inline; filename="gridlight-{household}-{month}.pdf"'
    )
    response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)
