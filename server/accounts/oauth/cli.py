"""``python -m server oauth-clients add NAME --redirect-uri URI [--public]`` (and ``list``,
``remove CLIENT_ID``): register the apps that may ask users for access.

A confidential client (a web server that can keep a secret) gets a secret, printed once (only
its sha256 is kept); a public client (``--public``: the Android app, a single-page app) has none
and must use PKCE with S256. Redirect URIs are matched exactly: ``https://…``, ``http://`` on
loopback only (``127.0.0.1``, ``[::1]``, ``localhost``: RFC 8252 §7.3), or an app's own scheme
(``org.example.app:/oauth``, RFC 8252 §7.1). Works on ``GRIDLIGHT_DATABASE_URL`` when set, else
on the SQLite file under ``--data-dir``.
"""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from server.accounts.oauth.store import SCOPES, OAuthStore
from server.cli import CommandError
from server.storage.database import command_database

__all__ = ["check_redirect_uri", "register"]

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def check_redirect_uri(uri: str) -> str:
    """``uri`` if it can be a redirect URI, else :class:`CommandError` saying why."""
    try:
        parts = urlsplit(uri)
    except ValueError as err:
        raise CommandError(f"--redirect-uri {uri!r} is not a URI: {err}") from None
    if not parts.scheme:
        raise CommandError(f"--redirect-uri {uri!r} must be absolute (https://host/path)")
    if parts.fragment or "#" in uri:
        raise CommandError(f"--redirect-uri {uri!r} must not have a #fragment (RFC 6749 §3.1.2)")
    if any(ch.isspace() for ch in uri):
        raise CommandError(f"--redirect-uri {uri!r} must not contain spaces")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise CommandError(
            f"--redirect-uri {uri!r}: plain http is only for loopback (127.0.0.1, [::1], "
            "localhost); use https"
        )
    if parts.scheme in ("http", "https") and not parts.hostname:
        raise CommandError(f"--redirect-uri {uri!r} needs a host")
    return uri


def _scope(raw: str) -> str:
    scopes = raw.replace(",", " ").split()
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        raise CommandError(
            f"--scope {raw!r}: expected some of {', '.join(SCOPES)}"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    return " ".join(dict.fromkeys(scopes))


def _add(args: argparse.Namespace) -> int:
    name = args.name.strip()
    if not name or len(name) > 100 or any(ord(ch) < 32 for ch in name):
        raise CommandError(f"NAME {args.name!r}: 1 to 100 characters, no control characters")
    uris = [check_redirect_uri(u) for u in args.redirect_uri]
    scope = _scope(args.scope)
    db = command_database(args.data_dir)
    try:
        client, secret = OAuthStore(db).add_client(name, uris, public=args.public, scope=scope)
    finally:
        db.dispose()
    kind = "public (PKCE with S256, no secret)" if secret is None else "confidential"
    print(f"registered OAuth client {client.name!r}: {kind}; scopes {client.scope}")
    print(f"redirect URIs: {' '.join(client.redirect_uris)}")
    print(f"client_id: {client.client_id}")
    if secret is not None:
        print("client_secret (shown once; only its hash is kept):")
        print(secret)
    return 0


def _list(args: argparse.Namespace) -> int:
    db = command_database(args.data_dir)
    try:
        clients = OAuthStore(db).clients()
    finally:
        db.dispose()
    for client in clients:
        d = client.describe()
        print(
            f"{d['client_id']}\t{d['type']}\t{d['name']}\t{d['scope']}\t"
            + " ".join(d["redirect_uris"])
        )
    if not clients:
        print("no OAuth clients (python -m server oauth-clients add NAME --redirect-uri URI)")
    return 0


def _remove(args: argparse.Namespace) -> int:
    db = command_database(args.data_dir)
    try:
        removed = OAuthStore(db).remove_client(args.client_id)
    finally:
        db.dispose()
    if not removed:
        raise CommandError(
            f"no OAuth client {args.client_id!r} (python -m server oauth-clients list)"
        )
    print(f"removed OAuth client {args.client_id} and its tokens")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    data_dir_help = "data directory (default: $GRIDLIGHT_DATA_DIR or data/)"
    parser = sub.add_parser("oauth-clients", help="register OAuth 2.0 clients (apps)")
    csub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = csub.add_parser("add", help="register a client; prints its id (and secret once)")
    add.add_argument("name", help="the app's name, shown on the consent page")
    add.add_argument(
        "--redirect-uri",
        required=True,
        action="append",
        help="where the user is sent back with the code (repeat for several; matched exactly)",
    )
    add.add_argument(
        "--public",
        action="store_true",
        help="a public client (phone or browser app): no secret, PKCE S256 required",
    )
    add.add_argument(
        "--scope",
        default=" ".join(SCOPES),
        help=f"scopes it may ask for (default: {' '.join(SCOPES)})",
    )
    add.add_argument("--data-dir", help=data_dir_help)
    add.set_defaults(func=_add)
    ls = csub.add_parser("list", help="list the registered clients")
    ls.add_argument("--data-dir", help=data_dir_help)
    ls.set_defaults(func=_list)
    rm = csub.add_parser("remove", help="remove a client and revoke its tokens")
    rm.add_argument("client_id")
    rm.add_argument("--data-dir", help=data_dir_help)
    rm.set_defaults(func=_remove)
