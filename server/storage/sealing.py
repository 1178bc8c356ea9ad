"""Where personal values are sealed (:mod:`server.storage.crypto`), and the start-up pass that
seals what an older version stored in plaintext.

Each sealed column has one context, naming its table, column and row, so that a value copied
to another row does not open:

==========================  ============================================  =====================
column                      context                                        what
==========================  ============================================  =====================
``users.email``             ``users.email|<email_hash>``                  the sign-in email
``users.name``              ``users.name|<email_hash>``                   the name shown
``alert_settings.settings`` ``alert_settings.settings|<household>``       emails, phone
                                                                           numbers, webhook URL
                                                                           and secret (all of it)
``devices.token``           ``devices.token|<household>|<token_hash>``    FCM push token
``webpush_subscriptions``   ``webpush_subscriptions|<household>|<hash>``  a browser's push
``.endpoint``, ``.browser_keys``                                              endpoint (a capability
                                                                           URL) and its keys
==========================  ============================================  =====================

:func:`seal_plaintext_rows` runs when a worker's services start (and before a command that reads
these tables): rows not in the sealed format are sealed in place, each update conditional on the
row still holding the plaintext it read, so workers starting together do each row once. Push
tokens carried over by migration 0006 have ``token_hash = 'plain:' || token``; their real lookup
hash replaces it.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from server.storage.crypto import PREFIX, Keyring
from server.storage.database import Database

__all__ = [
    "TOKEN_INDEX",
    "email_context",
    "name_context",
    "seal_plaintext_rows",
    "settings_context",
    "token_context",
    "WEBPUSH_INDEX",
    "webpush_context",
]

log = logging.getLogger(__name__)

#: The purpose of push tokens' lookup hashes (:meth:`Keyring.index`).
TOKEN_INDEX = "devices.token"
#: The purpose of Web Push endpoints' lookup hashes.
WEBPUSH_INDEX = "webpush_subscriptions.endpoint"


def webpush_context(column: str, household: str, endpoint_hash: str) -> str:
    return f"webpush_subscriptions.{column}|{household}|{endpoint_hash}"


def email_context(email_hash: str) -> str:
    return f"users.email|{email_hash}"


def name_context(email_hash: str) -> str:
    return f"users.name|{email_hash}"


def settings_context(household: str) -> str:
    return f"alert_settings.settings|{household}"


def token_context(household: str, token_hash: str) -> str:
    return f"devices.token|{household}|{token_hash}"


def seal_plaintext_rows(db: Database, keyring: Keyring) -> int:
    """Seal every personal value still stored in plaintext; how many rows changed."""
    like = PREFIX + "%"
    with db.read() as c:  # the usual case: nothing to do, and no write lock taken for it
        pending = c.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM users WHERE email NOT LIKE :p OR name NOT LIKE :p)"
                " + (SELECT count(*) FROM alert_settings WHERE settings NOT LIKE :p)"
                " + (SELECT count(*) FROM devices WHERE token_hash LIKE 'plain:%')"
            ),
            {"p": like},
        ).scalar_one()
    if not pending:
        return 0
    changed = 0
    with db.write() as c:
        for uid, email_hash, email, name in c.execute(
            sa.text(
                "SELECT id, email_hash, email, name FROM users"
                " WHERE email NOT LIKE :p OR name NOT LIKE :p"
            ),
            {"p": like},
        ).all():
            new_email = (
                email
                if email.startswith(PREFIX)
                else keyring.seal(email, email_context(email_hash))
            )
            new_name = (
                name if name.startswith(PREFIX) else keyring.seal(name, name_context(email_hash))
            )
            changed += c.execute(
                sa.text(
                    "UPDATE users SET email = :e, name = :n"
                    " WHERE id = :id AND email = :old_e AND name = :old_n"
                ),
                {"e": new_email, "n": new_name, "id": uid, "old_e": email, "old_n": name},
            ).rowcount
        for household, settings in c.execute(
            sa.text("SELECT household, settings FROM alert_settings WHERE settings NOT LIKE :p"),
            {"p": like},
        ).all():
            changed += c.execute(
                sa.text(
                    "UPDATE alert_settings SET settings = :s"
                    " WHERE household = :h AND settings = :old"
                ),
                {
                    "s": keyring.seal(settings, settings_context(household)),
                    "h": household,
                    "old": settings,
                },
            ).rowcount
        for household, placeholder, token in c.execute(
            sa.text(
                "SELECT household, token_hash, token FROM devices WHERE token_hash LIKE 'plain:%'"
            )
        ).all():
            token_hash = keyring.index(token, TOKEN_INDEX)
            # the same token registered since under its real hash: keep that row
            c.execute(
                sa.text(
                    "DELETE FROM devices WHERE household = :h AND token_hash = :old"
                    " AND EXISTS (SELECT 1 FROM devices d WHERE d.household = :h"
                    " AND d.token_hash = :new)"
                ),
                {"h": household, "old": placeholder, "new": token_hash},
            )
            changed += c.execute(
                sa.text(
                    "UPDATE devices SET token_hash = :new, token = :sealed"
                    " WHERE household = :h AND token_hash = :old"
                ),
                {
                    "new": token_hash,
                    "sealed": keyring.seal(token, token_context(household, token_hash)),
                    "h": household,
                    "old": placeholder,
                },
            ).rowcount
    if changed:
        log.warning(
            "sealed %d rows of personal data stored in plaintext by an older version", changed
        )
    return changed
