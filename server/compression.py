"""Compressed answers (Flask-Compress): JSON, JavaScript, CSS and the metrics text, in the
encoding the client asks for (zstd, Brotli or gzip).

Streams are never compressed: a compressor holds back what it is given until it has enough to
emit, and an event stream must reach the client as each event is written (``COMPRESS_STREAMS``
is off, and ``text/event-stream`` is not among the types). Pages (``text/html``) are not
compressed either: they carry the session's CSRF token, and some echo what a link put in their
address (the OAuth consent page), which is what a BREACH attack needs to read a secret from the
compressed sizes; a page is a few kilobytes.

A response sent from a file is a stream too, so files whose content cannot change while the
process runs (the dashboard's static files, Plotly's bundle) are registered with
:func:`unchanging`: their complete ``200`` answers are compressed once per process, file and
encoding and then served from memory (Plotly's 4.8 MB take 0.1-0.6 s to compress, measured,
which a worker must not spend on every page load). The cache is keyed by the file's ETag
(modification time, size and name, as ``send_file`` makes it), so the many spellings of one
path share an entry and an edited file gets a new one; it keeps at most
:data:`MAX_CACHED_BODIES`. Partial (``206``) and ``304`` answers pass unchanged.

Clients that do not ask for an encoding (``Accept-Encoding``) get the same bytes as before.
"""

from __future__ import annotations

from flask import Flask, Request, Response, current_app, g, request
from flask_compress import Compress

# the compressor's own choice of encoding (Flask-Compress is pinned), so that the cache is
# looked up for the very encoding it will use
from flask_compress.flask_compress import _choose_algorithm

__all__ = ["MAX_CACHED_BODIES", "MIMETYPES", "init_app", "unchanging"]

MIMETYPES = [
    "application/json",
    "application/manifest+json",
    "text/css",
    "text/javascript",
    "application/javascript",
    "text/plain",  # /metrics (Prometheus asks for gzip)
    "image/svg+xml",
]
#: Compressed bodies of unchanging files kept per process (files x encodings; beyond it, an
#: answer is compressed afresh). The dashboard has about 20 files.
MAX_CACHED_BODIES = 256
_ENDPOINTS = "gridlight_compression_cached"


class _UnchangingCache:
    """Flask-Compress's cache backend: keeps only the bodies of :func:`unchanging` files (keys
    ``encoding;etag``; every other answer's key ends with ``;`` and is compressed afresh, never
    kept), at most :data:`MAX_CACHED_BODIES` of them, never evicted."""

    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self.bodies.get(key)

    def set(self, key: str, value: bytes) -> None:
        if not key.endswith(";") and (key in self.bodies or len(self.bodies) < MAX_CACHED_BODIES):
            self.bodies[key] = value


def _cache_key(_req: Request) -> str:
    return g.get("unchanging_etag", "")


def init_app(app: Flask) -> None:
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["zstd", "br", "gzip"])
    app.config.setdefault("COMPRESS_STREAMS", False)
    app.config.setdefault("COMPRESS_CACHE_BACKEND", _UnchangingCache)
    app.config.setdefault("COMPRESS_CACHE_KEY", _cache_key)
    app.extensions[_ENDPOINTS] = set()
    app.extensions["compress"] = Compress(app)
    # after_request functions run last-registered first: this one before the compressor's
    app.after_request(_prepare_unchanging)


def unchanging(app: Flask, endpoint: str) -> None:
    """Compress ``endpoint``'s complete answers once per process, file and encoding (its files
    do not change while the process runs)."""
    app.extensions[_ENDPOINTS].add(endpoint)


def _prepare_unchanging(response: Response) -> Response:
    """An unchanging file's ``200`` that will be compressed: its body, read for the compressor
    (a client that asks for no encoding the server has gets the file sent as it is)."""
    if (
        request.endpoint not in current_app.extensions[_ENDPOINTS]
        or response.status_code != 200
        or not response.is_streamed
    ):
        return response
    compress: Compress = current_app.extensions["compress"]
    etag, _ = response.get_etag()
    algorithm = _choose_algorithm(
        compress.enabled_algorithms, request.headers.get("Accept-Encoding", "")
    )
    if (
        etag is None
        or algorithm is None
        or response.mimetype not in compress.compress_mimetypes_set
    ):
        return response  # sent from the file as it is
    g.unchanging_etag = etag
    source = response.response
    response.direct_passthrough = False
    try:
        # the file's bytes, which the compressor reads, or, once it has them compressed, does
        # not (reading 4.8 MB from the OS's page cache takes about 3 ms, measured; an empty
        # body instead would fall under the compressor's smallest size and go out empty)
        response.make_sequence()
    finally:
        if hasattr(source, "close"):
            source.close()  # the file is closed now, not when the answer is
    return response
