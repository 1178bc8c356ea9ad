"""Compressed answers (Flask-Compress): JSON, HTML, JavaScript, CSS and the metrics text, in the
encoding the client asks for (zstd, Brotli or gzip).

Streams are never compressed: a compressor holds back what it is given until it has enough to
emit, and an event stream must reach the client as each event is written (``COMPRESS_STREAMS``
is off, and ``text/event-stream`` is not among the types). A response sent from a file is a
stream too, so files whose content cannot change while the process runs (the dashboard's
static files, Plotly's bundle) are registered with :func:`unchanging`: their complete ``200``
answers are read into memory, compressed once per process and encoding, and served from that
cache (Plotly's 4.8 MB take 0.1-0.6 s to compress, measured, which a worker must not spend on
every page load). Partial (``206``) and ``304`` answers pass unchanged.

Clients that do not ask for an encoding (``Accept-Encoding``) get the same bytes as before.
"""

from __future__ import annotations

from flask import Flask, Request, Response, current_app, request
from flask_compress import Compress

__all__ = ["MIMETYPES", "init_app", "unchanging"]

MIMETYPES = [
    "application/json",
    "application/manifest+json",
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "text/plain",  # /metrics (Prometheus asks for gzip)
    "image/svg+xml",
]
_ENDPOINTS = "gridlight_compression_cached"


class _UnchangingCache:
    """Flask-Compress's cache backend: keeps only the bodies of :func:`unchanging` endpoints
    (their keys are ``encoding;path``; every other answer's key ends with ``;`` and is
    compressed afresh, never kept)."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.bodies.get(key)

    def set(self, key: str, value: bytes) -> None:
        if not key.endswith(";"):
            self.bodies[key] = value


def _cache_key(req: Request) -> str:
    return req.path if req.endpoint in current_app.extensions[_ENDPOINTS] else ""


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["zstd", "br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config.setdefault("COMPRESS_CACHE_BACKEND", _UnchangingCache)
    app.config.setdefault("COMPRESS_CACHE_KEY", _cache_key)
    app.extensions[_ENDPOINTS] = set()
    app.extensions["compress"] = Compress(app)
    # after_request functions run last-registered first: this one before the compressor's
    app.after_request(_read_unchanging)


def unchanging(app: Flask, endpoint: str) -> None:
    """Compress ``endpoint``'s complete answers once per process and encoding (its files do not
    change while the process runs; the key is the request's path)."""
    app.extensions[_ENDPOINTS].add(endpoint)


def _read_unchanging(response: Response) -> Response:
    if (
        request.endpoint in current_app.extensions[_ENDPOINTS]
        and response.status_code == 200
        and response.is_streamed
        and request.accept_encodings
    ):
        source = response.response
        response.direct_passthrough = False
        response.make_sequence()  # the file's bytes, which the compressor can read
        if hasattr(source, "close"):
            source.close()  # read: the file is closed now, not when the answer is
    return response
