"""A local stand-in for Google's OAuth token endpoint and the FCM HTTP v1 API, on loopback.

* ``POST /token`` — the service account's ``token_uri``: takes google-auth's JWT-bearer grant,
  verifies the assertion's RS256 signature with the public half of the key the test generated,
  and its claims (issuer, audience, scope, expiry); answers an access token.
* ``POST /v1/projects/{project}/messages:send`` — checks the bearer token is one it issued and the
  message's shape as FCM does (one target, string data values, known priorities, ``ttl`` like
  ``"3600s"``); records the message; answers per token: 200, or the error set with
  :meth:`FakeFcm.answer` (404 UNREGISTERED, 400 INVALID_ARGUMENT about the token, 503, ...).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = ["FakeFcm", "service_account"]

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
PROJECT = "gridlight-test"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
_SEND = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
_TTL = re.compile(r"^\d+(\.\d{1,9})?s$")


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _error(code: int, status: str, message: str, **extra: Any) -> dict:
    details: list[dict] = []
    if "error_code" in extra:
        details.append(
            {
                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                "errorCode": extra["error_code"],
            }
        )
    if "field" in extra:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "fieldViolations": [{"field": extra["field"], "description": message}],
            }
        )
    return {"error": {"code": code, "message": message, "status": status, "details": details}}


ANSWERS = {
    "unregistered": (
        404,
        _error(404, "NOT_FOUND", "Requested entity was not found.", error_code="UNREGISTERED"),
    ),
    "invalid_token": (
        400,
        _error(
            400,
            "INVALID_ARGUMENT",
            "The registration token is not a valid FCM registration token",
            error_code="INVALID_ARGUMENT",
            field="message.token",
        ),
    ),
    "unavailable": (503, _error(503, "UNAVAILABLE", "The service is currently unavailable.")),
}


@dataclass
class FakeFcm:
    """The server and what it saw. ``url`` is the FCM base URL (``GRIDLIGHT_FCM_BASE_URL``)."""

    public_key: Any
    client_email: str
    token_uri: str = ""
    url: str = ""
    credentials: Path | None = None  # the service-account JSON (GOOGLE_APPLICATION_CREDENTIALS)
    messages: list[dict] = field(default_factory=list)  # accepted messages
    requests: list[dict] = field(default_factory=list)  # every send request, with its answer
    tokens_issued: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # shape or auth errors it answered
    answers: dict[str, str] = field(default_factory=dict)  # device token -> answer name
    retry_after_s: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, device_token: str, kind: str) -> None:
        if kind not in ANSWERS:
            raise ValueError(f"unknown answer {kind!r}: expected one of {sorted(ANSWERS)}")
        self.answers[device_token] = kind

    def messages_to(self, device_token: str) -> list[dict]:
        with self.lock:
            return [m for m in self.messages if m.get("token") == device_token]

    # -- the OAuth token endpoint -------------------------------------------------------------
    def grant(self, form: dict[str, list[str]]) -> tuple[int, dict]:
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {"error": "unsupported_grant_type"}
        try:
            header_b64, claims_b64, sig_b64 = form["assertion"][0].split(".")
            header = json.loads(_b64decode(header_b64))
            claims = json.loads(_b64decode(claims_b64))
            if header.get("alg") != "RS256":
                raise ValueError(f"alg {header.get('alg')!r}")
            self.public_key.verify(
                _b64decode(sig_b64),
                f"{header_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (KeyError, ValueError, InvalidSignature) as err:
            self.problems.append(f"bad assertion: {type(err).__name__} {err}")
            return 400, {"error": "invalid_grant", "error_description": "bad assertion"}
        now = time.time()
        checks = {
            "iss": claims.get("iss") == self.client_email,
            # google-auth addresses the assertion to Google's endpoint whatever token_uri is
            "aud": claims.get("aud") in (GOOGLE_TOKEN_URI, self.token_uri),
            "scope": SCOPE in str(claims.get("scope", "")).split(),
            "exp": claims.get("exp", 0) > now and claims.get("iat", now + 1) <= now + 60,
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            self.problems.append(f"bad claims: {failed}")
            return 400, {"error": "invalid_grant", "error_description": f"bad {failed}"}
        token = "ya29.test-" + secrets.token_urlsafe(16)
        with self.lock:
            self.tokens_issued.append(token)
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    # -- FCM v1 --------------------------------------------------------------------------------
    def shape_problems(self, body: Any) -> list[str]:
        if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
            return ["body must be {'message': {...}}"]
        msg = body["message"]
        out = []
        targets = [k for k in ("token", "topic", "condition") if k in msg]
        if targets != ["token"]:
            out.append(f"exactly one target 'token' expected, got {targets}")
        data = msg.get("data")
        if data is not None and (
            not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values())
        ):
            out.append("data values must be strings")
        if "notification" in msg and not msg["notification"]:
            out.append("empty notification")
        android = msg.get("android")
        if android is not None:
            if android.get("priority") not in (None, "normal", "high"):
                out.append(f"android.priority {android.get('priority')!r}")
            if "ttl" in android and not _TTL.match(str(android["ttl"])):
                out.append(f"android.ttl {android['ttl']!r}")
        return out

    def send(self, project: str, auth: str | None, raw: bytes) -> tuple[int, dict, dict]:
        headers: dict[str, str] = {}
        bearer = (auth or "").removeprefix("Bearer ")
        if not auth or bearer not in self.tokens_issued:
            self.problems.append("send without a valid access token")
            return 401, _error(401, "UNAUTHENTICATED", "Request had invalid credentials."), headers
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        problems = self.shape_problems(body)
        if project != PROJECT:
            problems.append(f"project {project!r}")
        if problems:
            self.problems.extend(problems)
            return 400, _error(400, "INVALID_ARGUMENT", "; ".join(problems)), headers
        msg = body["message"]
        kind = self.answers.get(msg["token"])
        with self.lock:
            self.requests.append({"message": msg, "answer": kind or "ok"})
            if kind is None:
                self.messages.append(msg)
        if kind is not None:
            status, payload = ANSWERS[kind]
            if kind == "unavailable" and self.retry_after_s is not None:
                headers["Retry-After"] = str(self.retry_after_s)
            return status, payload, headers
        name = f"projects/{project}/messages/{len(self.messages)}"
        return 200, {"name": name}, headers


def _handler(fake: FakeFcm) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on keep-alive

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            pass

        def _reply(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/token":
                status, body = fake.grant(parse_qs(raw.decode()))
                self._reply(status, body)
                return
            match = _SEND.match(self.path)
            if match is None:
                self._reply(404, _error(404, "NOT_FOUND", f"no route {self.path}"))
                return
            status, body, headers = fake.send(match[1], self.headers.get("Authorization"), raw)
            self._reply(status, body, headers)

    return Handler


def service_account(directory: Path, token_uri: str) -> tuple[Path, Any, str]:
    """Write a service-account JSON with a fresh RSA key; ``(path, public key, client_email)``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    email = f"pusher@{PROJECT}.iam.gserviceaccount.com"
    info = {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem,
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }
    path = directory / "service-account.json"
    path.write_text(json.dumps(info))
    return path, key.public_key(), email


class FakeFcmServer:
    """Serves a :class:`FakeFcm` in a thread on 127.0.0.1; a context manager."""

    def __init__(self, directory: Path) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
        self.httpd.daemon_threads = True
        base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.credentials, public_key, email = service_account(directory, base + "/token")
        self.fake = FakeFcm(
            public_key, email, token_uri=base + "/token", url=base, credentials=self.credentials
        )
        self.httpd.RequestHandlerClass = _handler(self.fake)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeFcm:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
