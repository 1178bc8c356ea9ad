"""CORS for browser clients on other origins (the seed's UI was hosted apart from its backend),
written by flask-cors.

Origins come from ``CORS_ORIGINS`` (comma-separated; ``*`` for any). In demo mode ``*`` is also
allowed on the read-only routes (GET/HEAD and preflights) and the seed's compatibility routes,
which write nothing of a household's. A listed origin may send credentials (the set-up cookie);
``*`` may not. Streams get the same headers as JSON routes.

flask-cors picks its options by path; which policy applies here also depends on the method and
on demo mode, so each of the two policies is a :func:`flask_cors.cross_origin` wrapper applied
to the response by one ``after_request`` hook, which chooses between them.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, request
from flask_cors import cross_origin

__all__ = ["init_app"]

ALLOW_HEADERS = ["Authorization", "Content-Type", "Last-Event-ID", "If-None-Match"]
EXPOSE_HEADERS = ["ETag", "X-Gridlight-Worker"]
METHODS = ["GET", "HEAD", "POST", "DELETE", "OPTIONS"]
READ_METHODS = ("GET", "HEAD", "OPTIONS")
COMPAT_PATHS = ("/stream_setup", "/stream_qstats", "/stream_data")
#: Preflight answers are cached this long by browsers. [s]
MAX_AGE_S = 600


def _policy(**options: object) -> Callable[[Response], Response]:
    """flask-cors headers for ``options``, added to a response (not to a view: the hook chooses)."""
    common = {
        "allow_headers": ALLOW_HEADERS,
        "expose_headers": EXPOSE_HEADERS,
        "methods": METHODS,
        "max_age": MAX_AGE_S,
        "automatic_options": False,  # the response is already made (Flask answers OPTIONS)
    }
    return cross_origin(**common, **options)(lambda response: response)  # type: ignore[arg-type]


def init_app(app: Flask) -> None:
    configured = [o.strip() for o in str(app.config["CORS_ORIGINS"] or "").split(",") if o.strip()]
    demo = bool(app.config["DEMO"])
    listed = [o for o in configured if o != "*"]
    with_credentials = _policy(origins=listed, supports_credentials=True)
    anyone = _policy(origins="*", send_wildcard=True)

    @app.after_request
    def add_cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if not origin:
            return response
        if origin in listed:
            response.vary.add("Origin")
            return with_credentials(response)
        if "*" in configured or (
            demo and (request.method in READ_METHODS or request.path in COMPAT_PATHS)
        ):
            return anyone(response)
        return response
