"""Compressed answers (server.compression): JSON and the dashboard's scripts in the encoding the
client asks for, the same bytes once decoded; Plotly's bundle compressed once per process;
partial and conditional answers intact; event streams never compressed (served for real: a
compressor holding back the events would be seen only on a socket)."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator

import brotli
import pytest
import requests
from backports import zstd
from flask import Flask
from werkzeug.serving import make_server

from server.compression import _UnchangingCache
from server.dashboard.views import plotly_js

DECODE = {"gzip": gzip.decompress, "br": brotli.decompress, "zstd": zstd.decompress}
PLOTLY = "/dashboard/vendor/plotly.min.js"


def _cache(app: Flask) -> _UnchangingCache:
    return app.extensions["compress"].cache


@pytest.mark.parametrize("encoding", ["zstd", "br", "gzip"])
def test_json_answers_come_in_the_asked_encoding_and_decode_to_the_same_bytes(
    client, encoding: str
) -> None:
    plain = client.get("/api/v1/households/A/stats?interval=5")
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    assert len(plain.data) > 500  # above the smallest size worth compressing
    packed = client.get(
        "/api/v1/households/A/stats?interval=5",
        headers={"Accept-Encoding": f"{encoding}, identity;q=0.5"},
    )
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
    assert DECODE[encoding](packed.data) == plain.data


def test_small_answers_and_clients_asking_for_nothing_are_left_as_they_are(client) -> None:
    r = client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and "Content-Encoding" not in r.headers  # under 500 bytes
    r = client.get("/api/v1/households", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and "Content-Encoding" not in r.headers


def _plain_etag(client, path: str) -> str:  # noqa: ANN001
    with client.get(path) as plain:  # a file: closed when read
        return plain.get_etag()[0]


def test_plotly_is_compressed_once_per_process_file_and_encoding(app: Flask, client) -> None:
    raw = plotly_js().read_bytes()
    cache = _cache(app)
    assert not cache.bodies
    tag = _plain_etag(client, PLOTLY)
    first = client.get(PLOTLY, headers={"Accept-Encoding": "br"})
    assert first.headers["Content-Encoding"] == "br"
    assert brotli.decompress(first.data) == raw
    assert len(first.data) < len(raw) / 3
    assert list(cache.bodies) == [f"br;{tag}"]
    kept = cache.bodies[f"br;{tag}"]
    second = client.get(PLOTLY, headers={"Accept-Encoding": "br"})
    assert second.data == first.data and cache.bodies[f"br;{tag}"] is kept  # not again
    gz = client.get(PLOTLY, headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(gz.data) == raw
    assert sorted(cache.bodies) == [f"br;{tag}", f"gzip;{tag}"]
    # the dashboard's own scripts too, one entry per file however its path is spelled; JSON
    # answers are never kept
    script_tag = _plain_etag(client, "/dashboard/static/js/app.js")
    for path in ("/dashboard/static/js/app.js", "/dashboard/static/js/./app.js"):
        script = client.get(path, headers={"Accept-Encoding": "zstd"})
        assert script.headers["Content-Encoding"] == "zstd"
        with client.get("/dashboard/static/js/app.js") as plain:
            assert zstd.decompress(script.data) == plain.data
    client.get("/api/v1/households/A/stats?interval=5", headers={"Accept-Encoding": "gzip"})
    assert sorted(cache.bodies) == sorted([f"br;{tag}", f"gzip;{tag}", f"zstd;{script_tag}"])


def test_the_cache_is_bounded(app: Flask, client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("server.compression.MAX_CACHED_BODIES", 1)
    cache = _cache(app)
    for name in ("app.js", "api.js"):
        r = client.get(f"/dashboard/static/js/{name}", headers={"Accept-Encoding": "gzip"})
        with client.get(f"/dashboard/static/js/{name}") as plain:
            assert gzip.decompress(r.data) == plain.data  # compressed, kept or not
    assert len(cache.bodies) == 1


def test_pages_are_not_compressed(client) -> None:
    """A page carries the session's CSRF token; some echo their address (BREACH)."""
    r = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.mimetype == "text/html" and len(r.data) > 500
    assert "Content-Encoding" not in r.headers


def test_conditional_and_partial_answers_stay_correct(client) -> None:
    first = client.get(PLOTLY, headers={"Accept-Encoding": "gzip"})
    etag = first.headers["ETag"]
    assert etag.endswith(':gzip"')  # the compressed representation's own validator
    again = client.get(PLOTLY, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304 and not again.data
    part = client.get(PLOTLY, headers={"Accept-Encoding": "gzip", "Range": "bytes=0-99"})
    assert part.status_code == 206 and "Content-Encoding" not in part.headers
    assert part.data == plotly_js().read_bytes()[:100]
    part.close()


@pytest.fixture
def base(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def test_event_streams_are_never_compressed(base: str) -> None:
    with requests.get(
        f"{base}/api/v1/households/A/stream?interval=1&start_index=0&speed=1000&limit=3",
        headers={"Accept-Encoding": "zstd, br, gzip"},
        stream=True,
        timeout=(5, 30),
    ) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        assert "Content-Encoding" not in r.headers
        body = r.raw.read(decode_content=False).decode()  # the bytes on the wire
    assert body.count("event: reading") == 3
