"""Local servers speaking the protocols of the alert channels, on loopback: SMTP (aiosmtpd),
Twilio's Messages API and a webhook receiver. Each records what it got and can be told to fail."""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = ["HttpStandIn", "SmtpServer", "twilio", "webhook_receiver"]

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")


class _Handler:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        self.messages.append(envelope)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 (its PEM path, the CA a client trusts) and a server context."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return cert_path, context


class SmtpServer:
    """aiosmtpd on 127.0.0.1 with AUTH (user ``alerts``, password ``s3cret``) allowed in clear."""

    def __init__(self, tls_context: ssl.SSLContext | None = None) -> None:
        self.handler = _Handler()

        def auth(server, session, envelope, mechanism, data):  # noqa: ANN001, ANN202
            ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
                b"alerts",
                b"s3cret",
            )
            return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535

        self.controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=_free_port(),
            authenticator=auth,
            auth_require_tls=tls_context is not None,
            tls_context=tls_context,
            require_starttls=tls_context is not None,
        )

    @property
    def messages(self) -> list[Any]:
        return self.handler.messages

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        self.port = self.controller.port
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@dataclass
class HttpStandIn:
    """Records requests; answers ``status`` (a list is consumed one answer per request)."""

    handle: Any
    requests: list[dict] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self, default: int) -> int:
        with self.lock:
            return self.answers.pop(0) if self.answers else default


def _serve(stand_in: HttpStandIn) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, body = stand_in.handle(stand_in, self.path, dict(self.headers), raw)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    stand_in.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    return httpd, thread


class served:  # noqa: N801 - a context manager used like a function
    def __init__(self, stand_in: HttpStandIn) -> None:
        self.stand_in = stand_in

    def __enter__(self) -> HttpStandIn:
        self.httpd, self.thread = _serve(self.stand_in)
        return self.stand_in

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


SID, TOKEN = "AC" + "0" * 32, "twilio-token"


def _twilio(stand_in: HttpStandIn, path: str, headers: dict, raw: bytes) -> tuple[int, dict]:
    match = _MESSAGES.match(path)
    if match is None:
        return 404, {
            "code": 20404,
            "message": "The requested resource was not found",
            "status": 404,
        }
    expected = "Basic " + base64.b64encode(f"{match.group(1)}:{TOKEN}".encode()).decode()
    if match.group(1) != SID or headers.get("Authorization") != expected:
        return 401, {"code": 20003, "message": "Authenticate", "status": 401}
    if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return 400, {"code": 21000, "message": "form-encoded body expected", "status": 400}
    form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
    for name in ("To", "From", "Body"):
        if not form.get(name):
            return 400, {"code": 21604, "message": f"A '{name}' is required", "status": 400}
    stand_in.requests.append(form)
    status = stand_in.next_status(201)
    if status != 201:
        return status, {"code": 20500, "message": "Internal Server Error", "status": status}
    return 201, {"sid": "SM" + "1" * 32, "status": "queued", "to": form["To"], "body": form["Body"]}


def twilio() -> served:
    return served(HttpStandIn(_twilio))


def _hook(stand_in: HttpStandIn, path: str, headers: dict, raw: bytes) -> tuple[int, dict]:
    stand_in.requests.append({"path": path, "headers": headers, "body": raw})
    status = stand_in.next_status(200)
    return status, {"ok": status == 200}


def webhook_receiver() -> served:
    return served(HttpStandIn(_hook))
