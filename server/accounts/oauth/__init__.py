"""OAuth 2.0 authorization server (issue #15): authorization code with PKCE, rotating refresh
tokens, revocation, RFC 8414 metadata, a consent screen, and the bearer-token hook through
which :mod:`server.auth` lets access tokens act for their users.

Modules: ``store`` (clients, codes and tokens, stored as sha256), ``server`` (authlib's grants
and endpoints), ``views`` (routes and the consent page), ``cli``
(``python -m server oauth-clients add|list|remove``).

Wired by :class:`server.accounts.Accounts`: ``OAuth(app, users, memberships)`` registers the
routes, fills ``app.extensions["gridlight_tokens"]`` and limits the token endpoint
(``RATELIMIT_TOKEN``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from server.accounts.oauth.store import ACCESS_PREFIX, SCOPES, OAuthStore

__all__ = ["SCOPES", "OAuth", "TokenHook"]


class TokenHook:
    """:class:`server.auth.TokenAccess` over the token store and the memberships."""

    def __init__(self, store: OAuthStore, users: Any, memberships: Any) -> None:
        self.store, self.users, self.memberships = store, users, memberships

    def recognises(self, credential: str) -> bool:
        return credential.startswith(ACCESS_PREFIX)

    def principal(self, credential: str) -> Any:
        from server.auth import BearerPrincipal

        token = self.store.by_access(credential)
        if token is None or token.is_expired() or token.is_revoked():
            return None
        return BearerPrincipal(f"user:{token.user_id}", token.scopes)

    def role(self, actor: str, household: str) -> str | None:
        kind, _, user_id = actor.partition(":")
        if kind != "user" or not user_id.isdigit():
            return None
        return self.memberships.role(household, int(user_id))


class OAuth:
    """Per-app state: ``app.extensions["oauth"]`` (``store``, ``server``)."""

    def __init__(self, app: Flask, users: Any, memberships: Any) -> None:
        from server.accounts.oauth import views
        from server.accounts.oauth.server import build_server
        from server.auth import TOKENS
        from server.limits import LIMITS

        db = app.extensions["gridlight"].db
        self.store = OAuthStore(db)
        self.server = build_server(app, self.store, users)
        app.extensions["oauth"] = self
        app.extensions[TOKENS] = TokenHook(self.store, users, memberships)
        app.register_blueprint(views.blueprint)
        limits = app.extensions.get(LIMITS)
        if limits is not None:
            limits.limit_view("oauth.token", "RATELIMIT_TOKEN")
            limits.limit_view("oauth.revoke", "RATELIMIT_TOKEN")
