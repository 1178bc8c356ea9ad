"""OAuth 2.0 clients, authorization codes and tokens in the installation's database.

Nothing secret is stored as given: client secrets, codes, access and refresh tokens are kept as
their sha256 (:func:`digest`; they are long random strings, so a plain hash is enough and a
lookup is one indexed equality). The objects handed to authlib implement its model mixins.

* An authorization code is taken once: :meth:`OAuthStore.take_code` deletes it and returns it in
  one statement, so two exchanges of the same code cannot both succeed.
* Every token row belongs to a refresh *family* (the id of the first token issued from the
  code). Refreshing rotates: :meth:`OAuthStore.rotate` marks the old row used (its access
  token stops working too) only if nobody did before; presenting a used refresh token again,
  or losing that race, revokes the whole family (:meth:`OAuthStore.revoke_family`), since only
  a copy of a stolen token is presented twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin, TokenMixin
from authlib.oauth2.rfc6749.util import list_to_scope, scope_to_list

from server.auth import SCOPES as SCOPE_NAMES
from server.storage.database import Database

__all__ = [
    "ACCESS_PREFIX",
    "REFRESH_PREFIX",
    "SCOPES",
    "Client",
    "Code",
    "OAuthStore",
    "Token",
    "digest",
]

#: The scopes (:data:`server.auth.SCOPES`, which the route checks ask for), and what each lets a
#: token do (shown on the consent page; the user's role on a household still applies).
SCOPES = dict(
    zip(
        SCOPE_NAMES,
        (
            "read your households' data: statistics, streams, history, alerts, reports",
            "change your households' settings: alerts, tariffs, devices' push tokens",
            "control your devices: commands, schedules and automations",
            "manage your households' members and roles, and read their audit logs",
        ),
        strict=True,
    )
)
#: Access and refresh tokens start with these, so that a bearer credential is told apart from a
#: household key (``gl_…``) without a lookup.
ACCESS_PREFIX = "glat_"
REFRESH_PREFIX = "glrt_"


def digest(value: str) -> str:
    """sha256 of ``value`` (hex): how secrets, codes and tokens are stored and found."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Client(ClientMixin):
    client_id: str
    name: str
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    scope: str
    created_s: int

    @property
    def public(self) -> bool:
        """A public client (an app on a phone) has no secret: PKCE with S256 is required."""
        return self.secret_hash is None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes this client may have (``read`` when none is asked for);
        ``None`` (invalid_scope) when none of them is allowed."""
        allowed = set(self.scope.split())
        requested = scope_to_list(scope) if scope else ["read"]
        granted = [s for s in dict.fromkeys(requested) if s in allowed]
        return list_to_scope(granted) if granted else None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(digest(client_secret), self.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.public:
            return method == "none"
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")

    def describe(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "type": "public" if self.public else "confidential",
            "redirect_uris": list(self.redirect_uris),
            "scope": self.scope,
        }


@dataclass(frozen=True)
class Code(AuthorizationCodeMixin):
    client_id: str
    user_id: int
    redirect_uri: str | None
    scope: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_s: int

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class Token(TokenMixin):
    id: int
    client_id: str
    user_id: int
    scope: str
    family: int
    issued_s: int
    access_expires_s: int
    refresh_expires_s: int | None
    revoked_s: int | None
    refresh_revoked_s: int | None
    now_s: float

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.access_expires_s - self.issued_s

    def is_expired(self) -> bool:
        return self.now_s >= self.access_expires_s

    def is_revoked(self) -> bool:
        return self.revoked_s is not None

    def refresh_usable(self) -> bool:
        return self.refresh_revoked_s is None and (
            self.refresh_expires_s is None or self.now_s < self.refresh_expires_s
        )

    def get_user(self) -> int:
        return self.user_id

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


_TOKEN_COLUMNS = (
    "id, client_id, user_id, scope, family, issued_s, access_expires_s, refresh_expires_s,"
    " revoked_s, refresh_revoked_s"
)


class OAuthStore:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.clock = clock

    # -- clients ----------------------------------------------------------------------------
    def add_client(
        self,
        name: str,
        redirect_uris: Sequence[str],
        *,
        public: bool,
        scope: str = " ".join(SCOPES),
    ) -> tuple[Client, str | None]:
        """Register a client; returns it and its secret (``None`` for a public client), which
        is shown once: only its sha256 is kept."""
        client_id = secrets.token_urlsafe(18)
        secret = None if public else secrets.token_urlsafe(32)
        with self.db.write() as c:
            c.execute(
                sa.text(
                    "INSERT INTO oauth_clients (client_id, name, secret_hash, redirect_uris,"
                    " scope, created_s) VALUES (:id, :name, :secret, :uris, :scope, :now)"
                ),
                {
                    "id": client_id,
                    "name": name,
                    "secret": None if secret is None else digest(secret),
                    "uris": json.dumps(list(redirect_uris)),
                    "scope": scope,
                    "now": int(self.clock()),
                },
            )
        client = self.client(client_id)
        assert client is not None
        return client, secret

    def client(self, client_id: str) -> Client | None:
        with self.db.read() as c:
            row = c.execute(
                sa.text(
                    "SELECT client_id, name, secret_hash, redirect_uris, scope, created_s"
                    " FROM oauth_clients WHERE client_id = :id"
                ),
                {"id": client_id},
            ).first()
        if row is None:
            return None
        return Client(row[0], row[1], row[2], tuple(json.loads(row[3])), row[4], int(row[5]))

    def clients(self) -> list[Client]:
        with self.db.read() as c:
            ids = c.execute(sa.text("SELECT client_id FROM oauth_clients ORDER BY created_s"))
            found = [str(r[0]) for r in ids]
        return [x for x in (self.client(i) for i in found) if x is not None]

    def remove_client(self, client_id: str) -> bool:
        """Remove a client with its codes and tokens."""
        with self.db.write() as c:
            c.execute(sa.text("DELETE FROM oauth_tokens WHERE client_id = :id"), {"id": client_id})
            c.execute(sa.text("DELETE FROM oauth_codes WHERE client_id = :id"), {"id": client_id})
            done = c.execute(
                sa.text("DELETE FROM oauth_clients WHERE client_id = :id"), {"id": client_id}
            )
        return bool(done.rowcount)

    # -- authorization codes ----------------------------------------------------------------
    def save_code(
        self,
        code: str,
        *,
        client_id: str,
        user_id: int,
        redirect_uri: str | None,
        scope: str,
        code_challenge: str | None,
        code_challenge_method: str | None,
        ttl_s: float,
    ) -> None:
        now = self.clock()
        with self.db.write() as c:
            c.execute(sa.text("DELETE FROM oauth_codes WHERE expires_s <= :now"), {"now": now})
            c.execute(
                sa.text(
                    "INSERT INTO oauth_codes (code_hash, client_id, user_id, redirect_uri, scope,"
                    " code_challenge, code_challenge_method, expires_s) VALUES (:h, :client,"
                    " :user, :uri, :scope, :challenge, :method, :expires)"
                ),
                {
                    "h": digest(code),
                    "client": client_id,
                    "user": user_id,
                    "uri": redirect_uri,
                    "scope": scope,
                    "challenge": code_challenge,
                    "method": code_challenge_method,
                    "expires": int(now + ttl_s),
                },
            )

    def take_code(self, code: str, client_id: str) -> Code | None:
        """The code issued to ``client_id``, deleted in the same statement (a code works
        once); ``None`` when unknown, used, another client's, or expired."""
        with self.db.write() as c:
            row = c.execute(
                sa.text(
                    "DELETE FROM oauth_codes WHERE code_hash = :h AND client_id = :client"
                    " RETURNING client_id, user_id, redirect_uri, scope, code_challenge,"
                    " code_challenge_method, expires_s"
                ),
                {"h": digest(code), "client": client_id},
            ).first()
        if row is None or self.clock() >= row[6]:
            return None
        return Code(row[0], int(row[1]), row[2], row[3], row[4], row[5], int(row[6]))

    # -- tokens -----------------------------------------------------------------------------
    def save_token(
        self,
        token: dict[str, Any],
        *,
        client_id: str,
        user_id: int,
        family: int | None,
        refresh_ttl_s: float,
    ) -> int:
        """Store an issued token (authlib's dict: access_token, expires_in, scope, and
        refresh_token); ``family``: the chain it continues, ``None`` to start one."""
        now = int(self.clock())
        refresh = token.get("refresh_token")
        with self.db.write() as c:
            # rows that can no longer do anything: access and refresh both expired
            c.execute(
                sa.text(
                    "DELETE FROM oauth_tokens WHERE access_expires_s <= :now AND"
                    " (refresh_expires_s IS NULL OR refresh_expires_s <= :now)"
                ),
                {"now": now},
            )
            row = c.execute(
                sa.text(
                    "INSERT INTO oauth_tokens (access_hash, refresh_hash, client_id, user_id,"
                    " scope, family, issued_s, access_expires_s, refresh_expires_s) VALUES"
                    " (:access, :refresh, :client, :user, :scope, :family, :now, :expires,"
                    " :refresh_expires) RETURNING id"
                ),
                {
                    "access": digest(token["access_token"]),
                    "refresh": None if refresh is None else digest(refresh),
                    "client": client_id,
                    "user": user_id,
                    "scope": token.get("scope") or "",
                    "family": family,
                    "now": now,
                    "expires": now + int(token["expires_in"]),
                    "refresh_expires": None if refresh is None else int(now + refresh_ttl_s),
                },
            ).first()
            assert row is not None
            token_id = int(row[0])
            if family is None:
                c.execute(
                    sa.text("UPDATE oauth_tokens SET family = id WHERE id = :id"), {"id": token_id}
                )
        return token_id

    def _token(self, column: str, value: str) -> Token | None:
        with self.db.read() as c:
            row = c.execute(
                sa.text(f"SELECT {_TOKEN_COLUMNS} FROM oauth_tokens WHERE {column} = :h"),
                {"h": digest(value)},
            ).first()
        if row is None:
            return None
        return Token(
            int(row[0]),
            row[1],
            int(row[2]),
            row[3],
            int(row[4]),
            int(row[5]),
            int(row[6]),
            None if row[7] is None else int(row[7]),
            None if row[8] is None else int(row[8]),
            None if row[9] is None else int(row[9]),
            self.clock(),
        )

    def by_access(self, access_token: str) -> Token | None:
        return self._token("access_hash", access_token)

    def by_refresh(self, refresh_token: str) -> Token | None:
        return self._token("refresh_hash", refresh_token)

    def rotate(self, token_id: int) -> bool:
        """Mark a refresh token used and its access token revoked; ``False`` when it was used
        or revoked already (a concurrent refresh won)."""
        now = int(self.clock())
        with self.db.write() as c:
            done = c.execute(
                sa.text(
                    "UPDATE oauth_tokens SET refresh_revoked_s = :now,"
                    " revoked_s = COALESCE(revoked_s, :now)"
                    " WHERE id = :id AND refresh_revoked_s IS NULL"
                ),
                {"now": now, "id": token_id},
            )
        return done.rowcount == 1

    def revoke(self, token_id: int) -> None:
        """Revoke an access token alone (its refresh token keeps working, RFC 7009 §2.1)."""
        with self.db.write() as c:
            c.execute(
                sa.text(
                    "UPDATE oauth_tokens SET revoked_s = COALESCE(revoked_s, :now) WHERE id = :id"
                ),
                {"now": int(self.clock()), "id": token_id},
            )

    def revoke_user(self, user_id: int) -> int:
        """Revoke every token of a user (their password changed); returns the rows changed."""
        now = int(self.clock())
        with self.db.write() as c:
            done = c.execute(
                sa.text(
                    "UPDATE oauth_tokens SET revoked_s = COALESCE(revoked_s, :now),"
                    " refresh_revoked_s = COALESCE(refresh_revoked_s, :now)"
                    " WHERE user_id = :user AND (revoked_s IS NULL OR refresh_revoked_s IS NULL)"
                ),
                {"now": now, "user": user_id},
            )
        return int(done.rowcount)

    def revoke_family(self, family: int) -> int:
        """Revoke every access and refresh token of a chain; returns how many rows changed."""
        now = int(self.clock())
        with self.db.write() as c:
            done = c.execute(
                sa.text(
                    "UPDATE oauth_tokens SET revoked_s = COALESCE(revoked_s, :now),"
                    " refresh_revoked_s = COALESCE(refresh_revoked_s, :now)"
                    " WHERE family = :family AND (revoked_s IS NULL OR refresh_revoked_s IS NULL)"
                ),
                {"now": now, "family": family},
            )
        return int(done.rowcount)
