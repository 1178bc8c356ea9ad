"""Routes of the dashboard (:mod:`server.dashboard`).

=================================  ==========================================================
``/``                              the page (Jinja template; its configuration as JSON in it)
``/dashboard/static/<path>``       its scripts, styles and icons (Flask's blueprint static)
``/dashboard/vendor/plotly.min.js`` Plotly's JavaScript, from the ``plotly`` Python package
``/manifest.webmanifest``          the web manifest (installable app)
``/sw.js``                         the service worker: caches the shell, never the API
=================================  ==========================================================

The service worker sits at the root so that its scope is the whole site; its cache name carries
:data:`VERSION` (a hash of the static files and the template), so a new release replaces the
cached shell.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, send_file, url_for

__all__ = ["SHELL", "blueprint", "plotly_js", "version"]

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATE = HERE / "templates" / "dashboard" / "index.html"
#: The static files of the shell (cached by the service worker), relative to ``static/``.
SHELL = (
    "dashboard.css",
    "js/app.js",
    "js/api.js",
    "js/live.js",
    "js/charts.js",
    "js/sections.js",
    "js/format.js",
    "icon.svg",
    "icon-192.png",
    "icon-512.png",
)
#: The live tiles' averaging interval [s] (the stream's ``interval``; the statistics' too).
INTERVAL_S = 5
#: Seconds browsers may keep the static files (they are revalidated by ETag afterwards).
STATIC_MAX_AGE_S = 3600


@cache
def plotly_js() -> Path:
    """``plotly.min.js`` inside the installed ``plotly`` package (its offline bundle)."""
    import plotly

    path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise RuntimeError(f"plotly's offline JavaScript is missing: {path}")
    return path


@cache
def version() -> str:
    """A short hash of the shell (template and static files): the service worker's cache name."""
    digest = hashlib.sha256(TEMPLATE.read_bytes())
    for name in SHELL:
        digest.update(name.encode())
        digest.update((STATIC / name).read_bytes())
    return digest.hexdigest()[:12]


def _shell_urls() -> list[str]:
    urls = ["/", url_for("dashboard.manifest"), url_for("dashboard.plotly")]
    urls += [url_for("dashboard.static", filename=name) for name in SHELL]
    return urls


def index() -> str:
    cfg = current_app.config
    config = {
        "api": "/api/v1",
        "interval_s": INTERVAL_S,
        "demo": bool(cfg.get("DEMO")),
        "demo_households": list(cfg.get("DEMO_HOUSEHOLDS") or []),
        "plotly": url_for("dashboard.plotly"),
        "service_worker": url_for("dashboard.service_worker"),
        "version": version(),
    }
    return render_template("dashboard/index.html", config=config)


def manifest() -> Response:
    body = {
        "name": "Gridlight",
        "short_name": "Gridlight",
        "description": "Your home's electricity: live, history, forecast, cost and carbon.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#fafafa",
        "theme_color": "#1b5e20",
        "icons": [
            {
                "src": url_for("dashboard.static", filename="icon.svg"),
                "sizes": "any",
                "type": "image/svg+xml",
                "purpose": "any",
            },
            {
                "src": url_for("dashboard.static", filename="icon-192.png"),
                "sizes": "192x192",
                "type": "image/png",
            },
            {
                "src": url_for("dashboard.static", filename="icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
            },
        ],
    }
    return Response(json.dumps(body, indent=1), mimetype="application/manifest+json")


def service_worker() -> Response:
    body = render_template(
        "dashboard/sw.js", cache_name=f"gridlight-shell-{version()}", shell=_shell_urls()
    )
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"  # browsers check for a new worker each load
    response.headers["Service-Worker-Allowed"] = "/"
    return response


def plotly() -> Response:
    response = send_file(plotly_js(), mimetype="text/javascript", max_age=STATIC_MAX_AGE_S)
    return response


def blueprint() -> Blueprint:
    bp = Blueprint(
        "dashboard",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/dashboard/static",
    )
    bp.add_url_rule("/", view_func=index, endpoint="index")
    bp.add_url_rule("/manifest.webmanifest", view_func=manifest, endpoint="manifest")
    bp.add_url_rule("/sw.js", view_func=service_worker, endpoint="service_worker")
    bp.add_url_rule("/dashboard/vendor/plotly.min.js", view_func=plotly, endpoint="plotly")
    return bp
