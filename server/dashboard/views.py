"""Routes of the dashboard (:mod:`server.dashboard`).

=================================  ==========================================================
``/``                              the page (Jinja template; its configuration as JSON in it);
                                   signed out and not in demo mode: a redirect to the sign-in
``/dashboard/sign-in``             sign in (``?next=``: a same-origin path to go back to)
``/dashboard/sign-up``             create an account (a verification link is emailed)
``/dashboard/verify-email``        ``?token=``: the emailed link; posts the token, says how it went
``/dashboard/reset-password``      ask for a reset link; ``?token=``: choose the new password
``/dashboard/sign-out``            a button that ends the session
``/dashboard/static/<path>``       its scripts, styles and icons (Flask's blueprint static)
``/dashboard/vendor/plotly.min.js`` Plotly's JavaScript, from the ``plotly`` Python package
``/manifest.webmanifest``          the web manifest (installable app)
``/sw.js``                         the service worker: caches the shell, never the API
=================================  ==========================================================

The sign-in pages are forms over the accounts API (``static/js/auth.js``); they only render, and
never see a password. They send ``Referrer-Policy: no-referrer`` and ``Cache-Control: no-store``
(their URLs may carry an emailed token). ``next`` is kept only when it is a path of this site
(:func:`safe_next`): ``//evil.example`` or ``https://…`` fall back to ``/``.

The service worker sits at the root so that its scope is the whole site; its cache name carries
:data:`VERSION` (a hash of the static files and the template), so a new release replaces the
cached shell.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from urllib.parse import quote, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

__all__ = ["SHELL", "blueprint", "plotly_js", "safe_next", "signed_in", "version"]

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
    "js/settings.js",
    "js/auth.js",
    "js/push.js",
    "js/devices.js",
    "js/untracked.js",
    "js/estimates.js",
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


def safe_next(value: str | None) -> str:
    """``value`` when it is a path on this site (``/…``, no scheme, host, backslash or control
    character), else ``/``: an open redirect would lend the sign-in page to phishing."""
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def signed_in() -> bool:
    """Whether the request's session cookie signs someone in (the accounts extension's view;
    without it, nobody ever is)."""
    if "accounts" not in current_app.extensions:
        return False
    from server.accounts.sessions import signed_in as session_user

    return session_user() is not None


def _accounts() -> bool:
    return "accounts" in current_app.extensions


def index() -> Response | str:
    cfg = current_app.config
    if not cfg.get("DEMO") and _accounts() and not signed_in():
        here = request.full_path.rstrip("?")
        return redirect(f"{url_for('dashboard.sign_in')}?next={quote(here, safe='/')}")
    config = {
        "api": "/api/v1",
        "interval_s": INTERVAL_S,
        "demo": bool(cfg.get("DEMO")),
        "demo_households": list(cfg.get("DEMO_HOUSEHOLDS") or []),
        "plotly": url_for("dashboard.plotly"),
        "service_worker": url_for("dashboard.service_worker"),
        "version": version(),
        "accounts": _accounts(),
        "sign_in": url_for("dashboard.sign_in"),
        "sign_out": url_for("dashboard.sign_out"),
    }
    return render_template("dashboard/index.html", config=config)


#: Pages of the accounts: endpoint, URL, template.
PAGES = (
    ("sign_in", "/dashboard/sign-in", "sign_in.html"),
    ("sign_up", "/dashboard/sign-up", "sign_up.html"),
    ("verify_email", "/dashboard/verify-email", "verify_email.html"),
    ("reset_password", "/dashboard/reset-password", "reset_password.html"),
    ("sign_out", "/dashboard/sign-out", "sign_out.html"),
)


def _page(endpoint: str, template: str) -> Response:
    from server.accounts.views import PASSWORD_MIN

    cfg = current_app.config
    config = {
        "api": "/api/v1",
        "page": endpoint,
        "next": safe_next(request.args.get("next")),
        "has_token": bool(request.args.get("token")),
        "password_min": PASSWORD_MIN,
        "demo": bool(cfg.get("DEMO")),
        "sign_in": url_for("dashboard.sign_in"),
        "home": url_for("dashboard.index"),
    }
    body = render_template(f"dashboard/{template}", config=config, demo=config["demo"])
    response = Response(body, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


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
    for endpoint, url, template in PAGES:
        bp.add_url_rule(
            url,
            view_func=lambda e=endpoint, t=template: _page(e, t),
            endpoint=endpoint,
        )
    bp.add_url_rule("/manifest.webmanifest", view_func=manifest, endpoint="manifest")
    bp.add_url_rule("/sw.js", view_func=service_worker, endpoint="service_worker")
    bp.add_url_rule("/dashboard/vendor/plotly.min.js", view_func=plotly, endpoint="plotly")
    return bp
