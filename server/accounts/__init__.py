"""Accounts: people, their sessions, and their roles on households (issue #15, first step).

``Accounts(app)`` (one line in :func:`server.create_app`) resolves the installation's secret
(:mod:`server.accounts.secret`), sets up Flask-Login over a TLS-aware cookie session
(:mod:`server.accounts.sessions`), builds the stores on the app's database
(:mod:`server.accounts.users`, :mod:`server.accounts.members`) and registers the routes
(:mod:`server.accounts.views`). It also fills :mod:`server.auth`'s session hook
(``app.extensions["gridlight_sessions"]``), so that every household read and write check lets a
signed-in user through by role (viewer, member, owner) while keys keep working as before.

Modules: ``users`` (users, argon2id passwords, the email lookup hash), ``members`` (roles and
the audit log), ``tokens`` (signed email links), ``mail`` (verification and reset emails over
the alerts' SMTP channel), ``sessions`` (Flask-Login, CSRF, the hook), ``views`` (routes and
body models), ``keys`` (a household's API keys over HTTP, for its owners), ``cli`` (``python -m
server users add``), ``errors``, ``secret``.

OAuth 2.0 (:mod:`server.accounts.oauth`) fills :mod:`server.auth`'s second hook,
``app.extensions["gridlight_tokens"]``: access tokens act for their users with their scopes.
Sign-in, password reset and the token endpoint are rate limited (:mod:`server.limits`).

Later steps of issue #15 build on these seams: encryption at rest wraps the ``email``/``name`` columns
(lookups already go by keyed hash); consent, export and erasure read ``memberships`` and
``audit_log``.

Configuration: the accounts section of :mod:`server.config` (``SECRET_KEY``, ``SESSION_COOKIE_*``,
``ACCOUNTS_*``, ``ARGON2_*``) and the alerts' ``SMTP_*``.
"""

from __future__ import annotations

from flask import Flask

__all__ = ["Accounts"]


class Accounts:
    """Per-app state: ``app.extensions["accounts"]``."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        from server.accounts import keys as key_routes
        from server.accounts import privacy, views
        from server.accounts.mail import Mailer
        from server.accounts.members import AuditLog, Memberships
        from server.accounts.oauth import OAuth
        from server.accounts.secret import derive, load_secret
        from server.accounts.sessions import SessionHook, TlsAwareSessions, init_login
        from server.accounts.tokens import Tokens
        from server.accounts.users import Passwords, UserStore
        from server.auth import SESSIONS
        from server.limits import LIMITS

        cfg = app.config
        db = app.extensions["gridlight"].db
        secret = load_secret(cfg, shared_database=db.engine.dialect.name == "postgresql")
        app.secret_key = secret
        app.session_interface = TlsAwareSessions()
        keyring = app.extensions["gridlight"].keyring
        self.users = UserStore(db, derive(secret, "email-hash"), keyring)
        self.memberships = Memberships(db, keyring)
        self.audit = AuditLog(db)
        self.passwords = Passwords(
            time_cost=int(cfg["ARGON2_TIME_COST"]),
            memory_kib=int(cfg["ARGON2_MEMORY_KIB"]),
            parallelism=int(cfg["ARGON2_PARALLELISM"]),
        )
        self.tokens = Tokens(
            derive(secret, "email-links"),
            verify_ttl_s=float(cfg["ACCOUNTS_VERIFY_TTL_S"]),
            reset_ttl_s=float(cfg["ACCOUNTS_RESET_TTL_S"]),
        )
        self.mailer = Mailer(cfg)
        self.login = init_login(app)
        app.extensions["accounts"] = self
        app.extensions[SESSIONS] = SessionHook(self.memberships)
        app.register_blueprint(views.blueprint)
        limits = app.extensions.get(LIMITS)
        if limits is not None:  # brute force of passwords and reset links
            limits.limit_view("accounts.sign_in", "RATELIMIT_SIGN_IN")
            limits.limit_view("accounts.password_reset", "RATELIMIT_PASSWORD_RESET")
            limits.limit_view("accounts.password_reset_confirm", "RATELIMIT_PASSWORD_RESET")
        # OAuth 2.0: authorization server, consent page, auth's bearer-token hook
        self.oauth = OAuth(app, self.users, self.memberships)
        app.register_blueprint(key_routes.blueprint)  # a household's keys over HTTP (#21)
        app.register_blueprint(privacy.blueprint)
