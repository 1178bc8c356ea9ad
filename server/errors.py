"""Gridlight's errors, and how they reach HTTP clients.

One hierarchy; every error knows its HTTP status and a stable machine-readable code::

    GridlightError (500, "internal")
    ├── BadRequest (400, "bad_request")
    │   ├── InvalidParameter (400, "invalid_parameter")   a query argument or body field
    │   └── InvalidJSON (400, "invalid_json")              a body that is not a JSON object
    ├── Forbidden (403, "forbidden")                        signed in, but without the role
    │   └── ConsentRequired (403, "consent_required")      the household has not consented
    ├── NotFound (404, "not_found")
    │   ├── UnknownHousehold (404, "unknown_household")
    │   └── SetupNotFound (404, "setup_not_found")         compatibility routes
    └── ServiceUnavailable (503, "unavailable")
        └── BrokerUnavailable (503, "broker_unavailable")  also a ``ConnectionError``

plus :class:`server.storage.database.DatabaseUnavailable` (the database cannot be reached), which
storage raises without depending on Flask and which answers 503 ``database_unavailable``.

Versioned routes answer ``{"error": {"code": ..., "message": ...}}``; the seed's compatibility
routes answer ``{"error": message}`` (see :mod:`server.compat`). Werkzeug's own HTTP errors
(unknown route, wrong method) are rendered the same way, never as HTML.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from server.storage.database import DatabaseUnavailable

__all__ = [
    "BadRequest",
    "BrokerUnavailable",
    "ConsentRequired",
    "Forbidden",
    "GridlightError",
    "InvalidJSON",
    "InvalidParameter",
    "NotFound",
    "ServiceUnavailable",
    "SetupNotFound",
    "UnknownHousehold",
    "error_body",
    "init_app",
]


class GridlightError(Exception):
    """Base of every error Gridlight reports; ``status`` and ``code`` say how."""

    status = 500
    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(GridlightError):
    status = 400
    code = "bad_request"


class InvalidParameter(BadRequest):
    code = "invalid_parameter"


class InvalidJSON(BadRequest):
    code = "invalid_json"


class Forbidden(GridlightError):
    """The request's signed-in user lacks the role the route needs (a missing or wrong
    credential is :class:`server.auth.Unauthorized`, 401)."""

    status = 403
    code = "forbidden"


class ConsentRequired(Forbidden):
    """The household's owner has not given consent to what the request needs (collection of
    readings, analytics, recommendations: :mod:`server.storage.consent`)."""

    code = "consent_required"


class NotFound(GridlightError):
    status = 404
    code = "not_found"


class UnknownHousehold(NotFound):
    code = "unknown_household"


class SetupNotFound(NotFound):
    code = "setup_not_found"


class ServiceUnavailable(GridlightError):
    status = 503
    code = "unavailable"


class BrokerUnavailable(ServiceUnavailable, ConnectionError):
    """The broker (Redis) cannot be reached; callers retry with backoff."""

    code = "broker_unavailable"


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _http_code(err: HTTPException) -> str:
    return (err.name or "error").lower().replace(" ", "_")


def _handle_gridlight(err: GridlightError) -> tuple[Response, int]:
    return jsonify(error_body(err.code, err.message)), err.status


def _handle_http(err: HTTPException) -> Response:
    response = err.get_response()
    response.data = jsonify(error_body(_http_code(err), err.description or err.name)).get_data()
    response.content_type = "application/json"
    return response


def _handle_database(err: DatabaseUnavailable) -> tuple[Response, int]:
    body = error_body("database_unavailable", "the database cannot be reached; retry later")
    response = jsonify(body)
    response.headers["Retry-After"] = "5"
    return response, 503


def init_app(app: Flask) -> None:
    app.register_error_handler(GridlightError, _handle_gridlight)
    app.register_error_handler(DatabaseUnavailable, _handle_database)
    app.register_error_handler(HTTPException, _handle_http)
