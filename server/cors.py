"""CORS for browser clients on other origins (the seed's UI was hosted apart from its backend).

Origins come from ``CORS_ORIGINS`` (comma-separated; ``*`` for any). In demo mode ``*`` is also
allowed on the read-only routes (GET/HEAD and preflights) and the seed's compatibility routes,
which write nothing of a household's. A specific origin may send credentials (the set-up cookie);
``*`` may not. Streams get the same headers as JSON routes.
"""

from __future__ import annotations

from flask import Flask, Response, request

__all__ = ["init_app"]

ALLOW_HEADERS = "Authorization, Content-Type, Last-Event-ID, If-None-Match"
COMPAT_PATHS = ("/stream_setup", "/stream_qstats", "/stream_data")


def init_app(app: Flask) -> None:
    configured = [o.strip() for o in str(app.config["CORS_ORIGINS"] or "").split(",") if o.strip()]
    demo = bool(app.config["DEMO"])

    @app.after_request
    def add_cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if not origin:
            return response
        read_only = request.method in ("GET", "HEAD", "OPTIONS")
        if origin in configured:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.vary.add("Origin")
        elif "*" in configured or (demo and (read_only or request.path in COMPAT_PATHS)):
            response.headers["Access-Control-Allow-Origin"] = "*"
        else:
            return response
        response.headers["Access-Control-Expose-Headers"] = "ETag, X-Gridlight-Worker"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        return response
