"""The dashboard's routes with Flask's test client: the page at ``/``, its static files and
Plotly, the manifest, the service worker; the API's routes unchanged."""

from __future__ import annotations

import json
import re

from PIL import Image

from server.dashboard import views


def got(client, url: str, **kwargs):  # noqa: ANN001, ANN003, ANN201
    """``client.get`` with the file it may send closed (send_file responses stream a file)."""
    r = client.get(url, **kwargs)
    r.get_data()
    r.close()
    return r


def config_of(html: str) -> dict:
    return json.loads(html.split('id="config">', 1)[1].split("</script>", 1)[0])


def test_root_serves_the_page(client):
    r = got(client, "/")
    assert r.status_code == 200 and r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    cfg = config_of(html)
    assert cfg["api"] == "/api/v1" and cfg["interval_s"] == 5
    assert cfg["demo"] is True and cfg["demo_households"] == ["A"]
    assert cfg["plotly"] == "/dashboard/vendor/plotly.min.js"
    assert cfg["version"] == views.version()
    for section in ("live", "history", "forecast", "money", "alerts", "tips", "devices", "reports"):
        assert f'<section id="{section}"' in html
    assert 'rel="manifest" href="/manifest.webmanifest"' in html
    assert "cdn" not in html.lower()  # everything is served by the app


def test_create_app_loads_the_dashboard_by_its_entry_point(make_app):
    """Nothing in server/ imports the dashboard: ``create_app`` finds it in the
    ``gridlight.extensions`` entry-point group, and ``GET /`` is its page."""
    from importlib.metadata import entry_points

    from server import create_app

    names = {e.name: e.value for e in entry_points(group="gridlight.extensions")}
    assert names["dashboard"] == "server.dashboard:Dashboard"
    app = make_app()
    plain = create_app({**app.config, "TESTING": True})
    try:
        r = got(plain.test_client(), "/")
        assert r.status_code == 200 and r.mimetype == "text/html"
        unknown = got(plain.test_client(), "/no-such-page")
        assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
    finally:
        plain.extensions["gridlight"].stop()


def test_api_routes_are_unchanged(client):
    assert got(client, "/api/v1/households").get_json()["households"][0]["id"] == "A"
    r = got(client, "/api/v1/nothing-here")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert got(client, "/openapi.json").status_code == 200


def test_static_files_and_plotly(client):
    for name in views.SHELL:
        r = got(client, f"/dashboard/static/{name}")
        assert r.status_code == 200, name
    assert got(client, "/dashboard/static/js/app.js").mimetype == "text/javascript"
    r = got(client, "/dashboard/vendor/plotly.min.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.headers["Cache-Control"] == f"public, max-age={views.STATIC_MAX_AGE_S}"
    body = r.get_data()
    assert len(body) == views.plotly_js().stat().st_size > 1_000_000
    assert b"plotly.js" in body[:2000]
    etag = r.headers["ETag"]
    again = got(client, "/dashboard/vendor/plotly.min.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_every_module_the_page_imports_is_in_the_shell():
    static = views.STATIC
    shell = set(views.SHELL)
    for path in (static / "js").glob("*.js"):
        assert f"js/{path.name}" in shell, path.name
        for imported in re.findall(r'from "\./([a-z]+\.js)"', path.read_text()):
            assert f"js/{imported}" in shell, (path.name, imported)


def test_manifest(client):
    r = got(client, "/manifest.webmanifest")
    assert r.status_code == 200 and r.mimetype == "application/manifest+json"
    manifest = r.get_json(force=True)
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = {icon["sizes"]: icon for icon in manifest["icons"]}
    assert set(sizes) == {"any", "192x192", "512x512"}
    for size in ("192x192", "512x512"):
        icon = got(client, sizes[size]["src"])
        assert icon.status_code == 200 and icon.mimetype == "image/png"
        path = views.STATIC / sizes[size]["src"].rsplit("/", 1)[1]
        with Image.open(path) as image:
            assert f"{image.width}x{image.height}" == size
    svg = got(client, sizes["any"]["src"])
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.get_data()


def test_service_worker_caches_the_shell_never_the_api(client):
    r = got(client, "/sw.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.headers["Service-Worker-Allowed"] == "/"
    assert r.headers["Cache-Control"] == "no-cache"
    text = r.get_data(as_text=True)
    assert f'const CACHE = "gridlight-shell-{views.version()}";' in text
    shell = json.loads(text.split("const SHELL = ", 1)[1].split(";\n", 1)[0])
    assert "/" in shell and "/dashboard/vendor/plotly.min.js" in shell
    assert "/manifest.webmanifest" in shell
    assert {f"/dashboard/static/{name}" for name in views.SHELL} <= set(shell)
    assert not [url for url in shell if url.startswith("/api/")]
    for url in shell:  # every cached URL exists (cache.addAll fails on any miss)
        assert got(client, url).status_code == 200, url
