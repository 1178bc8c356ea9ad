"""``python -m server households add H --channels AC,Geyser,Overall [--timezone Z]`` and
``python -m server keys create H [--label L]``: register live households and issue their API
keys (owners also manage keys over HTTP: ``/api/v1/households/{h}/keys``);
``python -m server keys new-master`` and ``keys rotate-master`` (:mod:`server.storage.masterkeys`).

The key is printed alone on the last line (it is shown once; only its hash is stored). They work
on ``GRIDLIGHT_DATABASE_URL`` when set (a deployment's PostgreSQL), else on the SQLite file under
``--data-dir``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager

from server.cli import CommandError
from server.storage.database import command_database
from server.storage.keys import KeyStore, RegistryError


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[KeyStore]:
    """The key store of the database the command works on (GRIDLIGHT_DATABASE_URL, else the
    SQLite file under ``--data-dir``); a refused request is a :class:`CommandError`."""
    db = command_database(args.data_dir)
    try:
        yield KeyStore(db)
    except RegistryError as err:
        raise CommandError(str(err)) from err
    finally:
        db.dispose()


def _add(args: argparse.Namespace) -> int:
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    with _store(args) as keys:
        info, key = keys.add_household(
            args.household, channels, timezone=args.timezone, name=args.name
        )
    print(f"registered household {info.id} ({', '.join(info.channels)}; {info.timezone})")
    print("API key (shown once; send it as 'Authorization: Bearer <key>'):")
    print(key)
    return 0


def _consent(args: argparse.Namespace) -> int:
    from server import config
    from server.storage.consent import PURPOSES, ConsentStore

    choices = {p: True for p in args.give or []} | {p: False for p in args.withdraw or []}
    both = set(args.give or []) & set(args.withdraw or [])
    if both:
        raise CommandError(f"both given and withdrawn: {', '.join(sorted(both))}")
    db = command_database(args.data_dir)
    try:
        if KeyStore(db).get(args.household) is None:
            raise CommandError(f"unknown household {args.household!r}")
        store = ConsentStore(db, version=str(config.load()["CONSENT_VERSION"]))
        if choices:
            store.set(args.household, choices, user_id=None, source="cli")
        for purpose in PURPOSES:
            state = store.of_household(args.household)[purpose]
            shown = "given" if state["granted"] else "not given"
            print(f"{purpose}: {shown}" + ("" if state["updated"] else " (default)"))
    finally:
        db.dispose()
    return 0


def _create_key(args: argparse.Namespace) -> int:
    with _store(args) as keys:
        key = keys.create_key(args.household, label=args.label)
    print(f"new API key for household {args.household} (shown once):")
    print(key)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    data_dir_help = "data directory (default: $GRIDLIGHT_DATA_DIR or data/)"
    households = sub.add_parser("households", help="register live households")
    hsub = households.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = hsub.add_parser("add", help="register a live household and print its API key")
    add.add_argument("household", help="household id (letters, digits, '-')")
    add.add_argument("--channels", required=True, help="comma-separated, e.g. AC,Geyser,Overall")
    add.add_argument("--timezone", default="UTC", help="IANA time zone (default UTC)")
    add.add_argument("--name", help="display name")
    add.add_argument("--data-dir", help=data_dir_help)
    add.set_defaults(func=_add)

    from server.storage.consent import PURPOSES

    consent = hsub.add_parser(
        "consent", help="show, give or withdraw a household's consent (the operator's record)"
    )
    consent.add_argument("household")
    consent.add_argument("--give", action="append", choices=PURPOSES, help="a purpose to give")
    consent.add_argument(
        "--withdraw", action="append", choices=PURPOSES, help="a purpose to withdraw"
    )
    consent.add_argument("--data-dir", help=data_dir_help)
    consent.set_defaults(func=_consent)

    keys = sub.add_parser("keys", help="manage API keys")
    ksub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = ksub.add_parser("create", help="issue another API key for a household")
    create.add_argument("household")
    create.add_argument("--label", help="what the key is for (shown in the keys list)")
    create.add_argument("--data-dir", help=data_dir_help)
    create.set_defaults(func=_create_key)

    from server.storage import masterkeys

    new = ksub.add_parser("new-master", help="write a new random master key to a file (0600)")
    new.add_argument("--out", required=True, help="the file to create")
    new.set_defaults(func=masterkeys.new_master)
    rotate = ksub.add_parser(
        "rotate-master",
        help="re-wrap every data key under a new master key (servers keep running)",
    )
    rotate.add_argument("--new-key-file", required=True, help="the new master key's file")
    rotate.add_argument(
        "--master-key-file",
        help="the current master key (default: $GRIDLIGHT_MASTER_KEY_FILE, else DATA_DIR/master_key)",
    )
    rotate.add_argument(
        "--no-install",
        action="store_true",
        help="leave the key files as they are (point GRIDLIGHT_MASTER_KEY_FILE at the new one)",
    )
    rotate.add_argument("--data-dir", help=data_dir_help)
    rotate.set_defaults(func=masterkeys.rotate)
