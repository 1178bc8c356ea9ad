"""Direct socket writes of live events (server.streaming.direct): the framing, when they apply, and how a
stream behaves when its client reads slowly, stops reading or leaves (under gevent, in a
subprocess: see direct_scenarios.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gunicorn import util as gunicorn_util

from server.streaming import direct
from server.streaming.direct import SocketWriter, chunk, socket_writer

ROOT = Path(__file__).resolve().parents[3]


class Captured:
    def __init__(self) -> None:
        self.data = b""

    def sendall(self, data: bytes) -> None:
        self.data += data


@pytest.mark.parametrize("payload", [b"x", b"data: 1\n\n" * 300, "é".encode()])
def test_chunk_is_what_gunicorn_writes(payload):
    sock = Captured()
    gunicorn_util.write_chunk(sock, payload)
    assert chunk(payload) == sock.data
    assert SocketWriter(sock, chunked=True).frame(payload) == sock.data
    assert SocketWriter(sock, chunked=False).frame(payload) == payload


def test_nothing_is_framed_as_nothing_not_as_the_end_of_the_body():
    # gunicorn's Response.write skips empty writes: an empty chunk would end the response
    assert SocketWriter(Captured(), chunked=True).frame(b"") == b""


def environ(**overrides: object) -> dict:
    env = {
        "gunicorn.socket": Captured(),
        "SERVER_SOFTWARE": "gunicorn/27.0.1",
        "REQUEST_METHOD": "GET",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v is not None}


class TLSSocket(Captured):
    def send(self, data: bytes) -> int:
        return len(data)

    def cipher(self) -> tuple:
        return ("TLS_AES_128_GCM_SHA256", "TLSv1.3", 128)


class PlainSocket(Captured):
    def send(self, data: bytes) -> int:
        return len(data)


def test_socket_writer_only_for_plain_http1_gets_on_gunicorn_under_gevent(monkeypatch):
    sock = PlainSocket()
    monkeypatch.setattr(direct, "ENABLED", True)
    assert socket_writer(environ(**{"gunicorn.socket": sock})) is None  # not gevent's socket
    monkeypatch.setattr(direct, "_gevent_socket", lambda s: True)
    writer = socket_writer(environ(**{"gunicorn.socket": sock}))
    assert writer is not None and writer.sock is sock and writer.chunked
    http10 = socket_writer(environ(**{"gunicorn.socket": sock, "SERVER_PROTOCOL": "HTTP/1.0"}))
    assert http10 is not None and not http10.chunked
    # TLS ended by a proxy in front: still direct
    assert socket_writer(environ(**{"gunicorn.socket": sock, "wsgi.url_scheme": "https"}))
    for reason in (
        {"gunicorn.socket": None},  # another server
        {"SERVER_SOFTWARE": "Werkzeug/3.1"},
        {"SERVER_SOFTWARE": "gevent/26.9 gunicorn/27.0.1"},  # the gevent_pywsgi worker
        {"REQUEST_METHOD": "HEAD"},  # gunicorn sends no body
        {"SERVER_PROTOCOL": "HTTP/2.0"},
        {"gunicorn.socket": TLSSocket()},  # gunicorn's own TLS
    ):
        overrides = {"gunicorn.socket": sock, **reason}
        assert socket_writer(environ(**overrides)) is None, reason
    monkeypatch.setattr(direct, "ENABLED", False)  # not turned on by the gunicorn config
    assert socket_writer(environ(**{"gunicorn.socket": sock})) is None


class Cfg:
    def __init__(self, protocol: str = "http", is_ssl: bool = False) -> None:
        self.protocol = protocol
        self.is_ssl = is_ssl


def test_enabled_by_the_gunicorn_config_only_where_framing_matches(monkeypatch):
    monkeypatch.setattr(direct, "ENABLED", False)
    assert direct.enable_for(Cfg()) and direct.ENABLED
    assert not direct.enable_for(Cfg(protocol="uwsgi"))  # gunicorn never chunks uwsgi bodies
    assert not direct.enable_for(Cfg(is_ssl=True))
    assert not direct.ENABLED


def test_the_gunicorn_config_turns_direct_writes_on_in_each_worker(monkeypatch):
    import runpy

    monkeypatch.setattr(direct, "ENABLED", False)
    conf = runpy.run_path(str(ROOT / "docker" / "gunicorn.conf.py"))

    class Worker:
        cfg = Cfg()

    conf["post_worker_init"](Worker())
    assert direct.ENABLED


def scenario(name: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "tests.server.streaming.direct_scenarios", name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_slow_reader_gets_every_event_in_order_and_the_channel_writes_directly_again():
    result = scenario("slow_reader_catches_up")
    assert result["fell_back"] and result["queued"] > 0  # the socket filled; the rest queued
    assert result["starts"] == list(range(1, 221))  # none lost, none repeated, in order
    assert result["complete"]  # valid chunked framing through to the closing chunk
    assert result["dropped"] == 0
    assert result["sent"] == 220


def test_stalled_reader_is_dropped_and_its_stream_ends():
    result = scenario("stalled_reader_is_dropped")
    assert result["dropped"] == 1 and result["subscribers"] == 0 and result["connected"] == 0
    starts, n = result["starts"], len(result["starts"])
    assert starts == list(range(1, n + 1)) and n < 200  # what it got is in order, then cut
    assert not result["complete"]  # no closing chunk: the client sees the connection drop


def test_departed_client_ends_its_stream_without_counting_a_slow_client():
    result = scenario("departed_client_ends_the_stream")
    assert result == {"subscribers": 0, "dropped": 0, "connected": 0}


def test_resumed_stream_is_not_repeated_when_the_channel_lags_behind_its_catch_up():
    result = scenario("resumed_stream_is_not_repeated_by_a_lagging_channel")
    assert not result["direct_while_behind"]
    assert result["starts"] == list(range(3, 16)) and result["complete"]
