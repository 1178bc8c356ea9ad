"""A local stand-in for a browser vendor's push service (RFC 8030), on loopback.

``POST /push/{id}`` checks what a real push service checks: ``TTL`` present, ``Content-Encoding:
aes128gcm``, and the VAPID ``Authorization: vapid t=<JWT>, k=<public key>`` (RFC 8292): an ES256
JWT signed by ``k`` whose ``aud`` is this service's origin, with an ``exp`` within 24 h and a
``sub``. It then decrypts the body as the browser would (RFC 8291, ``http_ece`` with the
subscription's private key and auth secret) and records the JSON payload. :meth:`FakePushService.answer`
makes an id answer another status (410 Gone, 503, ...).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = ["Browser", "FakePushService"]


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Browser:
    """One browser's subscription: its key pair and auth secret, and the endpoint given it."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def subscription(self) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": _b64e(public), "auth": _b64e(self.auth)},
        }


class FakePushService:
    def __init__(self) -> None:
        self.browsers: dict[str, Browser] = {}
        self.received: list[tuple[str, dict]] = []
        self.refused: list[tuple[str, str]] = []
        self.answers: dict[str, int] = {}
        self.vapid_keys: set[str] = set()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakePushService:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def browser(self, name: str) -> Browser:
        found = self.browsers[name] = Browser(f"{self.origin}/push/{name}")
        return found

    def answer(self, name: str, status: int) -> None:
        self.answers[name] = status

    def payloads(self, name: str) -> list[dict]:
        with self._lock:
            return [p for n, p in self.received if n == name]

    # -- checks a push service makes ---------------------------------------------------------
    def _check_vapid(self, header: str) -> str | None:
        parts = dict(
            item.strip().split("=", 1) for item in header.removeprefix("vapid ").split(",")
        )
        token, key = parts.get("t"), parts.get("k")
        if not header.startswith("vapid ") or not token or not key:
            return "Authorization is not 'vapid t=…, k=…'"
        head, body, sig = token.split(".")
        if json.loads(_b64d(head)).get("alg") != "ES256":
            return "JWT alg is not ES256"
        raw = _b64d(sig)
        signature = encode_dss_signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        )
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64d(key))
        try:
            public.verify(signature, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return "VAPID signature does not verify"
        claims = json.loads(_b64d(body))
        if claims.get("aud") != self.origin:
            return f"aud {claims.get('aud')!r} is not {self.origin!r}"
        if not (time.time() < claims.get("exp", 0) <= time.time() + 86_400):
            return "exp is not within 24 h"
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            return "sub is not mailto: or https:"
        with self._lock:
            self.vapid_keys.add(key)
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                name = self.path.rsplit("/", 1)[-1]
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = service.answers.get(name)
                if status is not None:
                    return self._send(status)
                problem = None
                if self.headers.get("TTL") is None:
                    problem = "no TTL header"
                elif self.headers.get("Content-Encoding") != "aes128gcm":
                    problem = "Content-Encoding is not aes128gcm"
                else:
                    problem = service._check_vapid(self.headers.get("Authorization", ""))
                browser = service.browsers.get(name)
                if problem is None and browser is None:
                    return self._send(404)
                if problem is None:
                    try:
                        plain = http_ece.decrypt(
                            body, private_key=browser.key, auth_secret=browser.auth
                        )
                        payload = json.loads(plain)
                    except Exception as err:  # noqa: BLE001
                        problem = f"cannot decrypt: {err!r}"
                with service._lock:
                    if problem is not None:
                        service.refused.append((name, problem))
                    else:
                        service.received.append((name, payload))
                self._send(400 if problem else 201)

            def _send(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        return Handler
