"""``python -m server users add EMAIL --password-file F [--name N] [--owner-of H ...]``: add a
verified user (for admins, and for test runners such as newman that need someone to sign in).

The password is the first line of ``F`` (``-``: standard input), never an argument, which would
show in the process list and the shell's history. ``--owner-of H`` (repeatable) makes the user an
owner of the live household ``H`` (registered by ``python -m server households add H``), which
gives a household made on the command line its first owner. Every change is in the audit log
(``user_created``, ``email_verified``, ``member_added``, each with ``"by": "cli"``).

It works on the database the server uses (``GRIDLIGHT_DATABASE_URL``, else the SQLite file under
``--data-dir``) with the installation's secret (``GRIDLIGHT_SECRET_KEY``/``_FILE``, else
``DATA_DIR/secret_key``): the email lookup hash is keyed by it, so a user added with another
secret could not sign in.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from server import config
from server.accounts.members import AuditLog, Memberships
from server.accounts.secret import derive, load_secret
from server.accounts.users import Passwords, UserStore
from server.accounts.views import SignUp
from server.cli import CommandError
from server.errors import GridlightError
from server.storage import KeyStore, command_database
from server.storage.crypto import Keyring, load_master_keys
from server.validation import parse

__all__ = ["read_password", "register"]


def read_password(path: str) -> str:
    """The first line of ``path`` (``-``: standard input), without its line break."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CommandError(f"cannot read the password file {path!r}: {err}") from err
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise CommandError(f"the password file {path!r} is empty: put the password on line 1")
    return lines[0]


def _add(args: argparse.Namespace) -> int:
    overrides = {"DATA_DIR": args.data_dir} if args.data_dir else None
    cfg = config.load(overrides)
    password = read_password(args.password_file)
    name = args.name or args.email.partition("@")[0]
    try:
        body = parse(SignUp, {"email": args.email, "password": password, "name": name})
    except GridlightError as err:
        raise CommandError(err.message) from err
    owner_of = list(dict.fromkeys(args.owner_of or ()))
    db = command_database(cfg["DATA_DIR"])
    try:
        for household in owner_of:
            if KeyStore(db).get(household) is None:
                raise CommandError(
                    f"household {household!r} is not registered: add it first with "
                    f"'python -m server households add {household} --channels …'"
                )
        secret = load_secret(cfg, shared_database=db.engine.dialect.name == "postgresql")
        keyring = Keyring.load(db, load_master_keys(cfg))  # emails and names are sealed
        users = UserStore(db, derive(secret, "email-hash"), keyring)
        passwords = Passwords(
            time_cost=int(cfg["ARGON2_TIME_COST"]),
            memory_kib=int(cfg["ARGON2_MEMORY_KIB"]),
            parallelism=int(cfg["ARGON2_PARALLELISM"]),
        )
        audit, memberships = AuditLog(db), Memberships(db, keyring)
        try:
            user = users.create(body.email, body.name, passwords.hash(body.password))
        except GridlightError as err:  # the email has an account already
            raise CommandError(err.message) from err
        audit.record("user_created", user_id=user.id, detail={"by": "cli"})
        users.mark_verified(user.id)
        audit.record("email_verified", user_id=user.id, detail={"by": "cli"})
        for household in owner_of:
            memberships.add(household, user.id, "owner")
            audit.record(
                "member_added",
                household=household,
                detail={"member": user.id, "role": "owner", "by": "cli"},
            )
    finally:
        db.dispose()
    print(f"added verified user {user.id} <{user.email}> ({user.name})")
    for household in owner_of:
        print(f"owner of household {household}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    users = sub.add_parser("users", help="manage user accounts")
    usub = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = usub.add_parser("add", help="add a verified user (and make it an owner of households)")
    add.add_argument("email", help="the user's email address (their sign-in name)")
    add.add_argument(
        "--password-file",
        required=True,
        help="file whose first line is the password ('-': standard input)",
    )
    add.add_argument(
        "--name", help="the name shown to co-members (default: the email's local part)"
    )
    add.add_argument(
        "--owner-of",
        action="append",
        metavar="H",
        help="make the user an owner of live household H (repeat for several)",
    )
    add.add_argument("--data-dir", help="data directory (default: $GRIDLIGHT_DATA_DIR or data/)")
    add.set_defaults(func=_add)
