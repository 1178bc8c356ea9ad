"""Writing live events straight to the client's socket, from the loop that emits them.

Served by gunicorn's gevent worker, an event delivered the ordinary way costs, per client, a
greenlet wake-up, a pass through the WSGI layers (Flask's ``stream_with_context``, Werkzeug's
response iterator, gunicorn's ``Response.write``) and a send: about 45 µs, which at 5,000 clients
a worker is over 200 ms per event. Instead, once a live stream has caught up, its
:class:`~server.streaming.hub.Channel` frames each event once — as the HTTP/1.1 chunk gunicorn would have
written — and hands the same bytes to every caught-up client's socket with a non-blocking send.
The stream's greenlet sleeps until something needs it:

* the socket took only part of the bytes (its client reads slowly): the rest is queued as
  :class:`Raw` and the stream writes its queue itself, cooperatively, until it is empty, then
  lets the channel write directly again; a client whose queue fills up is dropped and its socket
  shut down, so a stream blocked on a client that stopped reading ends too;
* the send failed (the client left): the stream ends;
* the hub stopped.

The hand-over needs no lock because it only happens in a gevent-patched process, where the emit
loop and the streams' greenlets share one OS thread and neither switches between checking and
setting a subscriber's mode. It is turned on by Gridlight's gunicorn configuration
(:func:`enable_for`); elsewhere (the development server, tests with real threads, HTTP/2, TLS,
``--protocol uwsgi``, ``HEAD``) :func:`socket_writer` gives ``None`` and streams write through
WSGI as before.
gunicorn's access log counts only the bytes that went through WSGI (the stream's first block).
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ENABLED", "Raw", "SocketWriter", "chunk", "enable_for", "socket_writer"]


class Raw(bytes):
    """Bytes already framed for the wire: what a non-blocking send left of an event."""


def chunk(payload: bytes) -> bytes:
    """``payload`` as one HTTP/1.1 chunk, byte for byte what gunicorn writes for it."""
    return b"%X\r\n%s\r\n" % (len(payload), payload)


@dataclass(slots=True, eq=False)
class SocketWriter:
    """One client's socket, written around WSGI; ``chunked`` as gunicorn frames the response."""

    sock: Any  # gevent's socket
    chunked: bool

    def frame(self, payload: bytes) -> bytes:
        """``payload`` on the wire; nothing for nothing (an empty chunk would end the body)."""
        if not payload:
            return b""
        return chunk(payload) if self.chunked else payload

    def send_some(self, data: bytes) -> int:
        """Bytes of ``data`` the socket took without waiting (maybe 0); raises ``OSError`` if
        the client is gone."""
        try:
            return self.sock.send(data, 0, timeout=0.0)
        except BlockingIOError:
            return 0

    def send_all(self, data: bytes) -> None:
        """All of ``data``; waits cooperatively (other greenlets run meanwhile)."""
        self.sock.sendall(data)

    def abort(self) -> None:
        """Shut the connection down (a dropped client): a ``send_all`` blocked on it fails."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already gone


#: Set by gunicorn's ``post_worker_init`` hook in Gridlight's configuration
#: (``docker/gunicorn.conf.py``) when the worker frames responses as this module does: plain
#: HTTP (not ``--protocol uwsgi``, whose bodies are never chunked) without gunicorn's own TLS.
#: Under any other server or configuration streams write through WSGI.
ENABLED = False


def enable_for(cfg: Any) -> bool:
    """Turn direct writes on for a gunicorn worker whose configuration ``cfg`` allows them."""
    global ENABLED
    ENABLED = getattr(cfg, "protocol", "http") == "http" and not getattr(cfg, "is_ssl", False)
    return ENABLED


def _gevent_socket(sock: Any) -> bool:
    """A gevent socket in a process whose sockets and threads gevent patched (the hand-over
    between emit loop and stream greenlet relies on both sharing one OS thread)."""
    from gevent import monkey
    from gevent.socket import socket as gevent_socket

    patched = monkey.is_module_patched("socket") and monkey.is_module_patched("threading")
    return bool(patched) and isinstance(sock, gevent_socket)


def socket_writer(environ: Mapping[str, Any]) -> SocketWriter | None:
    """A :class:`SocketWriter` for this request if its events may bypass WSGI, else ``None``.

    Yes only where :data:`ENABLED`, for a plain-HTTP/1.x ``GET`` served by gunicorn in a
    gevent-patched worker (TLS ended by a proxy in front is fine; gunicorn's own TLS and HTTP/2
    are not): there the response is chunked exactly when the protocol is HTTP/1.1 (a stream has
    no Content-Length), and the socket is gevent's.
    """
    if not ENABLED:
        return None
    sock = environ.get("gunicorn.socket")
    if sock is None or not str(environ.get("SERVER_SOFTWARE", "")).startswith("gunicorn"):
        return None
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    protocol = environ.get("SERVER_PROTOCOL")
    if protocol not in ("HTTP/1.1", "HTTP/1.0") or hasattr(sock, "cipher"):  # cipher: TLS
        return None
    if not _gevent_socket(sock):
        return None
    return SocketWriter(sock, chunked=protocol == "HTTP/1.1")
