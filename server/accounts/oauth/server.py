"""The authorization server: authlib's Flask ``AuthorizationServer`` with its grants and
endpoints bound to :class:`~server.accounts.oauth.store.OAuthStore`.

* Authorization code (RFC 6749 §4.1) with PKCE (RFC 7636): ``S256`` only, and required of public
  clients (they have no secret; the code verifier is what proves the token request comes from
  the app that asked). Codes live ``OAUTH_CODE_TTL_S`` and work once.
* Refresh tokens (§6), rotated at each use; reuse of a rotated one revokes its family.
* Revocation (RFC 7009) of access or refresh tokens; a refresh token takes its family with it.
* :func:`metadata` is the RFC 8414 document.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Payload, FlaskOAuth2Request
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request, grants
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from flask import Flask, Request
from flask import request as flask_request

from server.accounts.oauth.store import ACCESS_PREFIX, REFRESH_PREFIX, SCOPES, OAuthStore, Token
from server.errors import ServiceUnavailable

__all__ = ["build_server", "metadata"]

log = logging.getLogger(__name__)
#: Client authentication at the token and revocation endpoints: a confidential client's secret
#: (HTTP Basic or in the form), or none for a public client (PKCE proves it instead).
AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


class S256Challenge(CodeChallenge):
    """PKCE with ``S256`` only (``plain`` gives nothing against an eavesdropper), required of
    public clients at the authorization endpoint already."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if grant.request.client.public and not data.get("code_challenge"):
            raise InvalidRequestError(
                "a public client must send PKCE: code_challenge (and code_challenge_method=S256)"
            )
        if data.get("code_challenge") and data.get("code_challenge_method", "S256") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)


def _store(grant: Any) -> OAuthStore:
    return grant.server.store


class CodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def save_authorization_code(self, code: str, request: Any) -> None:
        data = request.payload.data
        _store(self).save_code(
            code,
            client_id=request.client.client_id,
            user_id=request.user.id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            code_challenge=data.get("code_challenge"),
            code_challenge_method=data.get("code_challenge_method", "S256")
            if data.get("code_challenge")
            else None,
            ttl_s=self.server.code_ttl_s,
        )

    def query_authorization_code(self, code: str, client: Any) -> Any:
        return _store(self).take_code(code, client.client_id)

    def delete_authorization_code(self, authorization_code: Any) -> None:
        """Nothing to do: :meth:`query_authorization_code` took the code already."""

    def authenticate_user(self, authorization_code: Any) -> Any:
        return self.server.users.get(authorization_code.user_id)


class RotatingRefreshGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        store = _store(self)
        token = store.by_refresh(refresh_token)
        if token is None:
            return None
        if token.refresh_revoked_s is not None:
            # a used (rotated) or revoked refresh token presented again: a copy is in other
            # hands, so nothing of this chain may be trusted any more
            revoked = store.revoke_family(token.family)
            log.warning(
                "oauth: a used refresh token of client %s was presented again; its family of "
                "tokens is revoked (%d changed)",
                token.client_id,
                revoked,
            )
            return None
        return token if token.refresh_usable() else None

    def authenticate_user(self, refresh_token: Token) -> Any:
        return self.server.users.get(refresh_token.user_id)

    def revoke_old_credential(self, refresh_token: Token) -> None:
        store = _store(self)
        if not store.rotate(refresh_token.id):  # a concurrent refresh used it first
            store.revoke_family(refresh_token.family)


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        store: OAuthStore = self.server.store
        if token_type_hint == "refresh_token":
            return store.by_refresh(token_string) or store.by_access(token_string)
        return store.by_access(token_string) or store.by_refresh(token_string)

    def revoke_token(self, token: Token, request: Any) -> None:
        store: OAuthStore = self.server.store
        raw = request.form["token"]
        if raw.startswith(REFRESH_PREFIX):
            store.revoke_family(token.family)  # RFC 7009 §2.1: and the access tokens it made
        else:
            store.revoke(token.id)


def public_url(request: Request) -> str:
    """The URL the client used: ``https`` when the proxy in front says so
    (``X-Forwarded-Proto``), since authlib refuses plain ``http`` away from loopback."""
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    url = request.url
    if forwarded == "https" and url.startswith("http://"):
        url = "https://" + url[len("http://") :]
    return url


class _Request(FlaskOAuth2Request):
    def __init__(self, request: Request) -> None:
        OAuth2Request.__init__(
            self, method=request.method, uri=public_url(request), headers=request.headers
        )
        self._request = request
        self.payload = FlaskOAuth2Payload(request)


class GridlightAuthorizationServer(AuthorizationServer):
    store: OAuthStore
    users: Any
    code_ttl_s: float
    refresh_ttl_s: float

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        return _Request(flask_request)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        previous: Token | None = request.refresh_token
        self.store.save_token(
            token,
            client_id=request.client.client_id,
            user_id=request.user.id,
            family=None if previous is None else previous.family,
            refresh_ttl_s=self.refresh_ttl_s,
        )


def _access_token(*_: Any, **__: Any) -> str:
    return ACCESS_PREFIX + secrets.token_urlsafe(32)


def _refresh_token(*_: Any, **__: Any) -> str:
    return REFRESH_PREFIX + secrets.token_urlsafe(48)


def build_server(app: Flask, store: OAuthStore, users: Any) -> GridlightAuthorizationServer:
    cfg = app.config
    server = GridlightAuthorizationServer()
    server.init_app(app, query_client=store.client)
    server.store, server.users = store, users
    server.code_ttl_s = float(cfg["OAUTH_CODE_TTL_S"])
    server.refresh_ttl_s = float(cfg["OAUTH_REFRESH_TTL_S"])
    server.scopes_supported = list(SCOPES)
    access_ttl_s = int(cfg["OAUTH_ACCESS_TTL_S"])
    server.register_token_generator(
        "default",
        BearerTokenGenerator(_access_token, _refresh_token, lambda client, grant: access_ttl_s),
    )
    server.register_grant(CodeGrant, [S256Challenge(required=True)])
    server.register_grant(RotatingRefreshGrant)
    server.register_endpoint(Revocation)
    return server


def metadata(issuer: str) -> dict[str, Any]:
    """The RFC 8414 document of the server at ``issuer`` (validated by authlib)."""
    doc = AuthorizationServerMetadata(
        {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "token_endpoint": f"{issuer}/oauth/token",
            "revocation_endpoint": f"{issuer}/oauth/revoke",
            "scopes_supported": list(SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "code_challenge_methods_supported": ["S256"],
            "service_documentation": f"{issuer}/openapi.json",
        }
    )
    try:
        doc.validate()
    except ValueError as err:  # an issuer on plain http away from loopback
        raise ServiceUnavailable(
            f"OAuth 2.0 needs HTTPS here ({err}): serve over TLS, or set OAUTH_ISSUER to the "
            "https origin of the proxy in front"
        ) from None
    return dict(doc)
