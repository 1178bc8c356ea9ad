"""An app with accounts (demo mode off, so households need credentials), its emails caught by
the local SMTP stand-in, and helpers that sign people up, in and out through the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from server import create_app
from tests.server.alerts.servers import SmtpServer

PASSWORD = "correct horse battery"
#: cheap argon2id parameters: the hashes are still argon2id, tests just do not wait for them
FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 64, "ARGON2_PARALLELISM": 1}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


def make_app(data_dir: Path, stats_cache_dir: Path, smtp: SmtpServer, **extra: Any):  # noqa: ANN201
    return create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(data_dir),
            "STATS_CACHE_DIR": str(stats_cache_dir),
            "REDIS_URL": None,
            "DEMO": False,
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "SECRET_KEY": "test-secret-" + "x" * 32,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": smtp.port,
            "SMTP_FROM": "accounts@gridlight.test",
            "ACCOUNTS_BASE_URL": "https://gridlight.test",
            **FAST_ARGON2,
            **extra,
        }
    )


@pytest.fixture
def app(server_data_dir: Path, stats_cache_dir: Path, smtp: SmtpServer) -> Iterator:
    app = make_app(server_data_dir, stats_cache_dir, smtp)
    yield app
    app.extensions["gridlight"].stop()


def last_mail(smtp: SmtpServer, to: str):  # noqa: ANN201
    """The newest email sent to ``to`` (parsed)."""
    for envelope in reversed(smtp.messages):
        if to in envelope.rcpt_tos:
            return message_from_bytes(envelope.content, policy=policy.default)
    raise AssertionError(f"no email to {to}: {[e.rcpt_tos for e in smtp.messages]}")


def token_in(mail: Any) -> str:
    """The ``token=…`` of the link in an email."""
    link = re.search(r"https://gridlight\.test/\S+", mail.get_content())
    assert link is not None, mail.get_content()
    return parse_qs(urlsplit(link[0]).query)["token"][0]


class Person:
    """A browser: its own cookie jar, signed in as one user."""

    def __init__(self, client: FlaskClient, email: str, user: dict, csrf: str) -> None:
        self.client, self.email, self.user, self.csrf = client, email, user, csrf

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}

    def get(self, url: str, **kw: Any):  # noqa: ANN201
        return self.client.get(url, **kw)

    def write(self, method: str, url: str, **kw: Any):  # noqa: ANN201
        headers = {**self.headers(), **kw.pop("headers", {})}
        return self.client.open(url, method=method, headers=headers, **kw)


def sign_up(app, smtp: SmtpServer, email: str, name: str = "Someone") -> str:  # noqa: ANN001
    """Sign up and verify ``email``; returns its verification token."""
    client = app.test_client()
    r = client.post("/api/v1/users", json={"email": email, "password": PASSWORD, "name": name})
    assert r.status_code == 201, r.json
    token = token_in(last_mail(smtp, email))
    assert client.post("/api/v1/users/verify", json={"token": token}).status_code == 200
    return token


def sign_in(app, email: str, password: str = PASSWORD) -> Person:  # noqa: ANN001
    client = app.test_client()
    r = client.post("/api/v1/session", json={"email": email, "password": password})
    assert r.status_code == 200, r.json
    return Person(client, email, r.json["user"], r.json["csrf_token"])


def person(app, smtp: SmtpServer, email: str, name: str = "Someone") -> Person:  # noqa: ANN001
    sign_up(app, smtp, email, name)
    return sign_in(app, email)


def create_household(owner: Person, household: str) -> str:
    """Create ``household`` (channels Overall and Geyser) as ``owner``; returns its key."""
    r = owner.write(
        "POST",
        "/api/v1/households",
        json={
            "id": household,
            "name": f"Home {household}",
            "timezone": "Europe/Paris",
            "channels": ["Overall", "Geyser"],
        },
    )
    assert r.status_code == 201, r.json
    return r.json["key"]
