"""The baseline of ``bench_sse.py``: a minimal Flask app streaming with Flask-SSE.

Flask-SSE (``flask_sse.sse``) is the widely used Redis-backed SSE extension for Flask: each
client's request subscribes its own Redis pub/sub connection to a channel (here one channel per
household) and relays what is published there; it keeps no history, so a reconnecting client
cannot resume. Served the same way as Gridlight::

    REDIS_URL=redis://127.0.0.1:6379/0 gunicorn -k gevent -w 2 --chdir benchmarks/sse_baseline \
        'app:create_app()'

and fed by ``publish.py`` (``sse.publish`` inside an app context). ``GET /stream?channel=A``.
flask-sse 1.0.0 imports and runs unchanged on Flask 3.1 and redis-py 8.1; no shim is needed.
"""

from __future__ import annotations

import os

from flask import Flask
from flask_sse import sse

__all__ = ["create_app"]


def create_app() -> Flask:
    """The baseline app: Flask-SSE's blueprint at ``/stream``, Redis from ``REDIS_URL``."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        raise RuntimeError("REDIS_URL is not set; the Flask-SSE baseline needs Redis")
    app = Flask(__name__)
    app.config["REDIS_URL"] = redis_url
    app.register_blueprint(sse, url_prefix="/stream")
    return app
